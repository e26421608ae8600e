"""A task as the relay keeps it: the client-visible ``Task`` plus what only the relay knows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mjrelay.domain.task import Task


@dataclass(slots=True)
class TaskRecord:
    task: Task
    tenant_id: int
    engine: str
    job: dict[str, Any]
    parent_id: str | None = None
    engine_state: dict[str, Any] = field(default_factory=dict)
    deadline_ms: int | None = None
    version: int = 0
    # Set by the store: the serialized task, refreshed on every save.
    wire: bytes = b""

    @property
    def id(self) -> str:
        return self.task.id
