"""Circuit breaker: opens after repeated failures, lets exactly one probe through, then closes."""

from __future__ import annotations

from mjrelay.services.tasks.breaker import BreakerState, CircuitBreaker


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_opens_after_threshold_and_probes_once() -> None:
    clock = Clock()
    breaker = CircuitBreaker("a", failure_threshold=3, open_seconds=10, clock=clock)
    for _ in range(2):
        assert breaker.acquire()
        breaker.failure()
    assert breaker.state == BreakerState.CLOSED
    breaker.failure()
    assert breaker.state == BreakerState.OPEN
    assert not breaker.available()
    assert not breaker.acquire()

    clock.now = 10.0
    assert breaker.state == BreakerState.HALF_OPEN
    assert breaker.available()
    assert breaker.acquire()  # the probe
    assert not breaker.acquire()  # only one probe at a time
    assert not breaker.available()
    breaker.success()
    assert breaker.state == BreakerState.CLOSED
    assert breaker.acquire()


def test_failed_probe_reopens_for_a_full_period() -> None:
    clock = Clock()
    breaker = CircuitBreaker("a", failure_threshold=1, open_seconds=5, clock=clock)
    breaker.failure()
    clock.now = 5.0
    assert breaker.acquire()
    breaker.failure()
    assert breaker.state == BreakerState.OPEN
    clock.now = 9.9
    assert not breaker.acquire()
    clock.now = 10.0
    assert breaker.acquire()


def test_success_resets_the_failure_count() -> None:
    breaker = CircuitBreaker("a", failure_threshold=2, clock=Clock())
    breaker.failure()
    breaker.success()
    breaker.failure()
    assert breaker.state == BreakerState.CLOSED
