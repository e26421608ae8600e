"""Internal errors that carry a wire return code.

Services raise these; one exception handler in ``api.errors`` turns every one into the wire
envelope ``{code, description, result, properties}``, so no route formats an error by hand.
"""

from __future__ import annotations

import math
from enum import IntEnum
from typing import Any


class ReturnCode(IntEnum):
    SUCCESS = 1
    NOT_FOUND = 3
    VALIDATION_ERROR = 4
    FAILURE = 9
    EXISTED = 21
    IN_QUEUE = 22
    QUEUE_REJECTED = 23
    BANNED_PROMPT = 24


class RelayError(Exception):
    """A business outcome that is not a success; answered with HTTP 200 and ``code``."""

    code: ReturnCode = ReturnCode.FAILURE
    http_status: int = 200

    def __init__(
        self,
        description: str,
        *,
        result: Any = None,
        properties: dict[str, Any] | None = None,
        http_status: int | None = None,
    ) -> None:
        super().__init__(description)
        if http_status is not None:
            self.http_status = http_status
        self.description = description
        self.result = result
        self.properties = properties or {}


class ValidationFailed(RelayError):
    code = ReturnCode.VALIDATION_ERROR


class NotFound(RelayError):
    code = ReturnCode.NOT_FOUND


class QueueFull(RelayError):
    code = ReturnCode.QUEUE_REJECTED


class BannedPrompt(RelayError):
    code = ReturnCode.BANNED_PROMPT


class InternalFailure(RelayError):
    code = ReturnCode.FAILURE


class TaskNotFound(NotFound):
    """An unknown task id, or one the caller does not own: both look exactly alike."""

    http_status = 404


class Unauthorized(RelayError):
    http_status = 401
    code = ReturnCode.VALIDATION_ERROR


class PayloadTooLarge(ValidationFailed):
    http_status = 413


class InsufficientBalance(ValidationFailed):
    """The key's balance does not cover the price; nothing was reserved."""


class RateLimited(RelayError):
    """Too many requests or jobs in flight for one key: HTTP 429 with ``Retry-After``."""

    http_status = 429
    code = ReturnCode.FAILURE

    def __init__(self, description: str, *, retry_after: float) -> None:
        seconds = max(1, math.ceil(retry_after))
        super().__init__(description, properties={"retryAfter": seconds})
        self.retry_after = seconds


class AdminDisabled(RelayError):
    """The admin API answers 404 when no admin token is configured."""

    http_status = 404
    code = ReturnCode.NOT_FOUND
