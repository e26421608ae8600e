"""Database engine and sessions, with SQLite tuned for a concurrent server (WAL)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from mjrelay.store.sqlite_reader import SqliteReader


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    if is_sqlite(url):
        db_path = url.split(":///", 1)[-1]
        if db_path and db_path != ":memory:":
            Path(db_path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(
            url, echo=echo, connect_args={"timeout": 30}, pool_size=8, max_overflow=8
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(url, echo=echo, pool_size=10, max_overflow=20, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers run while the runner writes; NORMAL is durable across process crashes.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = create_engine(url)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        # Point reads on the loop for a SQLite file (see store.sqlite_reader); None otherwise.
        database = self.engine.url.database
        self.sqlite_reader = (
            SqliteReader(database)
            if self.is_sqlite
            and database
            and database != ":memory:"
            and not database.startswith("file:")
            else None
        )

    @property
    def is_sqlite(self) -> bool:
        return is_sqlite(self.url)

    async def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision (in a thread: Alembic is sync)."""
        from mjrelay.store.migrate import upgrade

        await asyncio.to_thread(upgrade, self.url)

    async def ping(self) -> None:
        """Runs a trivial query; raises whatever the driver raises when the database is away."""
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def schema_is_current(self) -> bool:
        """Whether the database is stamped with this code's newest migration (a rolling deploy
        runs migrations first; an instance of newer code on an older schema is not ready)."""
        from alembic.runtime.migration import MigrationContext

        from mjrelay.store.migrate import head_revisions

        def current(sync_connection: Any) -> frozenset[str]:
            return frozenset(MigrationContext.configure(sync_connection).get_current_heads())

        async with self.engine.connect() as connection:
            stamped = await connection.run_sync(current)
        return stamped == head_revisions()

    async def dispose(self) -> None:
        if self.sqlite_reader is not None:
            self.sqlite_reader.close()
        await self.engine.dispose()
