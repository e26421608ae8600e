"""Opening a progress stream: ownership check, subscription and the first snapshot, in order.

The subscription is made before the task is read, so a change saved in between is either in the
snapshot or queued after it (the snapshot's version filters the overlap out): no change is lost.
"""

from __future__ import annotations

from mjrelay.core.errors import TaskNotFound
from mjrelay.services.streams.broker import Subscription, TaskBroker, TaskEvent
from mjrelay.store.tasks import TaskStore


class TaskWatcher:
    def __init__(self, store: TaskStore, broker: TaskBroker, *, heartbeat_seconds: float) -> None:
        self._store = store
        self._broker = broker
        # How long a stream may stay silent before a keep-alive comment (proxies drop idle ones).
        self.heartbeat_seconds = heartbeat_seconds

    async def watch_task(self, tenant_id: int, task_id: str) -> tuple[Subscription, TaskEvent]:
        """Follow one of the caller's tasks; an unknown or foreign id is TaskNotFound."""
        if len(task_id) > 64:
            raise TaskNotFound(f"task {task_id[:64]} not found")
        subscription = self._broker.subscribe(tenant_id, task_id)
        try:
            record = await self._store.get(task_id)
            if record is None or record.tenant_id != tenant_id:
                raise TaskNotFound(f"task {task_id} not found")
        except BaseException:
            self._broker.unsubscribe(subscription)
            raise
        subscription.mark_seen(record.id, record.version)
        return subscription, TaskEvent.of(record)

    def watch_tenant(self, tenant_id: int) -> Subscription:
        """Follow every change of the caller's tasks from now on."""
        return self._broker.subscribe(tenant_id)

    def close(self, subscription: Subscription) -> None:
        self._broker.unsubscribe(subscription)
