"""What an engine gets when it takes status pushes (callbacks) from its channel.

The relay routes ``POST /mj/upstream/notify/{channel}/{taskId}/{signature}`` to the engine of
``channel`` (``Engine.verify_push``, then ``Engine.on_push``): it checks the signature, then may
ask for the task (``load``, a database read) only when the report might change it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from mjrelay.domain.task import TaskAction


@dataclass(frozen=True, slots=True)
class PushedTask:
    """What a push target may need about the task, loaded only when it needs it."""

    action: TaskAction
    final: bool
    engine_state: dict[str, Any]


TaskLoader = Callable[[], Awaitable[PushedTask | None]]
