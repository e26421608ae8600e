"""``/mj/task/*``: fetch, lists, seed and cancel.

Fetch is the hot path (clients poll it): it serves the task JSON bytes the store serialized when
the task last changed, swapping in the base URL, without building any model. In the app, plain
``GET /mj/task/{id}/fetch`` requests are answered one layer earlier by ``api.fast_fetch`` (same
auth, same service call, same bytes, no FastAPI routing); this route documents fetch in OpenAPI
and serves the requests the fast path passes on.
"""

from __future__ import annotations

from fastapi import APIRouter, Query, Response

from mjrelay.api.contract import errors
from mjrelay.api.deps import BaseURL, CurrentPrincipal, TasksDep
from mjrelay.api.wire import Envelope, ListByConditionRequest, Task
from mjrelay.media.store import BASE_URL_MARKER

router = APIRouter(prefix="/mj/task", tags=["tasks"])

_MARKER = BASE_URL_MARKER.encode()
_JSON = "application/json"
_NOT_FOUND = errors(404)  # an unknown task, or one that is not the caller's


def with_base(wire: bytes, base: str) -> bytes:
    """The stored wire bytes with relay-hosted URLs pointing at ``base``."""
    return wire.replace(_MARKER, base.encode()) if _MARKER in wire else wire


def _array(wires: list[bytes], base: str) -> bytes:
    return with_base(b"[" + b",".join(wires) + b"]", base)


@router.get(
    "/{task_id}/fetch",
    response_class=Response,
    responses={200: {"model": Task, "description": "The task JSON."}, **_NOT_FOUND},
)
async def fetch(
    task_id: str, principal: CurrentPrincipal, tasks: TasksDep, base: BaseURL
) -> Response:
    wire = await tasks.fetch_wire(principal.tenant_id, task_id)
    return Response(with_base(wire, base), media_type=_JSON)


@router.post(
    "/list-by-ids",
    response_class=Response,
    responses={200: {"model": list[Task], "description": "The caller's tasks among `ids`."}},
)
@router.post(
    "/list-by-condition",
    response_class=Response,
    responses={200: {"model": list[Task], "description": "The caller's tasks among `ids`."}},
)
async def list_by_condition(
    body: ListByConditionRequest, principal: CurrentPrincipal, tasks: TasksDep, base: BaseURL
) -> Response:
    wires = await tasks.list_by_ids(principal.tenant_id, body.ids)
    return Response(_array(wires, base), media_type=_JSON)


@router.get(
    "/list",
    response_class=Response,
    responses={200: {"model": list[Task], "description": "The caller's tasks, newest first."}},
)
async def list_tasks(
    principal: CurrentPrincipal,
    tasks: TasksDep,
    base: BaseURL,
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=1_000_000),
    before: str | None = Query(None, max_length=32, description="Cursor: ids older than this."),
) -> Response:
    rows = await tasks.list_recent(principal.tenant_id, limit=limit, offset=offset, before=before)
    headers = {"X-Next-Cursor": rows[-1][0]} if len(rows) == limit else {}
    return Response(_array([wire for _id, wire in rows], base), media_type=_JSON, headers=headers)


@router.get("/{task_id}/image-seed", response_model=Envelope, responses=_NOT_FOUND)
async def image_seed(task_id: str, principal: CurrentPrincipal, tasks: TasksDep) -> Envelope:
    seed = await tasks.image_seed(principal.tenant_id, task_id)
    return Envelope(code=1, description="Success", result=seed)


@router.post("/{task_id}/cancel", response_model=Envelope, responses=_NOT_FOUND)
async def cancel(task_id: str, principal: CurrentPrincipal, tasks: TasksDep) -> Envelope:
    await tasks.cancel(principal.tenant_id, task_id)
    return Envelope(code=1, description="Cancelled", result=task_id)
