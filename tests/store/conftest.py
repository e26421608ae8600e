from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from tests.support.databases import fresh_postgres_database

from mjrelay.store.db import Database


@pytest.fixture(params=["sqlite", "postgres"])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """The same store tests run on SQLite and on the real PostgreSQL."""
    if request.param == "sqlite":
        database = Database(f"sqlite+aiosqlite:///{tmp_path / 'store.db'}")
        await database.migrate()
        yield database
        await database.dispose()
        return
    async with fresh_postgres_database() as url:
        database = Database(url)
        await database.migrate()
        yield database
        await database.dispose()
