"""The callback outbox row of a task state commits in the same transaction as the state itself.

No lifecycle listener runs in these tests: that is exactly the state of a relay that crashed
right after a save (listeners never ran), yet every saved state must have its outbox row.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from mjrelay.core.ids import new_task_id, now_ms
from mjrelay.core.settings.operator import CallbackSettings
from mjrelay.domain.record import TaskRecord
from mjrelay.domain.task import Task, TaskAction, TaskStatus
from mjrelay.domain.updates import TaskUpdate
from mjrelay.services.operator.callbacks import CallbackService
from mjrelay.services.operator.metrics import Metrics
from mjrelay.services.tasks.cache import WireCache
from mjrelay.services.tasks.lifecycle import TaskLifecycle
from mjrelay.store.callbacks import CallbackStore, Hook
from mjrelay.store.db import Database
from mjrelay.store.keys import KeyStore
from mjrelay.store.models import CallbackRow
from mjrelay.store.tasks import StaleRecord, TaskStore


async def _submitted(db: Database, service: CallbackService) -> tuple[TaskStore, TaskRecord]:
    """A task with a notifyHook, inserted the way the operator gate does it."""
    _key, info = await KeyStore(db).create("acme")
    task_id = new_task_id()
    record = TaskRecord(
        task=Task(id=task_id, action=TaskAction.IMAGINE, prompt="cat", submit_time=now_ms()),
        tenant_id=info.tenant_id,
        engine="sandbox",
        job={"task_id": task_id},
        deadline_ms=now_ms() + 60_000,
    )
    hook = Hook(task_id, info.id, "http://127.0.0.1:9/hook", "http://relay.test")

    async def writes(connection: AsyncConnection) -> None:
        await CallbackStore.add_hook(connection, hook)
        await service.on_insert(connection, hook, record)

    store = TaskStore(db)
    await store.insert(record, also=writes)
    return store, record


def _service(db: Database) -> CallbackService:
    return CallbackService(CallbackStore(db), CallbackSettings(), Metrics())


async def _outbox(db: Database, task_id: str) -> list[tuple[int, str]]:
    statement = (
        select(CallbackRow.version, CallbackRow.task_status)
        .where(CallbackRow.task_id == task_id)
        .order_by(CallbackRow.version)
    )
    async with db.engine.connect() as connection:
        return [(row[0], row[1]) for row in await connection.execute(statement)]


async def test_every_saved_state_has_its_outbox_row_without_any_listener(db: Database) -> None:
    service = _service(db)
    store, record = await _submitted(db, service)
    lifecycle = TaskLifecycle(store, WireCache(100, cache_unfinished=True))
    lifecycle.add_save_hook(service.on_save)
    for update in (
        TaskUpdate(record.id, TaskStatus.SUBMITTED),
        TaskUpdate(record.id, TaskStatus.IN_PROGRESS, progress="50%"),
        TaskUpdate(record.id, TaskStatus.SUCCESS, progress="100%", image_url="http://x/a.png"),
    ):
        assert await lifecycle.apply(update) is not None
    # A fresh process (the crashed one's memory is gone) sees every state queued.
    assert await _outbox(db, record.id) == [
        (1, "NOT_START"),
        (2, "SUBMITTED"),
        (3, "IN_PROGRESS"),
        (4, "SUCCESS"),
    ]
    saved = await TaskStore(db).get(record.id)
    assert saved is not None and saved.version == 4


async def test_a_failing_save_hook_rolls_the_state_change_back(db: Database) -> None:
    service = _service(db)
    store, record = await _submitted(db, service)
    lifecycle = TaskLifecycle(store, WireCache(100, cache_unfinished=True))
    lifecycle.add_save_hook(service.on_save)

    async def broken(connection: AsyncConnection, saved: TaskRecord) -> None:
        raise RuntimeError("disk full")

    lifecycle.add_save_hook(broken)
    with pytest.raises(RuntimeError, match="disk full"):
        await lifecycle.apply(TaskUpdate(record.id, TaskStatus.SUBMITTED))
    saved = await TaskStore(db).get(record.id)
    assert saved is not None
    assert (saved.task.status, saved.version) == (TaskStatus.NOT_START, 1)
    assert await _outbox(db, record.id) == [(1, "NOT_START")]


async def test_the_version_check_still_refuses_a_stale_save_and_its_row(db: Database) -> None:
    service = _service(db)
    store, record = await _submitted(db, service)
    stale = await store.get(record.id)
    assert stale is not None
    fresh = await store.get(record.id)
    assert fresh is not None
    fresh.task.status = TaskStatus.SUBMITTED
    await store.save(fresh, also=[service.on_save])
    stale.task.status = TaskStatus.FAILURE
    with pytest.raises(StaleRecord):
        await store.save(stale, also=[service.on_save])
    assert stale.version == 1
    assert await _outbox(db, record.id) == [(1, "NOT_START"), (2, "SUBMITTED")]
