"""In-memory stand-ins for engines, for unit tests of the services.

``ScriptedEngine`` implements the engine protocol of ``mjrelay.engines.base`` and does nothing on
its own: the test decides when a job progresses, finishes or fails (``report``), and can make the
next submit refuse (``refuse_with``). So the services are exercised without timers or sockets.
"""

from __future__ import annotations

from typing import Any

from mjrelay.core.errors import RelayError
from mjrelay.domain.buttons import grid_buttons
from mjrelay.domain.task import TaskStatus
from mjrelay.domain.updates import TaskUpdate
from mjrelay.engines.base import Admission, Engine, EngineJob, UpdateSink


class ScriptedEngine(Engine):
    """An engine whose jobs move only when the test says so."""

    def __init__(self, name: str = "fake") -> None:
        self.name = name
        self.jobs: dict[str, EngineJob] = {}
        self.cancelled: list[str] = []
        self.refuse_with: RelayError | None = None
        self.queue_next = False
        self._sink: UpdateSink | None = None

    async def start(self, sink: UpdateSink) -> None:
        self._sink = sink

    async def stop(self) -> None:
        self._sink = None

    async def submit(self, job: EngineJob) -> Admission:
        if self.refuse_with is not None:
            refusal, self.refuse_with = self.refuse_with, None
            raise refusal
        self.jobs[job.task_id] = job
        if self.queue_next:
            self.queue_next = False
            return Admission(queued=True, queued_ahead=1)
        return Admission()

    async def cancel(self, task_id: str) -> bool:
        self.cancelled.append(task_id)
        return task_id in self.jobs

    async def resume(self, job: EngineJob, engine_state: dict[str, Any]) -> bool:
        return False

    async def image_seed(self, task_id: str, engine_state: dict[str, Any]) -> str | None:
        return engine_state.get("seed")

    async def report(self, update: TaskUpdate) -> None:
        """Send an update as the engine would (to the relay's sink)."""
        assert self._sink is not None, "the engine was not started"
        await self._sink(update)

    async def finish(self, task_id: str, *, seed: str = "1234") -> None:
        """Complete a job with a grid of buttons, like an imagine that succeeded."""
        await self.report(
            TaskUpdate(
                task_id,
                TaskStatus.SUCCESS,
                progress="100%",
                image_url=f"http://images.invalid/{task_id}.png",
                buttons=grid_buttons(task_id),
                engine_state={"seed": seed},
            )
        )

    async def fail(self, task_id: str, reason: str = "the engine failed") -> None:
        await self.report(TaskUpdate(task_id, TaskStatus.FAILURE, fail_reason=reason))
