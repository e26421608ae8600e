"""The Python SDK for ``/mj`` relays.

    from mjrelay.client import Client
    with Client("http://127.0.0.1:8080", "mjr_...") as mj:
        mj.imagine("a lighthouse at dusk").wait().image_url

``AsyncClient`` is the same API for asyncio. ``Task`` and the other models are the SDK's own
(``mjrelay.client.models``): the package imports nothing from the server, so it works alone.
"""

from mjrelay.client.aio import AsyncClient, AsyncTaskHandle
from mjrelay.client.core import RetryPolicy
from mjrelay.client.errors import (
    AuthenticationError,
    NeedsModal,
    RelayAPIError,
    TaskFailed,
    WaitTimeout,
)
from mjrelay.client.models import Button, Task, TaskAction, TaskStatus
from mjrelay.client.sync import Client, StreamUnsupported, TaskHandle

__all__ = [
    "AsyncClient",
    "AsyncTaskHandle",
    "AuthenticationError",
    "Button",
    "Client",
    "NeedsModal",
    "RelayAPIError",
    "RetryPolicy",
    "StreamUnsupported",
    "Task",
    "TaskAction",
    "TaskFailed",
    "TaskHandle",
    "TaskStatus",
    "WaitTimeout",
]
