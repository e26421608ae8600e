"""``GET /mj/task/{id}/stream`` and ``GET /mj/task/stream``: task changes as Server-Sent Events.

Each change is one ``event: task`` whose ``data`` is the task JSON exactly as fetch returns it.
A task stream starts with the task's current state and ends after its final state; the tenant
stream runs until the client leaves. Comment lines keep idle connections (and proxies) alive.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from mjrelay.api.contract import errors
from mjrelay.api.deps import BaseURL, CurrentPrincipal, StreamsDep
from mjrelay.media.store import BASE_URL_MARKER
from mjrelay.services.streams.broker import Subscription, TaskEvent
from mjrelay.services.streams.watch import TaskWatcher

router = APIRouter(prefix="/mj/task", tags=["tasks"])

_MARKER = BASE_URL_MARKER.encode()
_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
_SSE_DOC: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"text/event-stream": {}},
        "description": "`event: task` frames whose data is the task JSON; `:` heartbeats.",
    }
}


def _frame(event: TaskEvent, base: bytes) -> bytes:
    wire = event.wire.replace(_MARKER, base) if _MARKER in event.wire else event.wire
    return b"event: task\nid: %s.%d\ndata: %s\n\n" % (event.task_id.encode(), event.version, wire)


async def _events(
    watcher: TaskWatcher,
    subscription: Subscription,
    first: TaskEvent | None,
    *,
    heartbeat: float,
    base: str,
    until_final: bool,
) -> AsyncIterator[bytes]:
    prefix = base.encode()
    try:
        yield b"retry: 2000\n\n"
        if first is not None:
            yield _frame(first, prefix)
            if until_final and first.final:
                return
        while True:
            event = await subscription.next(heartbeat)
            if event is None:
                yield b": keep-alive\n\n"
                continue
            yield _frame(event, prefix)
            if until_final and event.final:
                return
    finally:
        watcher.close(subscription)


def _respond(
    watcher: TaskWatcher,
    subscription: Subscription,
    first: TaskEvent | None,
    base: str,
) -> StreamingResponse:
    """The SSE response; a stream that began with a task's snapshot ends with that task."""
    events = _events(
        watcher,
        subscription,
        first,
        heartbeat=watcher.heartbeat_seconds,
        base=base,
        until_final=first is not None,
    )
    return StreamingResponse(events, media_type="text/event-stream", headers=_HEADERS)


@router.get("/stream", response_class=StreamingResponse, responses=_SSE_DOC)
async def tenant_stream(
    principal: CurrentPrincipal, watcher: StreamsDep, base: BaseURL
) -> StreamingResponse:
    """Every change of the caller's tasks, from now on, until the client disconnects."""
    subscription = watcher.watch_tenant(principal.tenant_id)
    return _respond(watcher, subscription, None, base)


@router.get(
    "/{task_id}/stream", response_class=StreamingResponse, responses={**_SSE_DOC, **errors(404)}
)
async def task_stream(
    task_id: str, principal: CurrentPrincipal, watcher: StreamsDep, base: BaseURL
) -> StreamingResponse:
    """The task now, then each change, ending after SUCCESS, FAILURE or CANCEL."""
    subscription, first = await watcher.watch_task(principal.tenant_id, task_id)
    return _respond(watcher, subscription, first, base)
