"""``POST /mj/submit/*``: every way to start a job."""

from __future__ import annotations

from fastapi import APIRouter

from mjrelay.api.deps import BaseURL, CurrentPrincipal, CurrentRelay, Mode
from mjrelay.api.wire import (
    ActionRequest,
    BlendRequest,
    ChangeRequest,
    DescribeRequest,
    Envelope,
    ImagineRequest,
    ModalRequest,
    ShortenRequest,
    SimpleChangeRequest,
    SubmitCommon,
    UploadRequest,
)
from mjrelay.media.store import BASE_URL_MARKER
from mjrelay.services.tasks import Common, Submitted
from mjrelay.store.keys import Principal

router = APIRouter(prefix="/mj/submit", tags=["submit"])


def _common(body: SubmitCommon, mode: str, principal: Principal, base: str) -> Common:
    return Common(
        state=body.state if isinstance(body.state, str) else "",
        notify_hook=body.notify_hook if isinstance(body.notify_hook, str) else "",
        bot_type=body.bot_type if isinstance(body.bot_type, str) else "",
        mode=mode,
        key_id=principal.key_id,
        base_url=base,
    )


def _answer(submitted: Submitted) -> Envelope:
    return Envelope(
        code=int(submitted.code),
        description=submitted.description,
        result=submitted.task_id,
        properties=submitted.properties,
    )


@router.post("/imagine", response_model=Envelope)
async def imagine(
    body: ImagineRequest,
    principal: CurrentPrincipal,
    relay: CurrentRelay,
    mode: Mode,
    base: BaseURL,
) -> Envelope:
    images = body.base64_array
    if body.base64 and images is None:
        images = [body.base64]
    return _answer(
        await relay.tasks.imagine(
            principal.tenant_id, body.prompt, images, _common(body, mode, principal, base)
        )
    )


@router.post("/action", response_model=Envelope)
async def action(
    body: ActionRequest,
    principal: CurrentPrincipal,
    relay: CurrentRelay,
    mode: Mode,
    base: BaseURL,
) -> Envelope:
    return _answer(
        await relay.tasks.action(
            principal.tenant_id,
            body.task_id,
            body.custom_id,
            body.enable_remix,
            _common(body, mode, principal, base),
        )
    )


@router.post("/modal", response_model=Envelope)
async def modal(body: ModalRequest, principal: CurrentPrincipal, relay: CurrentRelay) -> Envelope:
    return _answer(
        await relay.tasks.modal(
            principal.tenant_id,
            body.task_id,
            body.prompt,
            body.mask_base64,
            key_id=principal.key_id,
        )
    )


@router.post("/blend", response_model=Envelope)
async def blend(
    body: BlendRequest,
    principal: CurrentPrincipal,
    relay: CurrentRelay,
    mode: Mode,
    base: BaseURL,
) -> Envelope:
    return _answer(
        await relay.tasks.blend(
            principal.tenant_id,
            body.base64_array,
            body.dimensions,
            _common(body, mode, principal, base),
        )
    )


@router.post("/describe", response_model=Envelope)
async def describe(
    body: DescribeRequest,
    principal: CurrentPrincipal,
    relay: CurrentRelay,
    mode: Mode,
    base: BaseURL,
) -> Envelope:
    return _answer(
        await relay.tasks.describe(
            principal.tenant_id, body.base64, body.link, _common(body, mode, principal, base)
        )
    )


@router.post("/shorten", response_model=Envelope)
async def shorten(
    body: ShortenRequest,
    principal: CurrentPrincipal,
    relay: CurrentRelay,
    mode: Mode,
    base: BaseURL,
) -> Envelope:
    return _answer(
        await relay.tasks.shorten(
            principal.tenant_id, body.prompt, _common(body, mode, principal, base)
        )
    )


@router.post("/change", response_model=Envelope)
async def change(
    body: ChangeRequest,
    principal: CurrentPrincipal,
    relay: CurrentRelay,
    mode: Mode,
    base: BaseURL,
) -> Envelope:
    return _answer(
        await relay.tasks.change(
            principal.tenant_id,
            body.task_id,
            body.action,
            body.index,
            _common(body, mode, principal, base),
        )
    )


@router.post("/simple-change", response_model=Envelope)
async def simple_change(
    body: SimpleChangeRequest,
    principal: CurrentPrincipal,
    relay: CurrentRelay,
    mode: Mode,
    base: BaseURL,
) -> Envelope:
    return _answer(
        await relay.tasks.simple_change(
            principal.tenant_id, body.content, _common(body, mode, principal, base)
        )
    )


@router.post("/upload-discord-images", response_model=Envelope)
async def upload_images(
    body: UploadRequest, principal: CurrentPrincipal, relay: CurrentRelay, base: BaseURL
) -> Envelope:
    urls = await relay.tasks.upload(principal.tenant_id, body.base64_array, key_id=principal.key_id)
    return Envelope(
        code=1,
        description="Submit success",
        result=[url.replace(BASE_URL_MARKER, base, 1) for url in urls],
    )
