"""The limits the task service enforces, handed to it instead of the whole settings object."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TaskLimits:
    """What a submit may carry and how long its job may run (``mjrelay.wiring`` fills it in)."""

    max_prompt_chars: int
    max_image_bytes: int
    max_image_pixels: int
    task_timeout_seconds: float
