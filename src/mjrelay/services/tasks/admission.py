"""What the task service asks of the operator layer when a job is submitted.

``TaskService`` stays free of money, limits and callbacks: it calls a ``SubmitGate`` at fixed
points of a submit, and the operator layer (``services.operator.service``) implements it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from mjrelay.domain.record import TaskRecord
from mjrelay.store.tasks import InsertHook


@dataclass(frozen=True, slots=True)
class Submitter:
    """Who submits, and where the task's callbacks go."""

    key_id: int | None
    tenant_id: int
    notify_hook: str = ""
    base_url: str = ""


class SubmitGate(Protocol):
    async def validate(self, submitter: Submitter) -> None:
        """Refuse a submit before anything is stored (e.g. an unsafe notifyHook: code 4)."""
        ...

    async def enter(self, submitter: Submitter, record: TaskRecord, *, charge: bool) -> InsertHook:
        """Take an in-flight slot; return the writes (reservation, hook) to commit with the task.

        The returned hook raises ``InsufficientBalance`` inside the task's transaction, so a
        refused task leaves nothing behind.
        """
        ...

    async def leave(self, record: TaskRecord) -> None:
        """The task was not stored after ``enter``: give its slot back."""
        ...

    async def withdrawn(self, record: TaskRecord) -> None:
        """The engine refused a stored task (it is deleted): refund it, free its slot."""
        ...

    async def modal(self, submitter: Submitter, record: TaskRecord) -> None:
        """A modal submit dispatches a waiting task: reserve its price now."""
        ...

    async def upload(self, submitter: Submitter) -> None:
        """Charge an image upload (no task: charged at once, nothing to refund)."""
        ...
