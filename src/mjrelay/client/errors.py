"""Errors the SDK raises: each carries what the relay said, never the API key."""

from __future__ import annotations

from typing import Any

from mjrelay.client.models import Task


class RelayAPIError(Exception):
    """The relay refused a call: HTTP status, wire return code and its description."""

    def __init__(
        self,
        description: str,
        *,
        status: int,
        code: int | None = None,
        properties: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{description} (HTTP {status}" + (f", code {code})" if code else ")"))
        self.description = description
        self.status = status
        self.code = code
        self.properties = properties or {}


class AuthenticationError(RelayAPIError):
    """HTTP 401: missing or wrong API key."""


class TaskFailed(Exception):
    """``wait()`` saw the task end in FAILURE or CANCEL."""

    def __init__(self, task: Task) -> None:
        super().__init__(f"task {task.id} ended {task.status.value}: {task.fail_reason or '-'}")
        self.task = task


class WaitTimeout(TimeoutError):
    """``wait()`` ran out of time; ``task`` is the last state seen."""

    def __init__(self, task: Task | None, seconds: float) -> None:
        what = f"task {task.id} is still {task.status.value}" if task else "no task state yet"
        super().__init__(f"gave up after {seconds:g}s: {what}")
        self.task = task


class NeedsModal(Exception):
    """The task waits for modal input (custom zoom prompt, vary-region mask)."""

    def __init__(self, task_id: str) -> None:
        super().__init__(
            f"task {task_id} waits for modal input: call .modal(prompt=..., mask=...) first"
        )
        self.task_id = task_id
