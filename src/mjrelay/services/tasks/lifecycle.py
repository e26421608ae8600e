"""The one place where tasks change state after they are created.

Engine reports, timeouts and cancels all arrive here as ``TaskUpdate``s. Updates to one task are
serialized by a per-task lock, checked by the state machine, saved with optimistic concurrency
(so a second instance writing the same row is detected and retried), logged, cached and handed
to listeners (callbacks, streams).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from mjrelay.core.ids import now_ms
from mjrelay.core.logging import get_logger
from mjrelay.domain.record import TaskRecord
from mjrelay.domain.updates import TaskUpdate, apply_update
from mjrelay.services.tasks.cache import CachedWire, WireCache
from mjrelay.store.tasks import SaveHook, StaleRecord, TaskStore

log = get_logger("mjrelay.tasks")

Listener = Callable[[TaskRecord], Awaitable[None]]


class TaskLocks:
    """Per-task asyncio locks that disappear when nobody holds or waits for them."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, task_id: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(task_id, (asyncio.Lock(), 0))
        self._locks[task_id] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[task_id]
            if users <= 1:
                del self._locks[task_id]
            else:
                self._locks[task_id] = (lock, users - 1)


class TaskLifecycle:
    def __init__(self, store: TaskStore, cache: WireCache) -> None:
        self.store = store
        self.cache = cache
        self.locks = TaskLocks()
        self._listeners: list[Listener] = []
        self._save_hooks: list[SaveHook] = []
        # Copies of the records this process saved last: the next update of a running task
        # skips re-reading its row. Optimistic saves still catch a row changed elsewhere.
        self._recent: OrderedDict[str, TaskRecord] = OrderedDict()
        self._recent_max = 2048

    def _keep(self, record: TaskRecord) -> None:
        if record.task.status.is_final:
            self._recent.pop(record.id, None)
            return
        self._recent[record.id] = _copy(record)
        self._recent.move_to_end(record.id)
        if len(self._recent) > self._recent_max:
            self._recent.popitem(last=False)

    def add_listener(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def add_save_hook(self, hook: SaveHook) -> None:
        """Writes that commit with every state save (listeners run after it, and may never run)."""
        self._save_hooks.append(hook)

    def remember(self, record: TaskRecord) -> None:
        """Put a freshly written record into the fetch cache."""
        self.cache.put(
            record.id,
            CachedWire(record.tenant_id, record.task.status.value, record.wire),
            final=record.task.status.is_final,
        )

    async def created(self, record: TaskRecord) -> None:
        self.remember(record)
        self._keep(record)
        log.info(
            "task created",
            task_id=record.id,
            action=record.task.action.value,
            status=record.task.status.value,
            engine=record.engine,
        )
        await self._notify(record)

    async def apply(self, update: TaskUpdate) -> TaskRecord | None:
        """Apply an update; returns the saved record, or None when it changed nothing."""
        for _attempt in range(5):
            async with self.locks.hold(update.task_id):
                record = self._recent.pop(update.task_id, None)
                if record is None:
                    record = await self.store.get(update.task_id)
                if record is None:
                    log.warning("update for unknown task", task_id=update.task_id)
                    return None
                previous = (record.task.status, record.task.progress)
                if not apply_update(record, update, now_ms()):
                    self._keep(record)  # unchanged, still the latest we know
                    log.debug(
                        "stale update ignored",
                        task_id=record.id,
                        status=record.task.status.value,
                        update_status=update.status.value,
                    )
                    return None
                try:
                    await self.store.save(record, also=self._save_hooks)
                except StaleRecord:
                    continue
                self._keep(record)
            self.remember(record)
            if previous != (record.task.status, record.task.progress):
                log.info(
                    "task state",
                    task_id=record.id,
                    status=record.task.status.value,
                    progress=record.task.progress,
                    fail_reason=record.task.fail_reason or None,
                )
            await self._notify(record)
            return record
        log.error("gave up updating a contended task", task_id=update.task_id)
        return None

    async def replace(self, record: TaskRecord) -> None:
        """Save a record the caller changed under the task's lock (modal submits)."""
        self._recent.pop(record.id, None)
        await self.store.save(record, also=self._save_hooks)
        self.remember(record)
        log.info("task state", task_id=record.id, status=record.task.status.value)
        await self._notify(record)

    async def _notify(self, record: TaskRecord) -> None:
        for listener in self._listeners:
            try:
                await listener(record)
            except Exception:
                log.exception("task listener failed", task_id=record.id)


def _copy(record: TaskRecord) -> TaskRecord:
    """An independent copy (apply mutates records in place)."""
    return TaskRecord(
        task=record.task.model_copy(deep=True),
        tenant_id=record.tenant_id,
        engine=record.engine,
        job=record.job,
        parent_id=record.parent_id,
        engine_state=dict(record.engine_state),
        deadline_ms=record.deadline_ms,
        version=record.version,
        wire=record.wire,
    )
