"""The dispatcher's failover and breaker decisions, with scripted engines and no server.

Two channels, ``primary`` (preferred) and ``backup``; each is a ``ScriptedEngine`` told how to
answer a submit. Tasks live in a real SQLite store, since the dispatcher re-points a task at the
next channel by saving it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest

from mjrelay.api.errors import relay_error_response
from mjrelay.core.errors import (
    BannedPrompt,
    InternalFailure,
    NotFound,
    QueueFull,
    RelayError,
    ValidationFailed,
)
from mjrelay.core.ids import new_task_id
from mjrelay.domain.channel import ChannelSpec
from mjrelay.domain.record import TaskRecord
from mjrelay.domain.task import Task, TaskAction
from mjrelay.engines.base import Admission, Engine, EngineJob, ParentRef, UpdateSink
from mjrelay.engines.registry import EngineRegistry
from mjrelay.services.tasks.breaker import BreakerBoard, BreakerState
from mjrelay.services.tasks.cache import WireCache
from mjrelay.services.tasks.dispatch import Dispatcher
from mjrelay.services.tasks.errors import (
    ActionDeclined,
    ChannelBusy,
    ChannelFailed,
    CircuitOpen,
    NoChannelTookTheJob,
)
from mjrelay.services.tasks.lifecycle import TaskLifecycle
from mjrelay.services.tasks.router import ChannelRouter
from mjrelay.store.db import Database
from mjrelay.store.keys import KeyStore
from mjrelay.store.tasks import TaskStore
from tests.support.clock import ManualClock

OPEN_SECONDS = 30.0


class ScriptedEngine(Engine):
    """Answers every submit with ``answer``: an Admission, an exception to raise, or a hang."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.answer: Admission | BaseException | None = Admission()  # None: never answers
        self.declines: str | None = None
        self.submitted: list[str] = []
        self.cancelled: list[str] = []
        self._never = asyncio.Event()

    async def start(self, sink: UpdateSink) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def submit(self, job: EngineJob) -> Admission:
        self.submitted.append(job.task_id)
        if self.answer is None:
            await self._never.wait()
        if isinstance(self.answer, BaseException):
            raise self.answer
        assert isinstance(self.answer, Admission)
        return self.answer

    async def cancel(self, task_id: str) -> bool:
        self.cancelled.append(task_id)
        return True

    async def resume(self, job: EngineJob, engine_state: dict[str, Any]) -> bool:
        return False

    async def image_seed(self, task_id: str, engine_state: dict[str, Any]) -> str | None:
        return None

    def refusal(self, job: EngineJob) -> str | None:
        return self.declines


@dataclass
class Rig:
    dispatcher: Dispatcher
    store: TaskStore
    breakers: BreakerBoard
    clock: ManualClock
    primary: ScriptedEngine
    backup: ScriptedEngine
    tenant_id: int

    async def new_task(self, action: TaskAction = TaskAction.IMAGINE) -> TaskRecord:
        task_id = new_task_id()
        parent = None
        if action != TaskAction.IMAGINE:
            parent = ParentRef("parent-id", TaskAction.IMAGINE, "a fox", {})
        job = EngineJob(task_id=task_id, action=action, prompt="a fox", parent=parent)
        record = TaskRecord(
            task=Task(id=task_id, action=action, prompt="a fox"),
            tenant_id=self.tenant_id,
            engine="primary",
            job=job.to_dict(),
        )
        await self.store.insert(record)
        return record

    async def imagine(self) -> tuple[TaskRecord, Admission]:
        record = await self.new_task()
        return record, await self.dispatcher.dispatch(record, self.dispatcher.plan(""))

    async def attempts_of(self, task_id: str) -> list[tuple[str, int]]:
        stored = await self.store.get(task_id)
        assert stored is not None
        return [(a["channel"], a["code"]) for a in stored.engine_state.get("attempts", [])]


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'relay.db'}")
    await db.migrate()
    _key, info = await KeyStore(db).create("dispatch")
    primary, backup = ScriptedEngine("primary"), ScriptedEngine("backup")
    registry = EngineRegistry()
    registry.put(ChannelSpec("primary", "scripted", priority=10), primary)
    registry.put(ChannelSpec("backup", "scripted", priority=0), backup)
    clock = ManualClock()
    breakers = BreakerBoard(failure_threshold=2, open_seconds=OPEN_SECONDS, clock=clock)
    store = TaskStore(db)
    lifecycle = TaskLifecycle(store, WireCache(16, cache_unfinished=True))
    router = ChannelRouter(registry, breakers)
    dispatcher = Dispatcher(registry, router, lifecycle, submit_timeout=0.2)
    yield Rig(dispatcher, store, breakers, clock, primary, backup, info.tenant_id)
    await db.dispose()


CHANNEL_FAULTS: dict[str, tuple[Callable[[], BaseException | None], int, int]] = {
    # fault → (what the primary does, code recorded in the attempt, breaker failures counted)
    "internal failure": (lambda: InternalFailure("upstream answered code 9"), 9, 1),
    "crash": (lambda: RuntimeError("connection reset"), 9, 1),
    "timeout": (lambda: None, 9, 1),
    "unavailable": (lambda: NotFound("account not connected"), 3, 1),
    "busy": (lambda: QueueFull("queue is full"), 23, 0),
}


@pytest.mark.parametrize("fault", list(CHANNEL_FAULTS))
async def test_a_channel_problem_moves_the_job_to_the_next_channel(rig: Rig, fault: str) -> None:
    make, code, breaker_failures = CHANNEL_FAULTS[fault]
    rig.primary.answer = make()
    record, admission = await rig.imagine()
    assert admission == Admission()
    assert rig.backup.submitted == [record.id]
    stored = await rig.store.get(record.id)
    assert stored is not None and stored.engine == "backup"
    assert await rig.attempts_of(record.id) == [("primary", code)]
    assert rig.breakers.of("primary").failures == breaker_failures
    # A submit that timed out may still land: the dispatcher withdraws it.
    assert rig.primary.cancelled == ([record.id] if fault == "timeout" else [])


@pytest.mark.parametrize(
    "refusal", [BannedPrompt("banned word: fox"), ValidationFailed("bad --ar")], ids=repr
)
async def test_a_refusal_of_the_client_is_answered_not_retried(
    rig: Rig, refusal: RelayError
) -> None:
    rig.primary.answer = refusal
    with pytest.raises(type(refusal)) as raised:
        await rig.imagine()
    assert raised.value is refusal  # the client sees the engine's own code and description
    assert rig.backup.submitted == []
    # The channel answered sensibly: no strike against it.
    assert rig.breakers.of("primary").failures == 0


async def test_every_channel_busy_answers_23(rig: Rig) -> None:
    rig.primary.answer = QueueFull("full")
    rig.backup.answer = QueueFull("full too")
    record = await rig.new_task()
    with pytest.raises(NoChannelTookTheJob) as raised:
        await rig.dispatcher.dispatch(record, rig.dispatcher.plan(""))
    assert raised.value.code == 23
    assert raised.value.description == "Queue is full, please try again later"
    assert [type(p) for p in raised.value.problems] == [ChannelBusy, ChannelBusy]
    assert [(a.channel, a.code) for a in raised.value.attempts] == [
        ("primary", 23),
        ("backup", 23),
    ]
    assert await rig.attempts_of(record.id) == [("primary", 23)]  # saved when it moved


async def test_every_channel_failing_reports_the_attempts_and_the_last_code(rig: Rig) -> None:
    rig.primary.answer = RuntimeError("boom")
    rig.backup.answer = NotFound("backup has no account")
    record = await rig.new_task()
    with pytest.raises(NoChannelTookTheJob) as raised:
        await rig.dispatcher.dispatch(record, rig.dispatcher.plan(""))
    error = raised.value
    assert error.code == 3  # the last failure's code, as clients saw it before
    assert error.description == (
        "submit failed on every channel (2 attempts): backup has no account"
    )
    assert [a.channel for a in error.attempts] == ["primary", "backup"]
    # The wire seam turns it into the usual envelope.
    body = orjson.loads(relay_error_response(error).body)
    assert (body["code"], body["description"]) == (3, error.description)


async def test_an_open_circuit_is_skipped_and_answers_busy_not_not_found(rig: Rig) -> None:
    rig.primary.answer = InternalFailure("down")
    for _ in range(2):
        await rig.imagine()
    assert rig.breakers.of("primary").state == BreakerState.OPEN
    assert rig.dispatcher.plan("") == ["backup"]  # the router no longer offers it

    # A plan made just before the circuit opened still names it: it is not tried.
    record = await rig.new_task()
    with pytest.raises(NoChannelTookTheJob) as raised:
        await rig.dispatcher.dispatch(record, ["primary"])
    assert [type(p) for p in raised.value.problems] == [CircuitOpen]
    assert raised.value.code == 23
    assert len(rig.primary.submitted) == 2
    # Actions pinned to that channel get the same honest answer.
    action = await rig.new_task(TaskAction.UPSCALE)
    with pytest.raises(CircuitOpen) as pinned:
        await rig.dispatcher.dispatch(action, None)
    assert pinned.value.code == 23
    assert len(rig.primary.submitted) == 2

    # Once the open period has passed, one probe goes through; its success closes the circuit.
    rig.clock.advance(OPEN_SECONDS)
    rig.primary.answer = Admission()
    probed, _admission = await rig.imagine()
    assert rig.primary.submitted[-1] == probed.id
    assert rig.breakers.of("primary").state == BreakerState.CLOSED


async def test_a_failed_probe_opens_the_circuit_again(rig: Rig) -> None:
    rig.primary.answer = InternalFailure("down")
    for _ in range(2):
        await rig.imagine()
    rig.clock.advance(OPEN_SECONDS)
    assert rig.breakers.of("primary").state == BreakerState.HALF_OPEN
    record, _admission = await rig.imagine()
    assert await rig.attempts_of(record.id) == [("primary", 9)]
    assert rig.breakers.of("primary").state == BreakerState.OPEN
    assert rig.dispatcher.plan("") == ["backup"]


async def test_attempts_of_an_earlier_dispatch_are_kept(rig: Rig) -> None:
    rig.primary.answer = InternalFailure("down")
    record, _admission = await rig.imagine()
    # The backup dies with the job on it; the job is dispatched again, to the primary.
    rig.primary.answer = Admission()
    stored = await rig.store.get(record.id)
    assert stored is not None
    await rig.dispatcher.dispatch(stored, ["primary"])
    assert await rig.attempts_of(record.id) == [("primary", 9)]
    assert rig.primary.submitted[-1] == record.id


@pytest.mark.parametrize(
    "fault", [QueueFull("full"), InternalFailure("down"), RuntimeError("crash")], ids=repr
)
async def test_pinned_actions_never_fail_over(rig: Rig, fault: BaseException) -> None:
    rig.primary.answer = fault
    action = await rig.new_task(TaskAction.UPSCALE)
    with pytest.raises(RelayError) as raised:
        await rig.dispatcher.dispatch(action, None)
    expected = ChannelBusy if isinstance(fault, QueueFull) else ChannelFailed
    assert type(raised.value) is expected
    assert raised.value.code == (23 if expected is ChannelBusy else 9)
    assert rig.backup.submitted == []
    stored = await rig.store.get(action.id)
    assert stored is not None and stored.engine == "primary"
    assert await rig.attempts_of(action.id) == []


async def test_a_pinned_action_on_a_disabled_channel_is_not_found(rig: Rig) -> None:
    rig.dispatcher.router.registry.put(
        ChannelSpec("primary", "scripted", priority=10, enabled=False)
    )
    action = await rig.new_task(TaskAction.UPSCALE)
    with pytest.raises(NotFound, match="the channel that made task parent-id"):
        await rig.dispatcher.dispatch(action, None)
    assert rig.primary.submitted == []


async def test_a_declined_job_is_skipped_without_a_breaker_strike(rig: Rig) -> None:
    rig.primary.declines = "this account does not serve NIJI_JOURNEY"
    # Declined more often than the failure threshold: the circuit must stay closed.
    for _ in range(3):
        record, _admission = await rig.imagine()
        assert await rig.attempts_of(record.id) == [("primary", 3)]
    assert rig.primary.submitted == []
    assert len(rig.backup.submitted) == 3
    breaker = rig.breakers.of("primary")
    assert (breaker.state, breaker.failures) == (BreakerState.CLOSED, 0)


async def test_a_declined_job_does_not_take_the_half_open_probe(rig: Rig) -> None:
    rig.primary.answer = InternalFailure("down")
    for _ in range(2):
        await rig.imagine()
    rig.clock.advance(OPEN_SECONDS)
    rig.primary.declines = "not this one"
    await rig.imagine()
    # The probe is still free for a job the channel would actually try.
    assert rig.breakers.of("primary").available()


async def test_every_channel_declining_answers_code_4_naming_the_action(rig: Rig) -> None:
    rig.primary.declines = "the Discord bot cannot run IMAGINE"
    rig.backup.declines = "upstream channel backup does not relay IMAGINE yet"
    record = await rig.new_task()
    with pytest.raises(NoChannelTookTheJob) as raised:
        await rig.dispatcher.dispatch(record, rig.dispatcher.plan(""))
    assert raised.value.code == 4
    assert raised.value.description == (
        "action: no channel can run IMAGINE (the Discord bot cannot run IMAGINE; "
        "upstream channel backup does not relay IMAGINE yet)"
    )
    # Declining is not failing: neither breaker counts it.
    assert rig.breakers.of("primary").failures == rig.breakers.of("backup").failures == 0


async def test_a_declined_pinned_action_answers_code_4_naming_the_action(rig: Rig) -> None:
    rig.primary.declines = "Discord account primary does not relay VIDEO yet"
    action = await rig.new_task(TaskAction.VIDEO)
    with pytest.raises(ActionDeclined) as raised:
        await rig.dispatcher.dispatch(action, None)
    assert raised.value.code == 4
    assert raised.value.description.startswith("action: no channel can run VIDEO (Discord")
    assert rig.primary.submitted == []


async def test_one_channel_declining_among_failures_keeps_the_last_failure_code(rig: Rig) -> None:
    rig.primary.declines = "not this one"
    rig.backup.answer = NotFound("backup has no account")
    record = await rig.new_task()
    with pytest.raises(NoChannelTookTheJob) as raised:
        await rig.dispatcher.dispatch(record, rig.dispatcher.plan(""))
    assert raised.value.code == 3
