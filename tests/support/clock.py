"""A monotonic clock a test moves by hand, for code that takes a ``clock`` callable."""

from __future__ import annotations


class ManualClock:
    """Monotonic seconds that only pass when the test says so (no sleeping to wait for time)."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
