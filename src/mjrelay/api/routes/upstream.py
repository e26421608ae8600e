"""``POST /mj/upstream/notify/{channel}/{taskId}/{signature}``: pushes from upstream channels.

No API key: the per-task signature in the URL is what authenticates the caller.
"""

from __future__ import annotations

from fastapi import APIRouter, Request

from mjrelay.api.contract import errors
from mjrelay.api.deps import PushDep
from mjrelay.api.wire import Envelope
from mjrelay.engines.upstream_push import NOTIFY_PATH

router = APIRouter(tags=["upstream"])


@router.post(
    NOTIFY_PATH + "/{channel}/{task_id}/{signature}",
    response_model=Envelope,
    responses=errors(400, 401, 413),  # the raw body is read and checked by the push service
)
async def notify(
    channel: str, task_id: str, signature: str, request: Request, push: PushDep
) -> Envelope:
    used = await push.receive(channel, task_id, signature, await request.body())
    return Envelope(code=1, description="applied" if used else "ignored", result=None)
