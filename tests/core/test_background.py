"""The one periodic-loop helper: keeps going after failures, paces itself, stops cleanly."""

from __future__ import annotations

import asyncio

import pytest
from structlog.testing import capture_logs

from mjrelay.core.background import repeat, run_periodically
from mjrelay.core.logging import get_logger

log = get_logger("mjrelay.test")


class Enough(Exception):
    """Raised by the fake sleep to end a loop after the rounds a test wants."""


class FakeSleep:
    """Records every pause instead of waiting; ends the loop after ``rounds`` pauses."""

    def __init__(self, rounds: int) -> None:
        self.rounds = rounds
        self.pauses: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.pauses.append(seconds)
        if len(self.pauses) >= self.rounds:
            raise Enough


async def test_waits_the_interval_before_each_round() -> None:
    calls: list[int] = []

    async def step() -> None:
        calls.append(len(calls))

    sleep = FakeSleep(rounds=3)
    with pytest.raises(Enough):
        await repeat("sweep", 7.5, step, log=log, sleep=sleep)
    assert sleep.pauses == [7.5, 7.5, 7.5]
    assert calls == [0, 1]  # the third pause ended the loop before a third round


async def test_runs_at_once_without_wait_first() -> None:
    calls: list[int] = []

    async def step() -> None:
        calls.append(1)

    sleep = FakeSleep(rounds=1)
    with pytest.raises(Enough):
        await repeat("outbox", 2, step, log=log, sleep=sleep, wait_first=False)
    assert calls == [1]
    assert sleep.pauses == [2]


async def test_a_failing_round_is_logged_with_the_loop_name_and_the_loop_goes_on() -> None:
    outcomes: list[str] = []

    async def step() -> None:
        if not outcomes:
            outcomes.append("failed")
            raise RuntimeError("database went away")
        outcomes.append("ok")

    sleep = FakeSleep(rounds=3)
    with capture_logs() as logs, pytest.raises(Enough):
        await repeat("ledger reconcile", 1, step, log=log, sleep=sleep)
    assert outcomes == ["failed", "ok"]
    failures = [entry for entry in logs if entry["log_level"] == "error"]
    assert [entry["event"] for entry in failures] == ["ledger reconcile failed"]
    assert failures[0]["exc_info"] is True


async def test_a_step_sets_its_own_next_pause() -> None:
    asked = iter([0.25, None, 0.0, 3.0, None])

    async def step() -> float | None:
        return next(asked)

    sleep = FakeSleep(rounds=4)
    with pytest.raises(Enough):
        await repeat("poll", 9, step, log=log, sleep=sleep, wait_first=False)
    # 0.0 means "go again at once": no pause is taken for it.
    assert sleep.pauses == [0.25, 9, 3.0, 9]


async def test_a_failing_round_falls_back_to_the_normal_interval() -> None:
    async def step() -> float | None:
        raise ValueError("bad row")

    sleep = FakeSleep(rounds=2)
    with capture_logs(), pytest.raises(Enough):
        await repeat("poll", 5, step, log=log, sleep=sleep, wait_first=False)
    assert sleep.pauses == [5, 5]


async def test_stop_cancels_the_running_loop_and_waits_for_it() -> None:
    rounds = 0
    parked = asyncio.Event()
    release = asyncio.Event()

    async def sleep(_seconds: float) -> None:
        parked.set()
        await release.wait()  # never set: the loop is parked here until stopped

    async def step() -> None:
        nonlocal rounds
        rounds += 1

    handle = run_periodically("channel refresh", 30, step, log=log, sleep=sleep, wait_first=False)
    assert handle.task.get_name() == "mjrelay-channel-refresh"
    await asyncio.wait_for(parked.wait(), 5)
    assert handle.running
    await handle.stop()
    assert not handle.running
    assert handle.task.cancelled()
    assert rounds == 1
