"""The task state machine: tasks only move forward, and progress only goes up.

Clients and callbacks must never see an older state after a newer one, so every status or
progress write goes through these checks.
"""

from __future__ import annotations

import re

from mjrelay.domain.task import TaskStatus

__all__ = [
    "InvalidTransition",
    "can_transition",
    "check_transition",
    "is_progress_forward",
    "progress_percent",
    "rank",
]

_RANKS: dict[TaskStatus, int] = {
    TaskStatus.NOT_START: 0,
    TaskStatus.MODAL: 1,
    TaskStatus.SUBMITTED: 2,
    TaskStatus.IN_PROGRESS: 3,
    TaskStatus.SUCCESS: 4,
    TaskStatus.FAILURE: 4,
    TaskStatus.CANCEL: 4,
}

_PROGRESS_RE = re.compile(r"([0-9]{1,3})%")


class InvalidTransition(ValueError):
    """A status change that would move a task backwards or out of a final status."""


def rank(status: TaskStatus) -> int:
    """How far along ``status`` is; a task's rank never decreases."""
    return _RANKS[status]


def can_transition(src: TaskStatus, dst: TaskStatus) -> bool:
    """Whether a task in ``src`` may move to ``dst``.

    Forward only; ``IN_PROGRESS -> IN_PROGRESS`` is allowed because progress updates re-save the
    status; nothing leaves a final status.
    """
    if src.is_final:
        return False
    if src is TaskStatus.IN_PROGRESS and dst is TaskStatus.IN_PROGRESS:
        return True
    return rank(dst) > rank(src)


def check_transition(src: TaskStatus, dst: TaskStatus) -> None:
    """Raise :class:`InvalidTransition` unless ``can_transition(src, dst)``."""
    if not can_transition(src, dst):
        raise InvalidTransition(f"invalid task status transition {src.value} -> {dst.value}")


def progress_percent(progress: str) -> int | None:
    """``"31%"`` -> 31; ``""``, junk or anything above 100% -> ``None``."""
    match = _PROGRESS_RE.fullmatch(progress)
    if match is None:
        return None
    value = int(match.group(1))
    return value if value <= 100 else None


def is_progress_forward(old: str, new: str) -> bool:
    """Whether progress may change from ``old`` to ``new`` without going down.

    An unreadable ``new`` is refused (it cannot be shown to be forward); an unreadable ``old``
    (e.g. ``""`` before the first update) accepts any readable ``new``; equal is allowed.
    """
    new_value = progress_percent(new)
    if new_value is None:
        return False
    old_value = progress_percent(old)
    return old_value is None or new_value >= old_value
