"""Applying what an engine reports to a task, without ever moving it backwards.

Engines, timeouts and cancels all change tasks through ``apply_update``: one function that
enforces the state machine, keeps progress monotonic and stamps the times, so duplicate or
out-of-order reports are harmless no-ops.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mjrelay.domain.record import TaskRecord
from mjrelay.domain.states import can_transition, is_progress_forward
from mjrelay.domain.task import Button, TaskStatus, VideoUrl


@dataclass(frozen=True, slots=True)
class TaskUpdate:
    """A change to a task. ``None`` fields are left as they are."""

    task_id: str
    status: TaskStatus
    progress: str | None = None
    image_url: str | None = None
    image_urls: list[str] | None = None
    video_url: str | None = None
    video_urls: list[VideoUrl] | None = None
    video_duration: float | None = None
    frame_count: int | None = None
    buttons: list[Button] | None = None
    prompt: str | None = None
    prompt_en: str | None = None
    fail_reason: str | None = None
    # Public extras merged into the task's ``properties`` (e.g. finalPrompt).
    properties: dict[str, Any] = field(default_factory=dict)
    # Private engine state merged into the record; never shown to clients.
    engine_state: dict[str, Any] = field(default_factory=dict)
    # A first report of an end state: ignored once the task has ended, so a second reporter (another
    # instance polling the same upstream job, a late push) cannot overwrite what came after it.
    only_if_unfinished: bool = False
    # Applies only while the record's private state holds these values (e.g. an image mirror's
    # result applies only while that mirror is still the pending one).
    requires_state: dict[str, Any] = field(default_factory=dict)


def apply_update(record: TaskRecord, update: TaskUpdate, now_ms: int) -> bool:
    """Apply ``update`` to ``record`` in place; False (and no change) when it would go backwards."""
    task = record.task
    current, target = task.status, update.status
    if update.only_if_unfinished and current.is_final:
        return False
    if any(record.engine_state.get(key) != value for key, value in update.requires_state.items()):
        return False
    if current == target:
        if target != TaskStatus.IN_PROGRESS or update.progress in (None, task.progress):
            return _merge_extras(record, update)  # a repeat changes nothing but extras
        if update.progress is not None and not is_progress_forward(task.progress, update.progress):
            return False
    elif not can_transition(current, target):
        return False

    task.status = target
    if target in (TaskStatus.SUBMITTED, TaskStatus.IN_PROGRESS) and task.start_time is None:
        task.start_time = now_ms
    if target == TaskStatus.SUBMITTED:
        task.progress = "0%"
    elif target == TaskStatus.IN_PROGRESS and update.progress is not None:
        task.progress = update.progress
    elif target == TaskStatus.SUCCESS:
        task.progress = "100%"
        task.fail_reason = ""
    elif target in (TaskStatus.FAILURE, TaskStatus.CANCEL):
        task.progress = ""
        task.fail_reason = update.fail_reason or task.fail_reason
    if target.is_final:
        task.finish_time = now_ms
        record.deadline_ms = None
    _merge_extras(record, update)
    return True


def _merge_extras(record: TaskRecord, update: TaskUpdate) -> bool:
    task = record.task
    changed = False
    for name in (
        "image_url",
        "image_urls",
        "video_url",
        "video_urls",
        "video_duration",
        "frame_count",
        "buttons",
        "prompt",
        "prompt_en",
    ):
        value = getattr(update, name)
        if value is not None and getattr(task, name) != value:
            setattr(task, name, value)
            changed = True
    # Only real changes count: a repeated report must not cause another save.
    properties = {**task.properties, **update.properties}
    if properties != task.properties:
        task.properties = properties
        changed = True
    engine_state = {**record.engine_state, **update.engine_state}
    if engine_state != record.engine_state:
        record.engine_state = engine_state
        changed = True
    return changed
