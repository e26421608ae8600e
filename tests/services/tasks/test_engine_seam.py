"""The engine base class: what every engine must implement, and the defaults callers rely on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mjrelay.core.errors import Unauthorized
from mjrelay.domain.channel import ChannelSpec
from mjrelay.domain.task import TaskAction
from mjrelay.engines.base import Admission, Engine, EngineJob, UpdateSink
from mjrelay.engines.registry import EngineRegistry
from mjrelay.services.tasks.push import PushReceiver
from mjrelay.services.tasks.router import ChannelRouter
from mjrelay.store.db import Database
from mjrelay.store.tasks import TaskStore


class PlainEngine(Engine):
    """Implements only the abstract methods: every capability keeps its default."""

    def __init__(self, name: str) -> None:
        self.name = name

    async def start(self, sink: UpdateSink) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def submit(self, job: EngineJob) -> Admission:
        return Admission()

    async def cancel(self, task_id: str) -> bool:
        return False

    async def resume(self, job: EngineJob, engine_state: dict[str, Any]) -> bool:
        return False

    async def image_seed(self, task_id: str, engine_state: dict[str, Any]) -> str | None:
        return None


class GaugedEngine(PlainEngine):
    """Reports its own capacity, as the Discord engine does."""

    def __init__(self, name: str, *, accepting: bool = True, occupancy: float = 0.0) -> None:
        super().__init__(name)
        self._accepting = accepting
        self._occupancy = occupancy

    def accepting(self) -> bool:
        return self._accepting

    def occupancy(self) -> float:
        return self._occupancy


def test_an_engine_missing_a_required_method_cannot_be_built() -> None:
    class NoSubmit(Engine):
        async def start(self, sink: UpdateSink) -> None:
            return None

        async def stop(self) -> None:
            return None

        async def cancel(self, task_id: str) -> bool:
            return False

        async def resume(self, job: EngineJob, engine_state: dict[str, Any]) -> bool:
            return False

        async def image_seed(self, task_id: str, engine_state: dict[str, Any]) -> str | None:
            return None

    with pytest.raises(TypeError, match="submit"):
        NoSubmit()  # type: ignore[abstract]


def test_defaults_accept_every_job_and_report_idle() -> None:
    engine = PlainEngine("plain")
    assert engine.accepting() is True
    assert engine.occupancy() == 0.0
    assert engine.refusal(EngineJob(task_id="t", action=TaskAction.IMAGINE)) is None
    assert engine.verify_push("t", "any-signature") is False


def test_the_router_asks_engines_whether_they_accept_and_how_busy_they_are() -> None:
    registry = EngineRegistry()
    registry.put(ChannelSpec("off", "gauged"), GaugedEngine("off", accepting=False))
    registry.put(ChannelSpec("busy", "gauged"), GaugedEngine("busy", occupancy=0.9))
    registry.put(ChannelSpec("idle", "gauged"), GaugedEngine("idle", occupancy=0.1))
    registry.put(ChannelSpec("plain", "plain"), PlainEngine("plain"))
    router = ChannelRouter(registry)
    for _ in range(20):  # weights are random; occupancy decides among equals every time
        assert router.plan("") == ["plain", "idle", "busy"]


async def test_a_push_to_an_engine_without_pushes_is_unauthorized(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'relay.db'}")
    registry = EngineRegistry()
    registry.put(ChannelSpec("plain", "plain"), PlainEngine("plain"))
    receiver = PushReceiver(TaskStore(db), registry)
    try:
        with pytest.raises(Unauthorized):
            await receiver.receive("plain", "task-1", "signature", b"{}")
    finally:
        await db.dispose()
