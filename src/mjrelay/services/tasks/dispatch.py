"""Handing a stored task to a channel's engine, failing over to the next channel when needed.

New jobs follow the router's plan: a submit that fails, times out, finds the channel busy or
unavailable, or is declined by the engine (any ``ChannelProblem``, see ``tasks.errors``) moves
the task to the next channel; every failed attempt is kept in the task's private
``engine_state["attempts"]`` and logged. Actions and modal submits are pinned to the channel
that made the parent task: no failover, since only that channel knows the parent's messages.
Other refusals (banned prompt, validation) are the client's problem and are not retried.
"""

from __future__ import annotations

import asyncio
from typing import Any

from mjrelay.core.errors import NotFound, RelayError
from mjrelay.core.ids import now_ms
from mjrelay.core.logging import get_logger
from mjrelay.domain.record import TaskRecord
from mjrelay.engines.base import Admission, EngineJob
from mjrelay.engines.registry import EngineRegistry
from mjrelay.services.tasks.errors import (
    ActionDeclined,
    Attempt,
    ChannelDeclined,
    ChannelFailed,
    ChannelProblem,
    ChannelUnavailable,
    CircuitOpen,
    NoChannelTookTheJob,
    channel_problem,
)
from mjrelay.services.tasks.lifecycle import TaskLifecycle
from mjrelay.services.tasks.router import ChannelRouter

log = get_logger("mjrelay.dispatch")


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
        attempts = [_attempt_from(entry) for entry in record.engine_state.get("attempts", [])]
        problems: list[ChannelProblem] = []
        for channel in plan:
            if channel != record.engine:
                await self._move(record, channel, attempts)
            try:
                return await self._submit(channel, job)
            except ChannelProblem as problem:
                attempts.append(Attempt(channel, int(problem.code), problem.description, now_ms()))
                problems.append(problem)
                log.warning(
                    "submit attempt failed",
                    task_id=record.id,
                    channel=channel,
                    problem=type(problem).__name__,
                    error=problem.description,
                )
        if not problems:
            raise NotFound("no channel is available")
        raise NoChannelTookTheJob(problems, attempts, job.action.value)

    async def _pinned(self, record: TaskRecord, job: EngineJob) -> Admission:
        spec = self._registry.spec(record.engine)
        parent = job.parent.task_id if job.parent else record.id
        if spec is None or self._registry.get(record.engine) is None or not spec.active:
            raise NotFound(f"the channel that made task {parent} is not available")
        try:
            return await self._submit(record.engine, job)
        except ChannelDeclined as declined:
            raise ActionDeclined(job.action.value, declined) from declined

    async def _submit(self, channel: str, job: EngineJob) -> Admission:
        """One attempt on one channel, feeding its breaker.

        Raises a ``ChannelProblem`` when the channel did not take the job, or the engine's own
        ``RelayError`` for a refusal that is the client's problem (banned prompt, validation).
        """
        engine = self._registry.get(channel)
        if engine is None:
            raise ChannelUnavailable(channel, f"channel {channel} is not running")
        # Declining a job the engine cannot serve is not a failure of the channel: it is checked
        # before the breaker, so it neither counts nor takes a half-open probe.
        reason = engine.refusal(job)
        if reason:
            raise ChannelDeclined(channel, reason)
        breaker = self.router.breakers.of(channel)
        if not breaker.acquire():
            raise CircuitOpen(channel, f"channel {channel} is paused after repeated failures")
        try:
            admission = await asyncio.wait_for(engine.submit(job), self._submit_timeout)
        except RelayError as exc:
            problem = channel_problem(channel, exc)
            if problem is not None and problem.blames_channel:
                breaker.failure()
            else:
                breaker.success()  # the channel answered sensibly (busy, banned word...)
            if problem is None:
                raise
            raise problem from exc
        except TimeoutError as exc:
            breaker.failure()
            await self._cancel_quietly(channel, job.task_id)
            raise ChannelFailed(
                channel, f"channel {channel} did not answer the submit in time"
            ) from exc
        except Exception as exc:
            breaker.failure()
            log.exception("engine submit raised", task_id=job.task_id, channel=channel)
            raise ChannelFailed(channel, f"channel {channel} failed to take the job") from exc
        breaker.success()
        return admission

    async def _cancel_quietly(self, channel: str, task_id: str) -> None:
        engine = self._registry.get(channel)
        try:
            if engine is not None:
                await engine.cancel(task_id)
        except Exception:
            log.exception("cancel after submit timeout failed", task_id=task_id, channel=channel)

    async def _move(self, record: TaskRecord, channel: str, attempts: list[Attempt]) -> None:
        """Re-point a not-yet-accepted task at the next channel, keeping the attempt history."""
        async with self._lifecycle.locks.hold(record.id):
            fresh = await self._lifecycle.store.get(record.id)
            if fresh is not None:
                record.version = fresh.version
            record.engine = channel
            record.engine_state = {
                **record.engine_state,
                "attempts": [attempt.to_dict() for attempt in attempts],
            }
            await self._lifecycle.store.save(record)
        await self.router.note(record)
        log.info("task moved to channel", task_id=record.id, channel=channel)


def _attempt_from(entry: dict[str, Any]) -> Attempt:
    """An attempt stored by an earlier dispatch of the same task (e.g. before a redispatch)."""
    return Attempt(
        channel=str(entry.get("channel", "")),
        code=int(entry.get("code", 0)),
        error=str(entry.get("error", "")),
        at=int(entry.get("at", 0)),
    )
