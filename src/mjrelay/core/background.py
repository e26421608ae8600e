"""Background asyncio tasks of the relay's services: one way to run a periodic job.

Every service that works in the background (ledger reconcile, callback outbox, timeout sweep,
channel refresh, upstream polling, the Discord watchdog) does the same thing: run a step, log
when it fails *and keep going*, wait, repeat. Writing that loop once means a failing step can
never silently end a loop, and every failure is logged with the loop's name.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

from structlog.typing import FilteringBoundLogger

#: One round of a periodic job. It may return how long to wait before the next round (for jobs
#: that pace themselves, e.g. an upstream poller); ``None`` means the loop's normal interval.
Step = Callable[[], Awaitable[float | None]]
#: How the loop waits; injectable so tests drive the loop without real time passing, and so a
#: loop can be woken early (wait on an event with a timeout).
Sleep = Callable[[float], Awaitable[Any]]


async def repeat(
    name: str,
    interval: float,
    step: Step,
    *,
    log: FilteringBoundLogger,
    sleep: Sleep = asyncio.sleep,
    wait_first: bool = True,
) -> None:
    """Run ``step`` forever, ``interval`` seconds apart, until cancelled.

    An exception from ``step`` is logged under ``name`` and the loop waits the normal interval
    before trying again: a database hiccup must not end a background job for the process's life.
    With ``wait_first`` the first round runs after one interval (jobs whose first round ``start``
    already did), otherwise at once.
    """
    pause = interval if wait_first else 0.0
    while True:
        if pause > 0:
            await sleep(pause)
        try:
            asked = await step()
        except Exception:
            log.exception(name + " failed")
            asked = None
        pause = interval if asked is None else asked


class Periodic:
    """A running :func:`repeat` loop; ``stop`` cancels it and waits until it has ended."""

    def __init__(self, task: asyncio.Task[None]) -> None:
        self.task = task

    @property
    def running(self) -> bool:
        return not self.task.done()

    async def stop(self) -> None:
        await stop_task(self.task)


def run_periodically(
    name: str,
    interval: float,
    step: Step,
    *,
    log: FilteringBoundLogger,
    sleep: Sleep = asyncio.sleep,
    wait_first: bool = True,
) -> Periodic:
    """Start :func:`repeat` as a named asyncio task (needs a running loop)."""
    task = asyncio.create_task(
        repeat(name, interval, step, log=log, sleep=sleep, wait_first=wait_first),
        name="mjrelay-" + name.replace(" ", "-"),
    )
    return Periodic(task)


async def stop_task(task: asyncio.Task[Any] | None) -> None:
    """Cancel a background loop and wait until it has really stopped."""
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
