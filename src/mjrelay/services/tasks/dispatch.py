"""Handing a stored task to a channel's engine, failing over to the next channel when needed.

New jobs follow the router's plan: a submit that raises, times out or answers code 3, 9 or 23
moves the task to the next channel (every failed attempt is kept in the task's private
``engine_state["attempts"]`` and logged). Actions and modal submits are pinned to the channel
that made the parent task: no failover, since only that channel knows the parent's messages.
Other refusals (banned prompt, validation) are the client's problem and are not retried.
"""

from __future__ import annotations

import asyncio
from typing import Any

from mjrelay.core.errors import InternalFailure, NotFound, QueueFull, RelayError, ReturnCode
from mjrelay.core.ids import now_ms
from mjrelay.core.logging import get_logger
from mjrelay.domain.record import TaskRecord
from mjrelay.engines.base import Admission, EngineJob
from mjrelay.engines.registry import EngineRegistry
from mjrelay.services.tasks.lifecycle import TaskLifecycle
from mjrelay.services.tasks.router import ChannelRouter

log = get_logger("mjrelay.dispatch")

FAILOVER_CODES = frozenset({ReturnCode.NOT_FOUND, ReturnCode.FAILURE, ReturnCode.QUEUE_REJECTED})


class Dispatcher:
    def __init__(
        self,
        registry: EngineRegistry,
        router: ChannelRouter,
        lifecycle: TaskLifecycle,
        *,
        submit_timeout: float = 30.0,
    ) -> None:
        self._registry = registry
        self.router = router
        self._lifecycle = lifecycle
        self._submit_timeout = submit_timeout

    def plan(self, mode: str) -> list[str]:
        """The channels a new job will try, best first; code 3 when none can take it."""
        plan = self.router.plan(mode)
        if not plan:
            suffix = f" for {mode} mode" if mode else ""
            raise NotFound(f"no channel is available{suffix}")
        return plan

    def forget(self, task_id: str) -> None:
        self.router.forget(task_id)

    async def dispatch(self, record: TaskRecord, plan: list[str] | None) -> Admission:
        """Submit ``record``'s job; ``plan`` None pins it to ``record.engine``."""
        job = EngineJob.from_dict(record.job)
        if plan is None:
            return await self._pinned(record, job)
        attempts: list[dict[str, Any]] = list(record.engine_state.get("attempts", []))
        last_error: RelayError | None = None
        for channel in plan:
            if channel != record.engine:
                await self._move(record, channel, attempts)
            try:
                admission = await self._submit(channel, job)
            except RelayError as exc:
                if exc.code not in FAILOVER_CODES:
                    raise
                attempts.append(
                    {
                        "channel": channel,
                        "code": int(exc.code),
                        "error": exc.description,
                        "at": now_ms(),
                    }
                )
                log.warning(
                    "submit attempt failed",
                    task_id=record.id,
                    channel=channel,
                    code=int(exc.code),
                    error=exc.description,
                )
                last_error = exc
                continue
            return admission
        if last_error is None:
            raise NotFound("no channel is available")
        if all(attempt["code"] == ReturnCode.QUEUE_REJECTED for attempt in attempts):
            raise QueueFull("Queue is full, please try again later")
        raise type(last_error)(
            f"submit failed on every channel ({len(attempts)} attempts): {last_error.description}"
        )

    async def _pinned(self, record: TaskRecord, job: EngineJob) -> Admission:
        spec = self._registry.spec(record.engine)
        parent = job.parent.task_id if job.parent else record.id
        if spec is None or self._registry.get(record.engine) is None or not spec.active:
            raise NotFound(f"the channel that made task {parent} is not available")
        return await self._submit(record.engine, job)

    async def _submit(self, channel: str, job: EngineJob) -> Admission:
        """One attempt on one channel, feeding its breaker; raises RelayError on any failure."""
        engine = self._registry.get(channel)
        breaker = self.router.breakers.of(channel)
        if engine is None:
            raise NotFound(f"channel {channel} is not running")
        # Engines may decline a job they cannot serve (e.g. a Discord account without the Niji
        # bot) before it is tried: that is not a failure of the channel, so no breaker count.
        refusal = getattr(engine, "refusal", None)
        reason = refusal(job) if callable(refusal) else None
        if reason:
            raise NotFound(str(reason))
        if not breaker.acquire():
            raise NotFound(f"channel {channel} is unavailable (circuit open)")
        try:
            admission = await asyncio.wait_for(engine.submit(job), self._submit_timeout)
        except RelayError as exc:
            if exc.code in (ReturnCode.NOT_FOUND, ReturnCode.FAILURE):
                breaker.failure()
            else:
                breaker.success()  # the channel answered sensibly (busy, banned word...)
            raise
        except TimeoutError as exc:
            breaker.failure()
            await self._cancel_quietly(channel, job.task_id)
            raise InternalFailure(f"channel {channel} did not answer the submit in time") from exc
        except Exception as exc:
            breaker.failure()
            log.exception("engine submit raised", task_id=job.task_id, channel=channel)
            raise InternalFailure(f"channel {channel} failed to take the job") from exc
        breaker.success()
        return admission

    async def _cancel_quietly(self, channel: str, task_id: str) -> None:
        engine = self._registry.get(channel)
        try:
            if engine is not None:
                await engine.cancel(task_id)
        except Exception:
            log.exception("cancel after submit timeout failed", task_id=task_id, channel=channel)

    async def _move(self, record: TaskRecord, channel: str, attempts: list[dict[str, Any]]) -> None:
        """Re-point a not-yet-accepted task at the next channel, keeping the attempt history."""
        async with self._lifecycle.locks.hold(record.id):
            fresh = await self._lifecycle.store.get(record.id)
            if fresh is not None:
                record.version = fresh.version
            record.engine = channel
            record.engine_state = {**record.engine_state, "attempts": list(attempts)}
            await self._lifecycle.store.save(record)
        await self.router.note(record)
        log.info("task moved to channel", task_id=record.id, channel=channel)
