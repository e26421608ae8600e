"""Fetch's point reads on a SQLite file go through ``SqliteReader``: always current, never stuck."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from tests.store.test_tasks_store import _record, _tenant

from mjrelay.domain.task import TaskStatus
from mjrelay.store.db import Database
from mjrelay.store.sqlite_reader import SqliteReader
from mjrelay.store.tasks import TaskStore


async def test_reads_see_every_committed_save(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'relay.db'}")
    await db.migrate()
    try:
        assert db.sqlite_reader is not None
        store = TaskStore(db)
        tenant = await _tenant(db)
        record = _record(tenant)
        await store.insert(record)
        assert await store.get_wire(record.id) == (tenant, "NOT_START", record.wire)
        for status in (TaskStatus.SUBMITTED, TaskStatus.IN_PROGRESS, TaskStatus.SUCCESS):
            record.task.status = status
            await store.save(record)
            # No read transaction is left open between reads, so each sees the latest commit.
            assert await store.get_wire(record.id) == (tenant, status.value, record.wire)
        await store.delete(record.id)
        assert await store.get_wire(record.id) is None
    finally:
        await db.dispose()


async def test_reader_never_creates_a_database(tmp_path: Path) -> None:
    missing = tmp_path / "missing.db"
    with pytest.raises(sqlite3.OperationalError):
        SqliteReader(str(missing)).rows("SELECT 1", ())
    assert not missing.exists()


async def test_reader_refuses_writes(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'relay.db'}")
    await db.migrate()
    try:
        assert db.sqlite_reader is not None
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            db.sqlite_reader.rows("DELETE FROM tasks", ())
    finally:
        await db.dispose()


async def test_only_sqlite_files_get_a_reader(tmp_path: Path) -> None:
    postgres = Database("postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    sqlite = Database(f"sqlite+aiosqlite:///{tmp_path / 'relay.db'}")
    try:
        assert postgres.sqlite_reader is None
        assert sqlite.sqlite_reader is not None
    finally:
        await postgres.dispose()
        await sqlite.dispose()
