"""The upstream engine: relays jobs to another ``/mj`` relay (midjourney-proxy and friends).

Clients only ever see our task ids: the upstream's id for a task lives in the task's private
``engine_state["upstream_id"]``, and nothing the upstream says reaches a client unless
``upstream_wire`` lets it through. Status arrives by push (a signed per-task callback URL given
as ``notifyHook``, see ``upstream_push``) and by the polling backstop (``upstream_sync``).
Finished images are mirrored into our media store; an upstream URL is shown only until the
mirror exists, and never when it points at the upstream's own host (that would reveal it).
"""

from __future__ import annotations

import asyncio
import base64
import re
import time
from collections import OrderedDict
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from mjrelay.core.errors import (
    BannedPrompt,
    InternalFailure,
    NotFound,
    QueueFull,
    ReturnCode,
    ValidationFailed,
)
from mjrelay.core.logging import get_logger
from mjrelay.core.urls import configured_url
from mjrelay.domain.channel import ChannelSpec, PendingTask
from mjrelay.domain.task import VIDEO_ACTIONS, WEB_ONLY_ACTIONS, TaskAction, TaskStatus
from mjrelay.engines.base import Admission, Engine, EngineJob, TaskUpdate, UpdateSink
from mjrelay.engines.kinds import EngineContext, EngineKind
from mjrelay.engines.push import TaskLoader
from mjrelay.engines.upstream_client import SubmitAnswer, UpstreamClient, UpstreamError
from mjrelay.engines.upstream_push import CallbackSigner
from mjrelay.engines.upstream_sync import PollSettings, UpstreamPoller
from mjrelay.engines.upstream_wire import Scrubber, UpstreamView, marker_of, read_task
from mjrelay.media.mirror import ImageMirror, MirrorError
from mjrelay.media.store import BASE_URL_MARKER, MediaStore

log = get_logger("mjrelay.engines.upstream")

_MIME = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "webp": "image/webp",
    "gif": "image/gif",
}
_UPSTREAM_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_REMEMBERED = 50_000
MIRROR_RESUME_WINDOW_MS = 24 * 3600 * 1000
# What a background mirror's result requires of the task: that mirror is still the pending one.
MIRROR_PENDING: Final = {"mirror": "pending"}


class UpstreamOptions(BaseModel):
    """Options of an ``engine = "upstream"`` channel."""

    model_config = ConfigDict(extra="forbid")

    base_url: str = Field(description="The upstream relay, e.g. https://relay.example (no /mj).")
    secret: str = Field("", description="Its API key (never logged or shown).")
    auth: Literal["bearer", "mj-api-secret"] = Field(
        "mj-api-secret",
        description="How the secret is sent: the mj-api-secret header or Authorization: Bearer.",
    )
    timeout_seconds: float = Field(
        15.0, gt=0, le=300, description="Seconds one request to the upstream may take."
    )
    mode_prefix: bool = Field(True, description="Send fast/relax/turbo as /mj-<mode>/mj/... paths.")
    push: bool = Field(True, description="Give the upstream a signed notifyHook.")
    callback_secret: str = Field("", description="Signs callback URLs (default: from secret).")
    public_url: str = Field(
        "", description="Our URL as the upstream reaches it (default: public_url)."
    )
    poll_min_seconds: float = Field(
        1.0, gt=0, description="Seconds between fetches of a young job's status."
    )
    poll_max_seconds: float = Field(
        15.0, gt=0, description="Seconds between fetches of an old job's status."
    )
    poll_ramp_seconds: float = Field(
        120.0, ge=0, description="Job age over which polling slows from min to max."
    )
    lost_after_misses: int = Field(
        3, ge=1, description="Fetches answering 'no such task' before the job fails as lost."
    )
    mirror: bool = Field(
        True, description="Copy result images into the relay's storage (upstream URLs expire)."
    )
    mirror_allow_hosts: list[str] = Field(
        default_factory=list,
        description="Extra hosts images may be mirrored from although private (SSRF guard).",
    )
    mirror_max_bytes: int = Field(0, ge=0, description="0 = the relay's max_image_bytes.")

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return configured_url(value, hint="use secret")


def _data_url(media: MediaStore, key: str, data: bytes) -> str:
    ext = key.rsplit(".", 1)[-1].lower()
    return f"data:{_MIME.get(ext, 'image/png')};base64,{base64.b64encode(data).decode()}"


def _strip_relay_urls(prompt: str) -> str:
    """Our own image URLs prefixed to the prompt are sent as base64Array instead."""
    words = prompt.split(" ")
    while words and words[0].startswith(BASE_URL_MARKER):
        words.pop(0)
    return " ".join(words).strip()


class _Recent:
    """A bounded set of recently finished task ids (ignore late duplicates cheaply)."""

    def __init__(self) -> None:
        self._ids: OrderedDict[str, None] = OrderedDict()

    def add(self, task_id: str) -> None:
        self._ids[task_id] = None
        if len(self._ids) > _REMEMBERED:
            self._ids.popitem(last=False)

    def __contains__(self, task_id: str) -> bool:
        return task_id in self._ids


class UpstreamEngine(Engine):
    def __init__(self, spec: ChannelSpec, options: UpstreamOptions, context: EngineContext) -> None:
        self.name = spec.name
        self._options = options
        self._context = context
        self._media = context.media
        defaults = context.defaults
        self._public_url = (options.public_url or defaults.public_url).rstrip("/")
        self._signer = CallbackSigner(spec.name, options.callback_secret or options.secret)
        self._scrub = Scrubber(options.base_url)
        self._client = UpstreamClient(
            options.base_url,
            secret=options.secret,
            auth=options.auth,
            timeout=options.timeout_seconds,
            transport=context.http_transport,
            instance_id=context.instance_id,
        )
        allow = {self._scrub.host, *(h.lower() for h in options.mirror_allow_hosts)}
        self._mirror = ImageMirror(
            context.media,
            max_bytes=options.mirror_max_bytes or defaults.max_image_bytes,
            allow_hosts=frozenset(allow),
            transport=context.http_transport,
        )
        self.poller = UpstreamPoller(
            spec.name,
            self._client,
            context.channel_tasks,
            context.channel_state,
            context.instance_id,
            PollSettings(
                min_seconds=options.poll_min_seconds,
                max_seconds=max(options.poll_max_seconds, options.poll_min_seconds),
                ramp_seconds=options.poll_ramp_seconds,
                lost_after_misses=options.lost_after_misses,
                submit_grace_seconds=defaults.submit_timeout_seconds + 30,
            ),
            on_task=self._on_polled,
            on_lost=self._on_lost,
            on_lease=self._resume_mirrors,
        )
        self._sink: UpdateSink | None = None
        self._poll_task: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[None]] = set()
        self._finished = _Recent()
        self._seen: dict[str, tuple[str, str | None] | None] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._mirroring: set[str] = set()
        if options.push and not self._public_url:
            log.warning(
                "push disabled: no public_url to give the upstream; polling only", channel=self.name
            )

    # ---- Engine protocol ---------------------------------------------------------------------

    async def start(self, sink: UpdateSink) -> None:
        self._sink = sink
        self._poll_task = asyncio.create_task(
            self.poller.run_forever(), name=f"upstream-poll-{self.name}"
        )

    async def stop(self) -> None:
        tasks = [t for t in (self._poll_task, *self._background) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._client.close()
        await self._mirror.close()

    def refusal(self, job: EngineJob) -> str | None:
        """Video and editor jobs are not relayed yet (issue 11, a later step): decline them so
        routing tries a channel that can, instead of failing the submit here."""
        if job.action in VIDEO_ACTIONS or job.action in WEB_ONLY_ACTIONS:
            return f"upstream channel {self.name} does not relay {job.action.value} yet"
        return None

    async def submit(self, job: EngineJob) -> Admission:
        path, body = await self._request_for(job)
        if self._options.push and self._public_url:
            body["notifyHook"] = self._signer.url(self._public_url, job.task_id)
        # The upstream echoes "SUBMITTED" by callback, often before it answers us: expect it.
        self._seen[job.task_id] = (TaskStatus.SUBMITTED.value, None)
        try:
            answer = await self._call(self._path(path, job.mode), body)
        except BaseException:
            self._seen.pop(job.task_id, None)
            raise
        if answer.code == ReturnCode.EXISTED and job.custom_id and answer.result:
            # The upstream opened a modal (remix, custom zoom, region): submit it right away,
            # with the prompt (and mask) our client already gave us.
            modal: dict[str, Any] = {"taskId": answer.result, "prompt": job.prompt}
            if job.mask:
                modal["maskBase64"] = await self._image_data_url(job.mask)
            answer = await self._call(self._path("/mj/submit/modal", job.mode), modal)
        try:
            upstream_id = self._accepted_id(answer)
        except BaseException:
            self._seen.pop(job.task_id, None)
            raise
        queued = answer.code == ReturnCode.IN_QUEUE
        # The upstream's own "SUBMITTED" callback then changes nothing: skip it cheaply.
        self._seen[job.task_id] = (
            TaskStatus.NOT_START.value if queued else TaskStatus.SUBMITTED.value,
            None,
        )
        await self._emit(
            TaskUpdate(
                job.task_id,
                TaskStatus.NOT_START if queued else TaskStatus.SUBMITTED,
                engine_state={"upstream_id": upstream_id, "kind": job.action.value},
            )
        )
        self.poller.wake()
        if queued:
            ahead = answer.properties.get("numberOfQueues")
            return Admission(queued=True, queued_ahead=ahead if isinstance(ahead, int) else 0)
        return Admission()

    async def cancel(self, task_id: str) -> bool:
        # midjourney-proxy has no cancel: forget the job here; late reports are ignored.
        self._finished.add(task_id)
        return True

    async def resume(self, job: EngineJob, engine_state: dict[str, Any]) -> bool:
        # Nothing runs here: the poller (whichever instance holds the lease) picks it up.
        self.poller.wake()
        return True

    async def image_seed(self, task_id: str, engine_state: dict[str, Any]) -> str | None:
        upstream_id = engine_state.get("upstream_id")
        if not upstream_id:
            return None
        try:
            return await self._client.image_seed(str(upstream_id))
        except UpstreamError:
            return None

    # ---- push ---------------------------------------------------------------------------------

    def verify_push(self, task_id: str, signature: str) -> bool:
        return self._signer.verify(task_id, signature)

    async def on_push(self, task_id: str, payload: Any, load: TaskLoader) -> bool:
        """Apply a callback; False when the payload is not about this task."""
        if not isinstance(payload, dict):
            return False
        if task_id in self._finished or self._seen.get(task_id) == marker_of(payload):
            return True  # a repeat: nothing to read or write
        pushed = await load()
        if pushed is None:
            return False
        if pushed.final:
            self._finished.add(task_id)
            return True
        known = pushed.engine_state.get("upstream_id")
        if known and str(payload.get("id")) != str(known):
            return False
        await self._apply(task_id, pushed.action, payload)
        return True

    # ---- submitting ---------------------------------------------------------------------------

    def _path(self, path: str, mode: str) -> str:
        if self._options.mode_prefix and mode in ("fast", "relax", "turbo"):
            return f"/mj-{mode}{path}"
        return path

    async def _image_data_url(self, key: str) -> str:
        return _data_url(self._media, key, await self._media.read(key))

    async def _request_for(self, job: EngineJob) -> tuple[str, dict[str, Any]]:
        images = [await self._image_data_url(key) for key in job.images]
        bot = {"botType": job.bot_type} if job.bot_type else {}
        if job.custom_id:
            parent_uid = job.parent.engine_state.get("upstream_id") if job.parent else None
            if not parent_uid:
                raise NotFound("the parent task is unknown to its channel")
            return "/mj/submit/action", {"taskId": str(parent_uid), "customId": job.custom_id}
        if job.action == TaskAction.IMAGINE:
            body: dict[str, Any] = {"prompt": _strip_relay_urls(job.prompt), **bot}
            if images:
                body["base64Array"] = images
            return "/mj/submit/imagine", body
        if job.action == TaskAction.BLEND:
            return "/mj/submit/blend", {
                "base64Array": images,
                "dimensions": job.dimensions or "SQUARE",
                **bot,
            }
        if job.action == TaskAction.DESCRIBE:
            return "/mj/submit/describe", {"base64": images[0] if images else "", **bot}
        if job.action == TaskAction.SHORTEN:
            return "/mj/submit/shorten", {"prompt": job.prompt, **bot}
        raise ValidationFailed(f"action: {job.action.value} cannot be relayed upstream")

    async def _call(self, path: str, body: dict[str, Any]) -> SubmitAnswer:
        try:
            return await self._client.submit(path, body)
        except UpstreamError as exc:
            raise InternalFailure(f"channel {self.name}: {exc}") from None

    def _accepted_id(self, answer: SubmitAnswer) -> str:
        code = answer.code
        if code in (ReturnCode.SUCCESS, ReturnCode.IN_QUEUE, ReturnCode.EXISTED):
            if answer.result is None or not _UPSTREAM_ID.match(answer.result):
                raise InternalFailure(f"channel {self.name}: the upstream answered no task id")
            return answer.result
        said = self._scrub.text(answer.description)[:200]
        if code == ReturnCode.BANNED_PROMPT:
            props = {k: v for k, v in answer.properties.items() if k in ("promptEn", "bannedWord")}
            raise BannedPrompt(said or "Prompt contains banned words", properties=props)
        if code == ReturnCode.VALIDATION_ERROR:
            raise ValidationFailed(f"the upstream refused the job: {said}")
        if code == ReturnCode.NOT_FOUND:
            raise NotFound(f"channel {self.name}: the upstream answered code 3")
        if code == ReturnCode.QUEUE_REJECTED:
            raise QueueFull(f"channel {self.name}: the upstream queue is full")
        raise InternalFailure(f"channel {self.name}: the upstream answered code {code}")

    # ---- status sync --------------------------------------------------------------------------

    async def _on_polled(self, task: PendingTask, payload: dict[str, Any]) -> None:
        kind = task.engine_state.get("kind", TaskAction.IMAGINE.value)
        try:
            action = TaskAction(kind)
        except ValueError:
            action = TaskAction.IMAGINE
        await self._apply(task.task_id, action, payload)

    async def _on_lost(self, task: PendingTask, reason: str) -> None:
        log.warning("upstream job lost", channel=self.name, task_id=task.task_id)
        await self._emit(TaskUpdate(task.task_id, TaskStatus.FAILURE, fail_reason=reason))

    async def _apply(self, task_id: str, action: TaskAction, payload: dict[str, Any]) -> None:
        if task_id in self._finished:
            return
        view = read_task(
            payload, action=action, base_url=self._options.base_url, scrubber=self._scrub
        )
        if view is None:
            log.warning("unreadable upstream task", channel=self.name, task_id=task_id)
            return
        lock = self._locks.setdefault(task_id, asyncio.Lock())
        async with lock:
            if task_id in self._finished:
                return
            marker = marker_of(payload)
            if self._seen.get(task_id) == marker:
                return  # the same report again (duplicate callback, unchanged poll)
            self._seen[task_id] = marker
            state = {"upstream_id": view.upstream_id}
            if view.status == TaskStatus.SUCCESS:
                await self._succeed(task_id, view, state)
            elif view.status.is_final:
                reason = view.fail_reason or f"the upstream reported {view.status.value}"
                await self._finish(
                    task_id,
                    TaskUpdate(task_id, view.status, fail_reason=reason, engine_state=state),
                )
            else:
                shown = (
                    view.image_url
                    if view.image_url and not self._scrub.hides(view.image_url)
                    else None
                )
                await self._emit(
                    TaskUpdate(
                        task_id,
                        view.status,
                        progress=view.progress,
                        image_url=shown,
                        engine_state=state,
                    )
                )
        if task_id in self._finished:
            self._locks.pop(task_id, None)

    async def _finish(self, task_id: str, update: TaskUpdate) -> None:
        self._finished.add(task_id)
        self._seen.pop(task_id, None)
        await self._emit(update)

    async def _succeed(self, task_id: str, view: UpstreamView, state: dict[str, Any]) -> None:
        urls = [u for u in (view.image_url, *view.image_urls) if u]
        base = TaskUpdate(
            task_id,
            TaskStatus.SUCCESS,
            buttons=view.buttons,
            prompt=view.prompt,
            prompt_en=view.prompt,
            properties=view.properties,
            # Push and polling (maybe on two instances) both see the end: the first report wins,
            # so a late one cannot put the upstream's URLs back over a finished mirror.
            only_if_unfinished=True,
        )
        if not urls or not self._options.mirror:
            await self._finish(task_id, _with(base, view.image_url or None, view.image_urls, state))
            return
        if any(self._scrub.hides(url) for url in urls):
            # Showing these would reveal the upstream: mirror first, then report success.
            mirrored = await self._mirror_urls(task_id, view.image_url, view.image_urls)
            await self._finish(
                task_id,
                _with(
                    base,
                    mirrored[0] if mirrored else "",
                    mirrored[1:] if mirrored else [],
                    {**state, "mirror": "done" if mirrored else "failed"},
                ),
            )
            return
        pending = {
            **state,
            "mirror": "pending",
            "mirror_sources": [view.image_url, *view.image_urls],
        }
        await self._finish(task_id, _with(base, view.image_url or None, view.image_urls, pending))
        self._mirror_in_background(task_id, view.image_url, view.image_urls)

    def _mirror_in_background(self, task_id: str, image_url: str, image_urls: list[str]) -> None:
        job = asyncio.create_task(
            self._mirror_later(task_id, image_url, image_urls), name=f"mirror-{task_id}"
        )
        self._background.add(job)
        job.add_done_callback(self._background.discard)

    async def _resume_mirrors(self) -> None:
        """Finish mirrors a crash interrupted (run by the instance that takes the lease)."""
        since = int(time.time() * 1000) - MIRROR_RESUME_WINDOW_MS
        for task in await self._context.channel_tasks.finished_of(self.name, since):
            sources = task.engine_state.get("mirror_sources")
            if task.engine_state.get("mirror") != "pending" or not isinstance(sources, list):
                continue
            if task.task_id in self._mirroring:
                continue
            log.info("resuming image mirror", channel=self.name, task_id=task.task_id)
            self._mirror_in_background(task.task_id, str(sources[0] or ""), list(sources[1:]))

    async def _mirror_later(self, task_id: str, image_url: str, image_urls: list[str]) -> None:
        self._mirroring.add(task_id)
        try:
            await self._mirror_and_report(task_id, image_url, image_urls)
        finally:
            self._mirroring.discard(task_id)

    async def _mirror_and_report(self, task_id: str, image_url: str, image_urls: list[str]) -> None:
        mirrored = await self._mirror_urls(task_id, image_url, image_urls)
        if not mirrored:
            await self._emit(
                TaskUpdate(
                    task_id,
                    TaskStatus.SUCCESS,
                    engine_state={"mirror": "failed"},
                    requires_state=MIRROR_PENDING,
                )
            )
            return
        await self._emit(
            TaskUpdate(
                task_id,
                TaskStatus.SUCCESS,
                image_url=mirrored[0],
                image_urls=mirrored[1:],
                engine_state={"mirror": "done"},
                # Another instance may have mirrored (and reported) first: its copy stays.
                requires_state=MIRROR_PENDING,
            )
        )

    async def _mirror_urls(self, task_id: str, image_url: str, image_urls: list[str]) -> list[str]:
        """Our URLs for the image then each panel; [] when any download fails (after retries)."""
        started = time.monotonic()
        sources = [u for u in (image_url, *image_urls) if u]
        keys: list[str] = []
        for url in sources:
            for attempt in range(3):
                try:
                    keys.append(await self._mirror.mirror(url))
                    break
                except MirrorError as exc:
                    if attempt == 2:
                        log.warning(
                            "image mirror failed",
                            channel=self.name,
                            task_id=task_id,
                            error=str(exc),
                        )
                        return []
                    await asyncio.sleep(0.2 * (attempt + 1))
        log.info(
            "images mirrored",
            task_id=task_id,
            count=len(keys),
            ms=round((time.monotonic() - started) * 1000),
        )
        mirrored = [self._media.url_of(key) for key in keys]
        if not image_url:
            return ["", *mirrored]
        return mirrored

    async def _emit(self, update: TaskUpdate) -> None:
        if self._sink is not None:
            await self._sink(update)


def _with(
    base: TaskUpdate, image_url: str | None, image_urls: list[str], state: dict[str, Any]
) -> TaskUpdate:
    return TaskUpdate(
        base.task_id,
        base.status,
        image_url=image_url,
        image_urls=image_urls or None,
        buttons=base.buttons,
        prompt=base.prompt,
        prompt_en=base.prompt_en,
        properties=base.properties,
        engine_state=state,
        only_if_unfinished=base.only_if_unfinished,
    )


def upstream_kind() -> EngineKind:
    """``engine = "upstream"``: another /mj relay (see ``UpstreamOptions``)."""

    def build(spec: ChannelSpec, options: Any, context: EngineContext) -> Engine:
        return UpstreamEngine(spec, options, context)

    return EngineKind("upstream", UpstreamOptions, build)


__all__ = ["UpstreamEngine", "UpstreamOptions", "upstream_kind"]
