"""Live task changes for stream clients: an in-process broker fed by the lifecycle.

The lifecycle calls ``TaskBroker.on_record`` after every saved change (no polling anywhere). Each
stream client holds a ``Subscription`` whose pending changes are kept per task, latest only, and
bounded: a slow client loses intermediate progress of other tasks, never blocks the lifecycle,
and never misses the final state of the task it follows. Versions make delivery idempotent, so
the same change arriving twice (locally and from another instance) is shown once.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from mjrelay.core.errors import RelayError, ReturnCode
from mjrelay.core.logging import get_logger
from mjrelay.domain.record import TaskRecord
from mjrelay.domain.task import TaskStatus

log = get_logger("mjrelay.streams")


@dataclass(frozen=True, slots=True)
class TaskEvent:
    """One saved change of a task: who owns it, its version, and the stored wire JSON."""

    tenant_id: int
    task_id: str
    version: int
    final: bool
    wire: bytes

    @classmethod
    def of(cls, record: TaskRecord) -> TaskEvent:
        return cls(
            record.tenant_id,
            record.id,
            record.version,
            record.task.status.is_final,
            record.wire,
        )

    @classmethod
    def from_status(
        cls, tenant_id: int, task_id: str, version: int, status: str, wire: bytes
    ) -> TaskEvent:
        return cls(tenant_id, task_id, version, TaskStatus(status).is_final, wire)


class TooManyStreams(RelayError):
    code = ReturnCode.QUEUE_REJECTED
    http_status = 429


class Subscription:
    """What one stream client has not read yet: the latest event per task, oldest first."""

    def __init__(self, tenant_id: int, task_id: str | None, max_pending: int) -> None:
        self.tenant_id = tenant_id
        self.task_id = task_id
        self._max_pending = max_pending
        self._pending: OrderedDict[str, TaskEvent] = OrderedDict()
        self._seen: dict[str, int] = {}
        self._ready = asyncio.Event()
        self.dropped = 0

    def wants(self, event: TaskEvent) -> bool:
        if event.tenant_id != self.tenant_id:
            return False
        return self.task_id is None or event.task_id == self.task_id

    def offer(self, event: TaskEvent) -> None:
        """Queue an event without ever waiting; older or repeated versions are ignored."""
        if event.version <= self._seen.get(event.task_id, 0):
            return
        queued = self._pending.pop(event.task_id, None)
        if queued is not None and queued.version > event.version:
            event = queued
        elif len(self._pending) >= self._max_pending:
            self._pending.popitem(last=False)
            self.dropped += 1
        self._pending[event.task_id] = event
        self._ready.set()

    def mark_seen(self, task_id: str, version: int) -> None:
        """Record what the client already has (its initial snapshot)."""
        self._seen[task_id] = max(version, self._seen.get(task_id, 0))
        queued = self._pending.get(task_id)
        if queued is not None and queued.version <= version:
            del self._pending[task_id]

    async def next(self, wait_seconds: float) -> TaskEvent | None:
        """The next unseen event, or None after ``wait_seconds`` without one (heartbeat time)."""
        if not self._pending:
            self._ready.clear()
            try:
                await asyncio.wait_for(self._ready.wait(), wait_seconds)
            except TimeoutError:
                return None
        _task_id, event = self._pending.popitem(last=False)
        if len(self._seen) > 4 * self._max_pending:
            self._seen.clear()
        self._seen[event.task_id] = event.version
        return event


Publisher = Callable[[TaskEvent], Awaitable[None]]


class TaskBroker:
    """Hands every task change to the subscriptions that want it, on this instance."""

    def __init__(self, *, max_subscribers: int = 1000, max_pending: int = 256) -> None:
        self._subscriptions: set[Subscription] = set()
        self._max_subscribers = max_subscribers
        self._max_pending = max_pending
        self._forwarders: list[Publisher] = []

    @property
    def subscriber_count(self) -> int:
        return len(self._subscriptions)

    def forward_to(self, publisher: Publisher) -> None:
        """Also hand local changes to ``publisher`` (the cross-instance fan-out)."""
        self._forwarders.append(publisher)

    def subscribe(self, tenant_id: int, task_id: str | None = None) -> Subscription:
        if len(self._subscriptions) >= self._max_subscribers:
            raise TooManyStreams("too many open streams on this instance, try again later")
        subscription = Subscription(tenant_id, task_id, self._max_pending)
        self._subscriptions.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscriptions.discard(subscription)

    def deliver(self, event: TaskEvent) -> None:
        """Offer an event to local subscribers (from this instance or another one)."""
        for subscription in list(self._subscriptions):
            if subscription.wants(event):
                subscription.offer(event)

    async def on_record(self, record: TaskRecord) -> None:
        """The lifecycle listener: called after each saved change of a task."""
        event = TaskEvent.of(record)
        self.deliver(event)
        for forward in self._forwarders:
            await forward(event)
