"""The polling backstop of an upstream channel.

Push callbacks normally keep tasks fresh; polling catches what they miss (lost callbacks, an
instance that was down, an upstream without callbacks). One instance at a time polls a channel,
holding the channel's lease. Each cycle reads the channel's unfinished tasks from the database,
picks those that are due (young tasks every ``poll_min_seconds``, slowing down to
``poll_max_seconds`` as they age), asks the upstream about them with ``list-by-condition`` in
chunks of at most 100 ids, and fetches one by one only the tasks the list call failed for or
silently left out. A task the upstream keeps denying knowledge of is failed with a clear reason.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from mjrelay.core.background import repeat
from mjrelay.core.logging import get_logger
from mjrelay.domain.channel import PendingTask
from mjrelay.engines.kinds import ChannelState, ChannelTasks
from mjrelay.engines.upstream_client import UpstreamClient, UpstreamError

log = get_logger("mjrelay.engines.upstream")

LIST_CHUNK = 100
FETCH_CONCURRENCY = 8

OnTask = Callable[[PendingTask, dict[str, Any]], Awaitable[None]]
OnLost = Callable[[PendingTask, str], Awaitable[None]]
OnLease = Callable[[], Awaitable[None]]


@dataclass
class PollSettings:
    min_seconds: float
    max_seconds: float
    ramp_seconds: float
    lost_after_misses: int
    # A task with no upstream id this long after submit was lost mid-submit (crash).
    submit_grace_seconds: float

    @property
    def lease_ms(self) -> int:
        return int(max(3 * self.max_seconds, 5.0) * 1000)

    def interval(self, age: float) -> float:
        ramp = min(1.0, max(0.0, age) / self.ramp_seconds) if self.ramp_seconds > 0 else 1.0
        return self.min_seconds + (self.max_seconds - self.min_seconds) * ramp


@dataclass
class PollStats:
    cycles: int = 0
    list_calls: int = 0
    fetch_calls: int = 0


class UpstreamPoller:
    def __init__(
        self,
        channel: str,
        client: UpstreamClient,
        tasks: ChannelTasks,
        state: ChannelState,
        instance_id: str,
        settings: PollSettings,
        on_task: OnTask,
        on_lost: OnLost,
        clock: Callable[[], float] = time.time,
        on_lease: OnLease | None = None,
    ) -> None:
        self._channel = channel
        self._client = client
        self._tasks = tasks
        self._state = state
        self._instance = instance_id
        self.settings = settings
        self._on_task = on_task
        self._on_lost = on_lost
        self._on_lease = on_lease
        self._clock = clock
        self._last_poll: dict[str, float] = {}
        self._misses: dict[str, int] = {}
        self.stats = PollStats()
        self.leased = False
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Poll soon (a task was submitted or resumed)."""
        self._wake.set()

    async def run_forever(self) -> None:
        try:
            await repeat(
                "upstream poll",
                self.settings.max_seconds,  # after a failed cycle
                self.cycle,
                log=log.bind(channel=self._channel),
                sleep=self._pause,
                wait_first=False,
            )
        finally:
            if self.leased:
                await asyncio.shield(self._state.release_lease(self._channel, self._instance))

    async def _pause(self, seconds: float) -> None:
        """Wait until the next cycle is due, or sooner when ``wake`` is called."""
        self._wake.clear()
        try:
            await asyncio.wait_for(self._wake.wait(), seconds)
            await asyncio.sleep(self.settings.min_seconds)  # batch a burst of submits
        except TimeoutError:
            pass

    async def cycle(self) -> float:
        """One poll round; returns how long to wait before the next."""
        self.stats.cycles += 1
        leased = await self._state.try_lease(self._channel, self._instance, self.settings.lease_ms)
        if leased != self.leased:
            log.info("poll lease", channel=self._channel, held=leased)
            self.leased = leased
            if leased and self._on_lease is not None:
                await self._on_lease()
        if not leased:
            self._last_poll.clear()
            return min(self.settings.max_seconds, self.settings.lease_ms / 3000)
        pending = await self._tasks.pending_of(self._channel)
        now = self._clock()
        alive = {task.task_id for task in pending}
        for book in (self._last_poll, self._misses):
            for task_id in [t for t in book if t not in alive]:
                del book[task_id]
        due: list[PendingTask] = []
        for task in pending:
            age = now - task.submit_ms / 1000
            if not task.engine_state.get("upstream_id"):
                if age > self.settings.submit_grace_seconds:
                    await self._on_lost(
                        task, "the relay lost track of this job while submitting it upstream"
                    )
                continue
            # Due now or before the next cycle would come: poll it now, in this batch.
            slack = self.settings.min_seconds / 2
            if now - self._last_poll.get(task.task_id, 0.0) >= self.settings.interval(age) - slack:
                due.append(task)
        for start in range(0, len(due), LIST_CHUNK):
            await self._poll_chunk(due[start : start + LIST_CHUNK], now)
        return self._next_pause(pending, self._clock())

    def _next_pause(self, pending: list[PendingTask], now: float) -> float:
        waits = [
            self._last_poll.get(task.task_id, 0.0)
            + self.settings.interval(now - task.submit_ms / 1000)
            - now
            for task in pending
            if task.engine_state.get("upstream_id")
        ]
        if not waits:
            return self.settings.min_seconds
        return min(self.settings.max_seconds, max(self.settings.min_seconds, min(waits)))

    async def _poll_chunk(self, chunk: list[PendingTask], now: float) -> None:
        by_uid = {str(task.engine_state["upstream_id"]): task for task in chunk}
        for task in chunk:
            self._last_poll[task.task_id] = now
        self.stats.list_calls += 1
        try:
            items = await self._client.list_by_ids(list(by_uid))
        except UpstreamError as exc:
            log.warning("list-by-condition failed", channel=self._channel, error=str(exc))
            items = []
        seen: set[str] = set()
        for item in items:
            found = by_uid.get(str(item.get("id")))
            if found is None or found.task_id in seen:
                continue
            seen.add(found.task_id)
            self._misses.pop(found.task_id, None)
            await self._on_task(found, item)
        missing = [task for task in chunk if task.task_id not in seen]
        if not missing:
            return
        limit = asyncio.Semaphore(FETCH_CONCURRENCY)

        async def fetch_one(task: PendingTask) -> None:
            async with limit:
                await self._fetch(task)

        await asyncio.gather(*(fetch_one(task) for task in missing))

    async def _fetch(self, task: PendingTask) -> None:
        self.stats.fetch_calls += 1
        try:
            payload = await self._client.fetch(str(task.engine_state["upstream_id"]))
        except UpstreamError as exc:
            log.warning("fetch failed", channel=self._channel, task_id=task.task_id, error=str(exc))
            return
        if payload is None:
            misses = self._misses.get(task.task_id, 0) + 1
            self._misses[task.task_id] = misses
            if misses >= self.settings.lost_after_misses:
                await self._on_lost(task, "the upstream channel no longer knows this job")
            return
        self._misses.pop(task.task_id, None)
        await self._on_task(task, payload)
