"""TaskStore on SQLite and PostgreSQL: insert, optimistic save, wire reads, scans."""

from __future__ import annotations

import asyncio

import pytest

from mjrelay.core.ids import new_task_id, now_ms
from mjrelay.domain.record import TaskRecord
from mjrelay.domain.task import Task, TaskAction, TaskStatus
from mjrelay.store.db import Database
from mjrelay.store.keys import KeyStore
from mjrelay.store.tasks import DuplicateTaskId, StaleRecord, TaskStore


async def _tenant(db: Database, name: str = "acme") -> int:
    _key, info = await KeyStore(db).create(name)
    return info.tenant_id


def _record(tenant_id: int, task_id: str | None = None, **task: object) -> TaskRecord:
    task_id = task_id or new_task_id()
    return TaskRecord(
        task=Task(
            id=task_id, action=TaskAction.IMAGINE, prompt="cat", submit_time=now_ms(), **task
        ),  # type: ignore[arg-type]
        tenant_id=tenant_id,
        engine="sandbox",
        job={"task_id": task_id, "action": "IMAGINE", "prompt": "cat"},
        deadline_ms=now_ms() + 60_000,
    )


async def test_insert_get_and_wire_roundtrip(db: Database) -> None:
    store = TaskStore(db)
    tenant = await _tenant(db)
    record = _record(tenant, state="s1")
    await store.insert(record)
    loaded = await store.get(record.id)
    assert loaded is not None
    assert loaded.task == record.task
    assert loaded.version == 1
    wire = await store.get_wire(record.id)
    assert wire == (tenant, "NOT_START", record.task.to_json())
    assert await store.get("0000000000000000") is None
    assert await store.get_wire("nope") is None


async def test_duplicate_id_is_reported(db: Database) -> None:
    store = TaskStore(db)
    tenant = await _tenant(db)
    record = _record(tenant)
    await store.insert(record)
    with pytest.raises(DuplicateTaskId):
        await store.insert(_record(tenant, record.id))


async def test_save_detects_a_concurrent_writer(db: Database) -> None:
    store = TaskStore(db)
    tenant = await _tenant(db)
    record = _record(tenant)
    await store.insert(record)
    first = await store.get(record.id)
    second = await store.get(record.id)
    assert first is not None and second is not None
    first.task.status = TaskStatus.SUBMITTED
    await store.save(first)
    second.task.status = TaskStatus.IN_PROGRESS
    with pytest.raises(StaleRecord):
        await store.save(second)
    reloaded = await store.get(record.id)
    assert reloaded is not None
    assert reloaded.task.status == TaskStatus.SUBMITTED
    assert reloaded.version == 2


async def test_lists_are_tenant_scoped_and_newest_first(db: Database) -> None:
    store = TaskStore(db)
    mine, theirs = await _tenant(db, "mine"), await _tenant(db, "theirs")
    ids = [f"17000000000000{n:02d}" for n in range(5)]
    for task_id in ids:
        await store.insert(_record(mine, task_id))
    await store.insert(_record(theirs, "1700000000000099"))

    listed = await store.list_wires(mine, limit=3)
    assert [task_id for task_id, _wire in listed] == ids[::-1][:3]
    page_two = await store.list_wires(mine, limit=3, before_id=listed[-1][0])
    assert [task_id for task_id, _wire in page_two] == ids[::-1][3:]

    wires = await store.wires_for_tenant(mine, [ids[0], "1700000000000099", "missing"])
    assert [Task.model_validate_json(w).id for w in wires] == [ids[0]]


async def test_unfinished_and_expired_scans(db: Database) -> None:
    store = TaskStore(db)
    tenant = await _tenant(db)
    running = _record(tenant, status=TaskStatus.IN_PROGRESS)
    done = _record(tenant, status=TaskStatus.SUCCESS)
    late = _record(tenant, status=TaskStatus.SUBMITTED)
    late.deadline_ms = now_ms() - 1
    for record in (running, done, late):
        await store.insert(record)
    unfinished = {record.id for record in await store.unfinished()}
    assert unfinished == {running.id, late.id}
    assert await store.expired_ids(now_ms()) == [late.id]


async def test_concurrent_inserts_and_saves(db: Database) -> None:
    store = TaskStore(db)
    tenant = await _tenant(db)
    records = [_record(tenant, f"18000000000{n:05d}") for n in range(40)]
    await asyncio.gather(*(store.insert(record) for record in records))
    for record in records:
        record.task.status = TaskStatus.SUBMITTED
    await asyncio.gather(*(store.save(record) for record in records))
    assert len(await store.unfinished()) == 40
    assert all(record.version == 2 for record in records)
