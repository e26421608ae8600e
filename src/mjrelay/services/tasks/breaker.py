"""Circuit breakers: stop sending jobs to a channel that keeps failing, then probe it.

Closed: jobs flow; ``failure_threshold`` consecutive failures open it. Open: no jobs for
``open_seconds``. Half-open: exactly one probe job is let through; its success closes the
breaker, its failure opens it again. The clock is injected so tests need no sleeping.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import StrEnum

from mjrelay.core.logging import get_logger

log = get_logger("mjrelay.breaker")


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    def __init__(
        self,
        name: str,
        *,
        failure_threshold: int = 5,
        open_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self._threshold = failure_threshold
        self._open_seconds = open_seconds
        self._clock = clock
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._probing = False

    @property
    def state(self) -> BreakerState:
        if (
            self._state == BreakerState.OPEN
            and self._clock() >= self._opened_at + self._open_seconds
        ):
            return BreakerState.HALF_OPEN
        return self._state

    @property
    def failures(self) -> int:
        """Consecutive failures since the last success."""
        return self._failures

    def available(self) -> bool:
        """Would a job be let through now? (No side effects: used to rank channels.)"""
        state = self.state
        return state == BreakerState.CLOSED or (
            state == BreakerState.HALF_OPEN and not self._probing
        )

    def acquire(self) -> bool:
        """Let one job through; in half-open state this claims the single probe."""
        state = self.state
        if state == BreakerState.CLOSED:
            return True
        if state == BreakerState.HALF_OPEN and not self._probing:
            self._state = BreakerState.HALF_OPEN
            self._probing = True
            log.info("breaker probing", channel=self.name)
            return True
        return False

    def success(self) -> None:
        if self._state != BreakerState.CLOSED:
            log.info("breaker closed", channel=self.name)
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._probing = False

    def failure(self) -> None:
        self._failures += 1
        if self._state == BreakerState.HALF_OPEN or self._failures >= self._threshold:
            if self._state != BreakerState.OPEN or self._probing:
                log.warning("breaker opened", channel=self.name, failures=self._failures)
            self._state = BreakerState.OPEN
            self._opened_at = self._clock()
            self._probing = False


class BreakerBoard:
    """One breaker per channel, created on first use."""

    def __init__(
        self,
        *,
        failure_threshold: int = 5,
        open_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._threshold = failure_threshold
        self._open_seconds = open_seconds
        self._clock = clock
        self._breakers: dict[str, CircuitBreaker] = {}

    def of(self, channel: str) -> CircuitBreaker:
        breaker = self._breakers.get(channel)
        if breaker is None:
            breaker = CircuitBreaker(
                channel,
                failure_threshold=self._threshold,
                open_seconds=self._open_seconds,
                clock=self._clock,
            )
            self._breakers[channel] = breaker
        return breaker
