"""Waiting in tests for something another task or the server does."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


async def until(condition: Callable[[], bool], within: float = 5) -> None:
    """Return as soon as ``condition()`` holds; fail the test after ``within`` seconds."""
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


async def until_async(condition: Callable[[], Awaitable[bool]], within: float = 5) -> None:
    """Like ``until``, for a condition that must be awaited (a database read, a limiter)."""
    deadline = time.monotonic() + within
    while not await condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)
