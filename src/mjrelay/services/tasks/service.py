"""Submitting and querying tasks: every ``/mj`` use case, free of HTTP.

Validation errors name the wire field (``prompt``, ``base64Array[1]``...) and surface as code 4.
A task is stored before its engine sees it, so a crash can never lose an accepted job; a job the
engine refuses (queue full, banned prompt) is removed again, since the client was told "no".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from mjrelay.core.errors import (
    InternalFailure,
    NotFound,
    RelayError,
    ReturnCode,
    TaskNotFound,
    ValidationFailed,
)
from mjrelay.core.ids import new_task_id, now_ms
from mjrelay.core.logging import get_logger
from mjrelay.domain.custom_id import (
    ButtonKind,
    CustomId,
    CustomIdError,
    build_custom_id,
    parse_custom_id,
)
from mjrelay.domain.prompts import numbered_prompts
from mjrelay.domain.record import TaskRecord
from mjrelay.domain.task import BotType, Task, TaskAction, TaskStatus
from mjrelay.domain.updates import TaskUpdate
from mjrelay.engines.base import EngineJob, ParentRef
from mjrelay.engines.registry import EngineRegistry
from mjrelay.media.fetch import ImageFetcher
from mjrelay.media.inputs import (
    DecodedImage,
    ImageInputError,
    ImageLimits,
    decode_image,
    decode_images,
    inspect_image_bytes,
)
from mjrelay.media.store import MediaStore
from mjrelay.services.tasks.admission import SubmitGate, Submitter
from mjrelay.services.tasks.cache import CachedWire
from mjrelay.services.tasks.dispatch import Dispatcher
from mjrelay.services.tasks.lifecycle import TaskLifecycle
from mjrelay.services.tasks.limits import TaskLimits
from mjrelay.services.tasks.video_options import (
    parse_extend_index,
    parse_motion,
    parse_video_options,
)
from mjrelay.store.tasks import DuplicateTaskId

log = get_logger("mjrelay.tasks")

BLEND_DIMENSIONS = ("PORTRAIT", "SQUARE", "LANDSCAPE")
REMIXABLE = frozenset(
    {
        ButtonKind.REROLL,
        ButtonKind.VARIATION,
        ButtonKind.PAN,
        ButtonKind.LOW_VARIATION,
        ButtonKind.HIGH_VARIATION,
    }
)
CHANGE_KINDS = {
    "UPSCALE": ButtonKind.UPSAMPLE,
    "VARIATION": ButtonKind.VARIATION,
    "REROLL": ButtonKind.REROLL,
}
_SIMPLE_CHANGE = re.compile(r"^(\d{1,32}) ([UuVv][1-4]|[Rr])$")
_ZOOM = re.compile(r"--zoom\s+([0-9]*\.?[0-9]+)")
MAX_LIST_IDS = 1000
# The peers' caps (the fork refuses longer values): a state is an opaque client tag, a hook a URL.
MAX_STATE_CHARS = 255
MAX_NOTIFY_HOOK_CHARS = 2000
_EDITOR_ACTIONS = (TaskAction.EDIT, TaskAction.RETEXTURE)


@dataclass(frozen=True, slots=True)
class Submitted:
    """An accepted submit: code 1, 21 (waiting for a modal) or 22 (queued)."""

    task_id: str
    code: ReturnCode = ReturnCode.SUCCESS
    description: str = "Submit success"
    properties: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Common:
    """Fields every submit body may carry."""

    state: str = ""
    notify_hook: str = ""
    bot_type: str = ""
    mode: str = ""
    # The submitting key and the request's base URL (used by the operator layer: charges,
    # limits, callbacks); None/'' when the service is used without one.
    key_id: int | None = None
    base_url: str = ""


class TaskService:
    def __init__(
        self,
        limits: TaskLimits,
        lifecycle: TaskLifecycle,
        engines: EngineRegistry,
        media: MediaStore,
        fetcher: ImageFetcher,
        dispatcher: Dispatcher,
        gate: SubmitGate | None = None,
    ) -> None:
        self._dispatcher = dispatcher
        self._task_limits = limits
        self._gate = gate
        self._lifecycle = lifecycle
        self._store = lifecycle.store
        self._cache = lifecycle.cache
        self._engines = engines
        self._media = media
        self._fetcher = fetcher
        self._limits = ImageLimits(
            max_bytes=limits.max_image_bytes, max_pixels=limits.max_image_pixels
        )

    # ---- submits -------------------------------------------------------------------------

    async def imagine(
        self, tenant_id: int, prompt: object, base64_array: object, common: Common
    ) -> Submitted:
        text = self._prompt(prompt)
        images = self._images(base64_array, "base64Array", 0, 5)
        keys = [await self._store_image(image) for image in images]
        if keys:
            urls = " ".join(self._media.url_of(key) for key in keys)
            text = f"{urls} {text}"
        return await self._create(
            tenant_id,
            TaskAction.IMAGINE,
            common,
            prompt=text,
            description=f"/imagine {text}",
            images=tuple(keys),
        )

    async def blend(
        self, tenant_id: int, base64_array: object, dimensions: object, common: Common
    ) -> Submitted:
        images = self._images(base64_array, "base64Array", 2, 5)
        if dimensions in (None, ""):
            dimensions = "SQUARE"
        if dimensions not in BLEND_DIMENSIONS:
            raise ValidationFailed(
                f"dimensions: must be one of {', '.join(BLEND_DIMENSIONS)}, got {dimensions!r}"
            )
        keys = [await self._store_image(image) for image in images]
        task_id_hint = len(keys)
        return await self._create(
            tenant_id,
            TaskAction.BLEND,
            common,
            prompt="",
            description=f"/blend {task_id_hint} images {dimensions}",
            images=tuple(keys),
            dimensions=str(dimensions),
        )

    async def describe(
        self, tenant_id: int, base64: object, link: object, common: Common
    ) -> Submitted:
        if base64 not in (None, ""):
            image = self._image(base64, "base64")
        elif link not in (None, ""):
            if not isinstance(link, str):
                raise ValidationFailed("link: must be a string URL")
            image = await self._fetched_image(link, "link")
        else:
            raise ValidationFailed("base64: an image (data URL) or a link is required")
        key = await self._store_image(image)
        return await self._create(
            tenant_id,
            TaskAction.DESCRIBE,
            common,
            prompt="",
            description=f"/describe {key}",
            images=(key,),
        )

    async def shorten(self, tenant_id: int, prompt: object, common: Common) -> Submitted:
        text = self._prompt(prompt)
        return await self._create(
            tenant_id, TaskAction.SHORTEN, common, prompt=text, description=f"/shorten {text}"
        )

    async def video(
        self,
        tenant_id: int,
        prompt: object,
        image: object,
        end_image: object,
        options: tuple[object, object, object, object],
        common: Common,
    ) -> Submitted:
        """A new video from a start image (``options``: motion, videoType, batchSize, loop)."""
        video = parse_video_options(*options)
        text = self._optional_prompt(prompt)
        if image in (None, ""):
            raise ValidationFailed("image: a start image is required (or action extend + taskId)")
        start_key = await self._store_image(await self._image_or_url(image, "image"))
        keys = [start_key]
        end_url = ""
        if end_image not in (None, "") and not video.loop:
            end_key = await self._store_image(await self._image_or_url(end_image, "endImage"))
            keys.append(end_key)
            end_url = self._media.url_of(end_key)
        words = [self._media.url_of(start_key), text, video.prompt_suffix(end_url=end_url)]
        full = " ".join(word for word in words if word)
        return await self._create(
            tenant_id,
            TaskAction.VIDEO,
            common,
            prompt=full,
            description=f"/video {full}",
            images=tuple(keys),
            video_type=video.video_type,
        )

    async def extend_video(
        self, tenant_id: int, task_id: object, index: object, motion: object, common: Common
    ) -> Submitted:
        """Extend one video of a finished video task (``action: "extend"`` on /submit/video)."""
        parent = await self._parent(tenant_id, task_id)
        videos = parent.task.video_urls or []
        if not videos:
            raise ValidationFailed(f"taskId: task {parent.id} is not a finished video")
        number = parse_extend_index(index, len(videos))
        job_hash = self._job_hash_of(parent)
        custom_id = build_custom_id(
            CustomId(ButtonKind.ANIMATE_EXTEND, number, job_hash, parse_motion(motion))
        )
        return await self._create(
            tenant_id,
            TaskAction.VIDEO_EXTEND,
            self._inherit(common, parent),
            prompt=parent.task.prompt,
            description=f"/up {parent.id} Extend video {number}",
            custom_id=custom_id,
            parent=parent,
        )

    async def edit(
        self,
        tenant_id: int,
        action: TaskAction,
        prompt: object,
        image: object,
        mask: object,
        common: Common,
    ) -> Submitted:
        """An editor job (``EDIT`` or ``RETEXTURE``): a new 2x2 grid from an image and a prompt."""
        if action not in _EDITOR_ACTIONS:
            raise ValueError(f"{action} is not an editor action")
        text = self._prompt(prompt)
        if image in (None, ""):
            raise ValidationFailed("image: required")
        key = await self._store_image(await self._image_or_url(image, "image"))
        mask_key = ""
        if mask not in (None, ""):
            mask_key = await self._store_image(self._image(mask, "maskBase64"))
        full = f"{self._media.url_of(key)} {text}"
        return await self._create(
            tenant_id,
            action,
            common,
            prompt=full,
            description=f"/{action.value.lower()} {full}",
            images=(key,),
            mask=mask_key,
        )

    async def swap_face(
        self, tenant_id: int, source: object, target: object, common: Common
    ) -> Submitted:
        """Put the face of ``source`` onto ``target`` (either given as base64 or as a URL)."""
        if source in (None, ""):
            raise ValidationFailed("sourceBase64: the face image (or sourceUrl) is required")
        if target in (None, ""):
            raise ValidationFailed("targetBase64: the target image (or targetUrl) is required")
        face = await self._store_image(await self._image_or_url(source, "sourceBase64"))
        picture = await self._store_image(await self._image_or_url(target, "targetBase64"))
        return await self._create(
            tenant_id,
            TaskAction.SWAP_FACE,
            common,
            prompt="",
            description=f"/swap {face} {picture}",
            images=(face, picture),
            bot_type=BotType.INSIGHT_FACE.value,
        )

    async def action(
        self,
        tenant_id: int,
        task_id: object,
        custom_id: object,
        enable_remix: object,
        common: Common,
    ) -> Submitted:
        parent = await self._parent(tenant_id, task_id)
        if not isinstance(custom_id, str) or not custom_id:
            raise ValidationFailed("customId: required")
        try:
            parsed = parse_custom_id(custom_id)
        except CustomIdError as exc:
            raise ValidationFailed(f"customId: {exc}") from exc
        button = next((b for b in parent.task.buttons if b.custom_id == custom_id), None)
        if button is None:
            raise ValidationFailed(f"customId: not a button of task {parent.id}")
        label = button.label or button.emoji or parsed.kind.value
        modal = parsed.needs_modal or (enable_remix is True and parsed.kind in REMIXABLE)
        prompt = parent.task.prompt
        if parsed.kind in (ButtonKind.PIC_READER, ButtonKind.PROMPT_ANALYZER):
            # The suggestion the button picks, as the parent's finalPrompt lists them.
            suggestions = numbered_prompts(str(parent.task.properties.get("finalPrompt", "")))
            index = parsed.index - 1
            prompt = suggestions[index] if 0 <= index < len(suggestions) else ""
        return await self._create(
            tenant_id,
            parsed.action,
            self._inherit(common, parent),
            prompt=prompt,
            description=f"/up {parent.id} {label}",
            custom_id=custom_id,
            parent=parent,
            status=TaskStatus.MODAL if modal else TaskStatus.NOT_START,
            enable_remix=enable_remix is True,
        )

    async def change(
        self, tenant_id: int, task_id: object, action: object, index: object, common: Common
    ) -> Submitted:
        if not isinstance(task_id, str) or not task_id:
            raise ValidationFailed("taskId: required")
        if action not in CHANGE_KINDS:
            raise ValidationFailed("action: must be UPSCALE, VARIATION or REROLL")
        kind = CHANGE_KINDS[str(action)]
        if kind != ButtonKind.REROLL and (
            isinstance(index, bool) or not isinstance(index, int) or not 1 <= index <= 4
        ):
            raise ValidationFailed("index: must be 1 to 4 for UPSCALE and VARIATION")
        parent = await self._parent(tenant_id, task_id)
        if kind == ButtonKind.UPSAMPLE and parent.task.video_urls:
            # U<i> on a video batch singles out one video, as its buttons do.
            kind = ButtonKind.VIDEO_VIRTUAL_UPSCALE
        for button in parent.task.buttons:
            try:
                parsed = parse_custom_id(button.custom_id)
            except CustomIdError:
                continue
            if parsed.kind == kind and (kind == ButtonKind.REROLL or parsed.index == index):
                return await self.action(tenant_id, task_id, button.custom_id, False, common)
        raise ValidationFailed(f"action: task {parent.id} has no {action} button")

    async def simple_change(self, tenant_id: int, content: object, common: Common) -> Submitted:
        match = _SIMPLE_CHANGE.match(content.strip()) if isinstance(content, str) else None
        if match is None:
            raise ValidationFailed(
                "content: expected '<taskId> U1-U4', '<taskId> V1-V4' or '<taskId> R'"
            )
        task_id, op = match.group(1), match.group(2).upper()
        action = {"U": "UPSCALE", "V": "VARIATION", "R": "REROLL"}[op[0]]
        index = int(op[1]) if len(op) > 1 else 0
        return await self.change(tenant_id, task_id, action, index, common)

    async def modal(
        self,
        tenant_id: int,
        task_id: object,
        prompt: object,
        mask_base64: object,
        *,
        key_id: int | None = None,
    ) -> Submitted:
        if not isinstance(task_id, str) or not task_id:
            raise ValidationFailed("taskId: required")
        if prompt is not None and not isinstance(prompt, str):
            raise ValidationFailed("prompt: must be a string")
        text = (prompt or "").strip()
        if len(text) > self._task_limits.max_prompt_chars:
            raise ValidationFailed(
                f"prompt: longer than {self._task_limits.max_prompt_chars} characters"
            )
        async with self._lifecycle.locks.hold(task_id):
            record = await self._store.get(task_id)
            if record is None or record.tenant_id != tenant_id:
                raise NotFound(f"taskId: task {task_id} not found")
            if record.task.status != TaskStatus.MODAL:
                raise ValidationFailed(
                    f"taskId: task {task_id} is {record.task.status.value}, not waiting for a modal"
                )
            job = EngineJob.from_dict(record.job)
            custom = parse_custom_id(job.custom_id)
            mask_key = ""
            if custom.kind == ButtonKind.INPAINT:
                mask = self._image(mask_base64, "maskBase64")
                mask_key = await self._store_image(mask)
            final_prompt = text or record.task.prompt
            if custom.kind == ButtonKind.CUSTOM_ZOOM:
                zoom = _ZOOM.search(final_prompt)
                if zoom is None or not 1.0 <= float(zoom.group(1)) <= 2.0:
                    raise ValidationFailed("prompt: custom zoom needs --zoom between 1 and 2")
            if not final_prompt and custom.kind not in (
                ButtonKind.PIC_READER,
                ButtonKind.PROMPT_ANALYZER,
            ):
                raise ValidationFailed("prompt: required")
            job = EngineJob.from_dict({**job.to_dict(), "prompt": final_prompt, "mask": mask_key})
            record.job = job.to_dict()
            record.task.prompt = final_prompt
            record.task.prompt_en = final_prompt
            record.task.properties = {**record.task.properties, "finalPrompt": final_prompt}
            if mask_key:
                record.task.properties["maskUrl"] = self._media.url_of(mask_key)
            if self._gate is not None:
                await self._gate.modal(Submitter(key_id, tenant_id), record)
            # Leave MODAL while still holding the lock: a second (concurrent or retried) modal
            # submit is refused instead of running the job twice, and a restart resumes the job.
            record.task.status = TaskStatus.SUBMITTED
            await self._lifecycle.replace(record)
        return await self._dispatch(record, code_when_running=ReturnCode.SUCCESS, shown=True)

    async def upload(
        self, tenant_id: int, base64_array: object, *, key_id: int | None = None
    ) -> list[str]:
        images = self._images(base64_array, "base64Array", 1, 10)
        if self._gate is not None:
            await self._gate.upload(Submitter(key_id, tenant_id))
        return [self._media.url_of(await self._store_image(image)) for image in images]

    # ---- queries -------------------------------------------------------------------------

    async def fetch_wire(self, tenant_id: int, task_id: str) -> bytes:
        entry = self._cache.get(task_id)
        if entry is None:
            row = await self._store.get_wire(task_id)
            if row is None:
                raise TaskNotFound(f"task {task_id} not found")
            entry = CachedWire(*row)
            self._cache.put(task_id, entry, final=TaskStatus(entry.status).is_final)
        if entry.tenant_id != tenant_id:
            raise TaskNotFound(f"task {task_id} not found")
        return entry.wire

    async def list_by_ids(self, tenant_id: int, ids: object) -> list[bytes]:
        if ids is None:
            return []
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise ValidationFailed("ids: must be a list of task id strings", http_status=400)
        if len(ids) > MAX_LIST_IDS:
            raise ValidationFailed(f"ids: at most {MAX_LIST_IDS} ids per call", http_status=400)
        wanted = list(dict.fromkeys(ids))
        return await self._store.wires_for_tenant(tenant_id, wanted)

    async def list_recent(
        self, tenant_id: int, *, limit: int, offset: int, before: str | None
    ) -> list[tuple[str, bytes]]:
        return await self._store.list_wires(tenant_id, limit=limit, offset=offset, before_id=before)

    async def image_seed(self, tenant_id: int, task_id: str) -> str:
        record = await self._owned(tenant_id, task_id)
        if record.task.status != TaskStatus.SUCCESS:
            raise ValidationFailed(
                f"task {task_id} is {record.task.status.value}; a seed exists once it succeeds"
            )
        engine = self._engines.get(record.engine)
        seed = None if engine is None else await engine.image_seed(task_id, record.engine_state)
        if seed is None:
            raise NotFound(f"task {task_id} has no seed")
        return seed

    async def cancel(self, tenant_id: int, task_id: str) -> None:
        record = await self._owned(tenant_id, task_id)
        if record.task.status.is_final:
            raise ValidationFailed(f"task {task_id} already finished ({record.task.status.value})")
        engine = self._engines.get(record.engine)
        if engine is not None:
            await engine.cancel(task_id)
        await self._lifecycle.apply(
            TaskUpdate(task_id, TaskStatus.CANCEL, fail_reason="cancelled by the client")
        )

    # ---- helpers -------------------------------------------------------------------------

    @staticmethod
    def _inherit(common: Common, parent: TaskRecord) -> Common:
        """An action runs as its parent did unless the request says otherwise."""
        return Common(
            state=common.state,
            notify_hook=common.notify_hook,
            bot_type=common.bot_type or parent.task.bot_type,
            mode=common.mode or parent.task.mode,
            key_id=common.key_id,
            base_url=common.base_url,
        )

    @staticmethod
    def _job_hash_of(parent: TaskRecord) -> str:
        """The job hash in the parent's buttons: the id every engine builds its buttons from."""
        for button in parent.task.buttons:
            try:
                job_hash = parse_custom_id(button.custom_id).job_hash
            except CustomIdError:
                continue
            if job_hash:
                return job_hash
        raise ValidationFailed(f"taskId: task {parent.id} has no video buttons to extend")

    def _optional_prompt(self, prompt: object) -> str:
        """A prompt clients may leave empty (plain animate sends "")."""
        if prompt is None or (isinstance(prompt, str) and not prompt.strip()):
            return ""
        return self._prompt(prompt)

    async def _image_or_url(self, value: object, name: str) -> DecodedImage:
        """An image given as a data URL, bare base64, or an http(s) URL to fetch."""
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            return await self._fetched_image(value, name)
        return self._image(value, name)

    async def _fetched_image(self, url: str, name: str) -> DecodedImage:
        """Fetch ``url`` SSRF-safely and check it is an image within the limits (code 4 if not)."""
        try:
            data = await self._fetcher.fetch(url, purpose=name)
            return inspect_image_bytes(data, field=name, limits=self._limits)
        except ImageInputError as exc:
            raise ValidationFailed(str(exc)) from exc

    @staticmethod
    def _check_common(common: Common) -> None:
        if len(common.state) > MAX_STATE_CHARS:
            raise ValidationFailed(f"state: longer than {MAX_STATE_CHARS} characters")
        if len(common.notify_hook) > MAX_NOTIFY_HOOK_CHARS:
            raise ValidationFailed(f"notifyHook: longer than {MAX_NOTIFY_HOOK_CHARS} characters")

    def _prompt(self, prompt: object) -> str:
        if prompt is None or (isinstance(prompt, str) and not prompt.strip()):
            raise ValidationFailed("prompt: required")
        if not isinstance(prompt, str):
            raise ValidationFailed("prompt: must be a string")
        text = prompt.strip()
        if len(text) > self._task_limits.max_prompt_chars:
            raise ValidationFailed(
                f"prompt: longer than {self._task_limits.max_prompt_chars} characters"
            )
        return text

    def _image(self, value: object, name: str) -> DecodedImage:
        if value in (None, ""):
            raise ValidationFailed(f"{name}: required")
        try:
            return decode_image(value, field=name, limits=self._limits)
        except ImageInputError as exc:
            raise ValidationFailed(str(exc)) from exc

    def _images(self, value: object, name: str, low: int, high: int) -> list[DecodedImage]:
        if value is None and low == 0:
            return []
        try:
            return decode_images(
                value, field=name, min_count=low, max_count=high, limits=self._limits
            )
        except ImageInputError as exc:
            raise ValidationFailed(str(exc)) from exc

    async def _store_image(self, image: DecodedImage) -> str:
        return await self._media.save(image.data, image.ext)

    async def _owned(self, tenant_id: int, task_id: str) -> TaskRecord:
        record = await self._store.get(task_id)
        if record is None or record.tenant_id != tenant_id:
            raise TaskNotFound(f"task {task_id} not found")
        return record

    async def _parent(self, tenant_id: int, task_id: object) -> TaskRecord:
        if not isinstance(task_id, str) or not task_id:
            raise ValidationFailed("taskId: required")
        record = await self._store.get(task_id)
        if record is None or record.tenant_id != tenant_id:
            raise NotFound(f"taskId: related task {task_id} not found")
        if record.task.status != TaskStatus.SUCCESS:
            raise ValidationFailed(
                f"taskId: related task {task_id} is {record.task.status.value}, not SUCCESS"
            )
        return record

    def _bot_type(self, bot_type: str) -> str:
        if bot_type in ("", None):
            return BotType.MID_JOURNEY.value
        if bot_type not in (BotType.MID_JOURNEY.value, BotType.NIJI_JOURNEY.value):
            raise ValidationFailed("botType: must be MID_JOURNEY or NIJI_JOURNEY")
        return bot_type

    async def _create(
        self,
        tenant_id: int,
        action: TaskAction,
        common: Common,
        *,
        prompt: str,
        description: str,
        images: tuple[str, ...] = (),
        dimensions: str = "",
        custom_id: str = "",
        parent: TaskRecord | None = None,
        status: TaskStatus = TaskStatus.NOT_START,
        enable_remix: bool = False,
        mask: str = "",
        video_type: str = "",
        bot_type: str = "",
    ) -> Submitted:
        self._check_common(common)
        # Face swap is not a Midjourney bot job: its bot type is fixed, not the client's choice.
        bot_type = bot_type or self._bot_type(common.bot_type)
        # Actions stay on the parent's channel; new jobs follow the router's plan.
        plan: list[str] | None = None
        if parent is not None:
            engine_name = parent.engine
        else:
            plan = self._dispatcher.plan(common.mode)
            engine_name = plan[0]
        submitter = Submitter(common.key_id, tenant_id, common.notify_hook, common.base_url)
        if self._gate is not None:
            await self._gate.validate(submitter)
        submitted_at = now_ms()
        for _attempt in range(20):
            task_id = new_task_id(submitted_at)
            job = EngineJob(
                task_id=task_id,
                action=action,
                prompt=prompt,
                mode=common.mode,
                bot_type=bot_type,
                custom_id=custom_id,
                parent=None
                if parent is None
                else ParentRef(
                    parent.id, parent.task.action, parent.task.prompt, parent.engine_state
                ),
                images=images,
                dimensions=dimensions,
                enable_remix=enable_remix,
                mask=mask,
                video_type=video_type,
            )
            record = TaskRecord(
                task=Task(
                    id=task_id,
                    action=action,
                    custom_id=custom_id,
                    bot_type=bot_type,
                    prompt=prompt,
                    prompt_en=prompt,
                    description=description,
                    state=common.state,
                    submit_time=submitted_at,
                    status=status,
                    properties={"finalPrompt": prompt, "finalZhPrompt": ""},
                    mode=common.mode,
                ),
                tenant_id=tenant_id,
                engine=engine_name,
                job=job.to_dict(),
                parent_id=None if parent is None else parent.id,
                deadline_ms=submitted_at + int(self._task_limits.task_timeout_seconds * 1000),
            )
            writes = None
            if self._gate is not None:
                writes = await self._gate.enter(
                    submitter, record, charge=status != TaskStatus.MODAL
                )
            try:
                await self._store.insert(record, also=writes)
                break
            except DuplicateTaskId:
                if self._gate is not None:
                    await self._gate.leave(record)
                continue
            except BaseException:
                if self._gate is not None:
                    await self._gate.leave(record)
                raise
        else:
            raise InternalFailure("could not allocate a task id")
        await self._lifecycle.created(record)
        if status == TaskStatus.MODAL:
            return Submitted(
                record.id,
                ReturnCode.EXISTED,
                "Waiting for window confirm",
                {"status": TaskStatus.MODAL.value},
            )
        return await self._dispatch(record, code_when_running=ReturnCode.SUCCESS, plan=plan)

    async def _dispatch(
        self,
        record: TaskRecord,
        *,
        code_when_running: ReturnCode,
        shown: bool = False,
        plan: list[str] | None = None,
    ) -> Submitted:
        """Hand the job to its channel(s); ``shown`` when the client already holds the task id."""
        try:
            admission = await self._dispatcher.dispatch(record, plan)
        except RelayError:
            await self._withdraw(record, shown)
            raise
        except Exception as exc:
            log.exception("engine submit failed", task_id=record.id, engine=record.engine)
            await self._withdraw(record, shown)
            raise InternalFailure("submit failed: the engine raised an error") from exc
        if admission.queued:
            return Submitted(
                record.id,
                ReturnCode.IN_QUEUE,
                f"In queue, there are {admission.queued_ahead} tasks ahead",
                {"numberOfQueues": admission.queued_ahead},
            )
        return Submitted(record.id, code_when_running)

    async def _withdraw(self, record: TaskRecord, shown: bool) -> None:
        """Forget a task the engine refused: the client was told it was not accepted.

        A task the client already knows (a modal it has just submitted) fails instead.
        """
        if shown or record.task.status == TaskStatus.MODAL:
            await self._lifecycle.apply(
                TaskUpdate(record.id, TaskStatus.FAILURE, fail_reason="the engine refused the job")
            )
            return
        if self._gate is not None:
            await self._gate.withdrawn(record)
        await self._store.delete(record.id)
        self._cache.drop(record.id)
        self._dispatcher.forget(record.id)
        log.info("task withdrawn", task_id=record.id)
