"""Per-account capacity: ``core_size`` jobs at Discord at once, ``queue_size`` waiting.

A full account refuses with code 23 so the dispatcher fails the job over to another account;
a waiting job is admitted with code 22 (``Admission(queued=True)``). Actions join the same
queue as new jobs: they are pinned to this account anyway.
"""

from __future__ import annotations

from collections import deque

from mjrelay.core.errors import QueueFull
from mjrelay.engines.base import Admission, EngineJob


class Slots:
    def __init__(self, core_size: int, queue_size: int) -> None:
        self.core_size = core_size
        self.queue_size = queue_size
        self.running: set[str] = set()
        self.waiting: deque[EngineJob] = deque()

    def admit(self, job: EngineJob, *, force: bool = False) -> Admission:
        """Take a slot (``Admission()``) or a queue place; raise QueueFull when both are full."""
        if len(self.running) < self.core_size:
            self.running.add(job.task_id)
            return Admission()
        if not force and len(self.waiting) >= self.queue_size:
            raise QueueFull("Queue is full, please try again later")
        ahead = len(self.waiting)
        self.waiting.append(job)
        return Admission(queued=True, queued_ahead=ahead)

    def release(self, task_id: str) -> list[EngineJob]:
        """Free ``task_id``'s slot (or queue place); returns the jobs that may start now."""
        self.running.discard(task_id)
        for job in list(self.waiting):
            if job.task_id == task_id:
                self.waiting.remove(job)
        started: list[EngineJob] = []
        while self.waiting and len(self.running) < self.core_size:
            job = self.waiting.popleft()
            self.running.add(job.task_id)
            started.append(job)
        return started

    def drain(self) -> list[EngineJob]:
        """Every waiting job, removed (the account is going away)."""
        jobs = list(self.waiting)
        self.waiting.clear()
        return jobs

    def occupancy(self) -> float:
        """How busy the account is: 0 idle, 1 all slots taken, >1 with a queue."""
        return (len(self.running) + len(self.waiting)) / self.core_size
