"""``POST /mj/insight-face/swap``: put the face of one picture onto another (a ``SWAP_FACE`` task).

Peers serve face swap beside the Midjourney submits, with the same envelope and common fields;
it shares the submit routes' dependencies (who asks, in which mode) but not their path.
"""

from __future__ import annotations

from fastapi import APIRouter

from mjrelay.api.routes.submit import CurrentSubmitter
from mjrelay.api.wire import Envelope, SwapFaceRequest

router = APIRouter(prefix="/mj/insight-face", tags=["submit"])


def _given(base64: object, url: object) -> object:
    """The base64 value when the client sent one, else the URL form."""
    return base64 if base64 not in (None, "") else url


@router.post("/swap", response_model=Envelope)
async def swap(body: SwapFaceRequest, who: CurrentSubmitter) -> Envelope:
    submitted = await who.tasks.swap_face(
        who.tenant_id,
        _given(body.source_base64, body.source_url),
        _given(body.target_base64, body.target_url),
        who.common(body),
    )
    return Envelope(
        code=int(submitted.code),
        description=submitted.description,
        result=submitted.task_id,
        properties=submitted.properties,
    )
