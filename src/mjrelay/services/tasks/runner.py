"""The background side of ``serve``: engines running, restarts recovered, stuck tasks failed."""

from __future__ import annotations

from mjrelay.core.background import Periodic, run_periodically
from mjrelay.core.ids import now_ms
from mjrelay.core.logging import get_logger
from mjrelay.domain.task import TaskStatus
from mjrelay.domain.updates import TaskUpdate
from mjrelay.engines.base import EngineJob, UpdateSink
from mjrelay.engines.registry import EngineRegistry
from mjrelay.services.tasks.lifecycle import TaskLifecycle

log = get_logger("mjrelay.runner")

RESTART_FAILURE = (
    "the relay restarted while this job was running and its engine could not resume it"
)


class Runner:
    def __init__(
        self,
        lifecycle: TaskLifecycle,
        engines: EngineRegistry,
        *,
        timeout_seconds: float,
        sweep_interval: float,
    ) -> None:
        self._lifecycle = lifecycle
        self._engines = engines
        self._timeout_seconds = timeout_seconds
        self._sweep_interval = sweep_interval
        self._sweeper: Periodic | None = None

    async def start(self) -> None:
        for engine in self._engines.all():
            await engine.start(self._on_update)
        await self.recover()
        self._sweeper = run_periodically(
            "timeout sweep", self._sweep_interval, self._sweep_round, log=log
        )

    async def stop(self) -> None:
        if self._sweeper is not None:
            await self._sweeper.stop()
            self._sweeper = None
        for engine in self._engines.all():
            await engine.stop()

    @property
    def sink(self) -> UpdateSink:
        """Where engines report (also for engines started after ``start``)."""
        return self._on_update

    async def _on_update(self, update: TaskUpdate) -> None:
        await self._lifecycle.apply(update)

    async def recover(self) -> int:
        """Resume or fail every task a previous process left unfinished; returns how many."""
        records = await self._lifecycle.store.unfinished()
        handled = 0
        for record in records:
            if record.task.status == TaskStatus.MODAL:
                continue  # waiting for the client, not for an engine
            engine = self._engines.get(record.engine)
            resumed = False
            if engine is not None:
                try:
                    resumed = await engine.resume(
                        EngineJob.from_dict(record.job), record.engine_state
                    )
                except Exception:
                    log.exception("resume failed", task_id=record.id)
            if resumed:
                log.info("task resumed", task_id=record.id, status=record.task.status.value)
            else:
                await self._lifecycle.apply(
                    TaskUpdate(record.id, TaskStatus.FAILURE, fail_reason=RESTART_FAILURE)
                )
            handled += 1
        return handled

    async def sweep(self) -> int:
        """Fail tasks past their deadline; returns how many."""
        expired = await self._lifecycle.store.expired_ids(now_ms())
        for task_id in expired:
            record = await self._lifecycle.store.get(task_id)
            if record is None or record.task.status.is_final:
                continue
            engine = self._engines.get(record.engine)
            if engine is not None:
                await engine.cancel(task_id)
            waited = "a modal submit" if record.task.status == TaskStatus.MODAL else "the job"
            await self._lifecycle.apply(
                TaskUpdate(
                    task_id,
                    TaskStatus.FAILURE,
                    fail_reason=f"timed out: {waited} did not finish within "
                    f"{int(self._timeout_seconds)} seconds",
                )
            )
        return len(expired)

    async def _sweep_round(self) -> None:
        await self.sweep()
