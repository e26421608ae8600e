"""``POST /mj/submit/*``: every way to start a job."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends

from mjrelay.api.deps import BaseURL, CurrentPrincipal, Mode, TasksDep
from mjrelay.api.wire import (
    ActionRequest,
    BlendRequest,
    ChangeRequest,
    DescribeRequest,
    EditRequest,
    Envelope,
    ImagineRequest,
    ModalRequest,
    ShortenRequest,
    SimpleChangeRequest,
    SubmitCommon,
    UploadRequest,
    VideoRequest,
)
from mjrelay.core.errors import ValidationFailed
from mjrelay.domain.task import TaskAction
from mjrelay.media.store import BASE_URL_MARKER
from mjrelay.services.tasks.service import Common, Submitted, TaskService
from mjrelay.services.tasks.video_options import is_extend
from mjrelay.store.keys import Principal

router = APIRouter(prefix="/mj/submit", tags=["submit"])


@dataclass(frozen=True, slots=True)
class Submitter:
    """What every submit route needs besides its body: who asks, where, in which mode."""

    principal: Principal
    tasks: TaskService
    mode: str
    base: str

    @property
    def tenant_id(self) -> int:
        return self.principal.tenant_id

    def common(self, body: SubmitCommon) -> Common:
        return Common(
            state=body.state if isinstance(body.state, str) else "",
            notify_hook=body.notify_hook if isinstance(body.notify_hook, str) else "",
            bot_type=body.bot_type if isinstance(body.bot_type, str) else "",
            mode=self.mode,
            key_id=self.principal.key_id,
            base_url=self.base,
        )


async def _submitter(
    principal: CurrentPrincipal, tasks: TasksDep, mode: Mode, base: BaseURL
) -> Submitter:
    return Submitter(principal, tasks, mode, base)


CurrentSubmitter = Annotated[Submitter, Depends(_submitter)]


def _answer(submitted: Submitted) -> Envelope:
    return Envelope(
        code=int(submitted.code),
        description=submitted.description,
        result=submitted.task_id,
        properties=submitted.properties,
    )


@router.post("/imagine", response_model=Envelope)
async def imagine(body: ImagineRequest, who: CurrentSubmitter) -> Envelope:
    images = body.base64_array
    if body.base64 and images is None:
        images = [body.base64]
    return _answer(await who.tasks.imagine(who.tenant_id, body.prompt, images, who.common(body)))


@router.post("/action", response_model=Envelope)
async def action(body: ActionRequest, who: CurrentSubmitter) -> Envelope:
    return _answer(
        await who.tasks.action(
            who.tenant_id, body.task_id, body.custom_id, body.enable_remix, who.common(body)
        )
    )


@router.post("/modal", response_model=Envelope)
async def modal(body: ModalRequest, who: CurrentSubmitter) -> Envelope:
    return _answer(
        await who.tasks.modal(
            who.tenant_id,
            body.task_id,
            body.prompt,
            body.mask_base64,
            key_id=who.principal.key_id,
        )
    )


@router.post("/blend", response_model=Envelope)
async def blend(body: BlendRequest, who: CurrentSubmitter) -> Envelope:
    return _answer(
        await who.tasks.blend(who.tenant_id, body.base64_array, body.dimensions, who.common(body))
    )


@router.post("/describe", response_model=Envelope)
async def describe(body: DescribeRequest, who: CurrentSubmitter) -> Envelope:
    return _answer(
        await who.tasks.describe(who.tenant_id, body.base64, body.link, who.common(body))
    )


@router.post("/shorten", response_model=Envelope)
async def shorten(body: ShortenRequest, who: CurrentSubmitter) -> Envelope:
    return _answer(await who.tasks.shorten(who.tenant_id, body.prompt, who.common(body)))


@router.post("/change", response_model=Envelope)
async def change(body: ChangeRequest, who: CurrentSubmitter) -> Envelope:
    return _answer(
        await who.tasks.change(
            who.tenant_id, body.task_id, body.action, body.index, who.common(body)
        )
    )


@router.post("/simple-change", response_model=Envelope)
async def simple_change(body: SimpleChangeRequest, who: CurrentSubmitter) -> Envelope:
    return _answer(await who.tasks.simple_change(who.tenant_id, body.content, who.common(body)))


@router.post("/video", response_model=Envelope)
async def video(body: VideoRequest, who: CurrentSubmitter) -> Envelope:
    if is_extend(body.action):
        return _answer(
            await who.tasks.extend_video(
                who.tenant_id, body.task_id, body.index, body.motion, who.common(body)
            )
        )
    if body.task_id not in (None, ""):
        raise ValidationFailed("taskId: only with action extend (a new video takes an image)")
    image = body.image if body.image not in (None, "") else body.base64
    options = (body.motion, body.video_type, body.batch_size, body.loop)
    return _answer(
        await who.tasks.video(
            who.tenant_id, body.prompt, image, body.end_image, options, who.common(body)
        )
    )


@router.post("/edits", response_model=Envelope)
@router.post("/edit", response_model=Envelope)
async def edits(body: EditRequest, who: CurrentSubmitter) -> Envelope:
    return _answer(
        await who.tasks.edit(
            who.tenant_id, TaskAction.EDIT, body.prompt, body.image, body.mask_base64,
            who.common(body),
        )
    )  # fmt: skip


@router.post("/retexture", response_model=Envelope)
async def retexture(body: EditRequest, who: CurrentSubmitter) -> Envelope:
    return _answer(
        await who.tasks.edit(
            who.tenant_id, TaskAction.RETEXTURE, body.prompt, body.image, body.mask_base64,
            who.common(body),
        )
    )  # fmt: skip


@router.post("/upload-discord-images", response_model=Envelope)
async def upload_images(body: UploadRequest, who: CurrentSubmitter) -> Envelope:
    urls = await who.tasks.upload(who.tenant_id, body.base64_array, key_id=who.principal.key_id)
    return Envelope(
        code=1,
        description="Submit success",
        result=[url.replace(BASE_URL_MARKER, who.base, 1) for url in urls],
    )
