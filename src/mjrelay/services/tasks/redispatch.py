"""Moving an accepted job to another channel after its channel gave up on it.

Used by engines whose channel dies with jobs on it (a Discord account whose token was revoked):
the job goes through the normal failover dispatch with the dead channel left out of the plan, and
when no other channel can take it the task fails with the reason, instead of hanging.
"""

from __future__ import annotations

from mjrelay.core.errors import RelayError
from mjrelay.core.logging import get_logger
from mjrelay.domain.task import TaskStatus
from mjrelay.domain.updates import TaskUpdate
from mjrelay.services.tasks.dispatch import Dispatcher
from mjrelay.services.tasks.lifecycle import TaskLifecycle

log = get_logger("mjrelay.redispatch")


class Redispatcher:
    def __init__(self, dispatcher: Dispatcher, lifecycle: TaskLifecycle) -> None:
        self._dispatcher = dispatcher
        self._lifecycle = lifecycle

    async def __call__(self, task_id: str, exclude: str, reason: str) -> bool:
        """Dispatch ``task_id`` again avoiding channel ``exclude``; False when it failed instead."""
        record = await self._lifecycle.store.get(task_id)
        if record is None or record.task.status.is_final or record.task.status == TaskStatus.MODAL:
            return False
        plan = [name for name in self._dispatcher.router.plan(record.task.mode) if name != exclude]
        failure = f"{reason}; no other channel could take the job"
        if plan:
            try:
                await self._dispatcher.dispatch(record, plan)
            except RelayError as exc:
                failure = f"{reason}; moving the job failed: {exc.description}"
            else:
                log.info("task moved off a dead channel", task_id=task_id, channel=exclude)
                return True
        log.warning("task could not be moved", task_id=task_id, channel=exclude)
        await self._lifecycle.apply(TaskUpdate(task_id, TaskStatus.FAILURE, fail_reason=failure))
        return False
