"""Helpers for operator-layer tests: both databases, a stalling engine, ledger reads."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select

from mjrelay.engines.base import Admission, Engine, EngineJob, UpdateSink
from mjrelay.store.db import Database
from mjrelay.store.models import ApiKeyRow, LedgerEntryRow
from tests.support.databases import fresh_postgres_database

BACKENDS = ["sqlite", "postgres"]


@asynccontextmanager
async def database_url(backend: str, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh database of the given backend: a temp SQLite file or a throwaway PostgreSQL db."""
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'relay.db'}"
        return
    async with fresh_postgres_database() as url:
        yield url


class StallingEngine(Engine):
    """An upstream that accepts nothing: ``submit`` waits until released (or forever).

    Stands in for a remote engine whose answer never arrives, so a test can stop the relay
    between storing a task and the engine accepting it. It cannot resume jobs after a restart.
    """

    name = "stall"

    def __init__(self) -> None:
        self.entered = asyncio.Event()
        self.release = asyncio.Event()

    async def start(self, sink: UpdateSink) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def submit(self, job: EngineJob) -> Admission:
        self.entered.set()
        await self.release.wait()
        return Admission()

    async def cancel(self, task_id: str) -> bool:
        return True

    async def resume(self, job: EngineJob, engine_state: dict[str, Any]) -> bool:
        return False

    async def image_seed(self, task_id: str, engine_state: dict[str, Any]) -> str | None:
        return None


async def balance_of(db: Database, key_id: int) -> Decimal | None:
    async with db.engine.connect() as connection:
        units = (
            await connection.execute(select(ApiKeyRow.balance_units).where(ApiKeyRow.id == key_id))
        ).scalar_one()
    return None if units is None else Decimal(units) / 10_000


async def ledger_rows(db: Database, key_id: int | None = None) -> list[LedgerEntryRow]:
    statement = select(LedgerEntryRow).order_by(LedgerEntryRow.id)
    if key_id is not None:
        statement = statement.where(LedgerEntryRow.key_id == key_id)
    async with db.sessions() as session:
        return list((await session.scalars(statement)).all())
