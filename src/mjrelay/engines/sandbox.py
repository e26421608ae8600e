"""The sandbox engine: a local simulated Midjourney account.

It behaves like one Discord account behind midjourney-proxy: ``core_size`` jobs at once,
``queue_size`` waiting (code 22, then 23), a banned-word list (code 24), progress with preview
images, and the exact buttons Midjourney shows. The pictures are rendered locally with Pillow,
deterministically from prompt and seed, so the whole relay can be run and tested offline.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections import deque
from typing import Any

from PIL import Image

from mjrelay.core.errors import BannedPrompt, QueueFull
from mjrelay.core.logging import get_logger
from mjrelay.core.settings import SandboxSettings
from mjrelay.domain.buttons import describe_buttons, grid_buttons, shorten_buttons, upscale_buttons
from mjrelay.domain.channel import ChannelSpec
from mjrelay.domain.custom_id import ButtonKind, CustomId, parse_custom_id
from mjrelay.domain.prompts import keycap, numbered_prompts
from mjrelay.domain.task import Button, TaskAction, TaskStatus
from mjrelay.engines import sandbox_edit as edit
from mjrelay.engines import sandbox_render as render
from mjrelay.engines.base import Admission, Engine, EngineJob, TaskUpdate, UpdateSink
from mjrelay.engines.kinds import EngineContext, EngineKind
from mjrelay.engines.sandbox_video import VideoRenderer
from mjrelay.engines.sandbox_video_jobs import SandboxVideoJobs, is_video_job
from mjrelay.media.store import BASE_URL_MARKER, MediaStore

log = get_logger("mjrelay.engines.sandbox")

_SEED = re.compile(r"--seed\s+(\d{1,10})")
_ZOOM = re.compile(r"--zoom\s+([0-9]*\.?[0-9]+)")
# Reference image URLs that lead a prompt, including relay-hosted ones still carrying the marker.
_LEADING_URLS = re.compile(rf"^(?:(?:\S+://|{re.escape(BASE_URL_MARKER)})\S+\s+)+")


def _seed_for(prompt: str, salt: str) -> int:
    explicit = _SEED.search(prompt)
    if explicit:
        return int(explicit.group(1)) % 4_294_967_296
    digest = hashlib.sha256(f"{prompt}\x00{salt}".encode()).digest()
    return int.from_bytes(digest[:4], "big")


def _job_hash(task_id: str) -> str:
    """The job's uuid-shaped hash, stable per task (so a resumed job gets the same buttons)."""
    digest = hashlib.sha256(f"job:{task_id}".encode()).hexdigest()
    return "-".join(
        (digest[:8], digest[8:12], "4" + digest[13:16], "a" + digest[17:20], digest[20:32])
    )


# Renders of one video at a time per sandbox: a video costs seconds of CPU (see
# engines/sandbox_video.py), and image jobs must keep their share of the cores.
_CONCURRENT_VIDEO_RENDERS = 1


def banned_word_in(prompt: str, banned: list[str]) -> str | None:
    """The first banned word that stands as a whole word in ``prompt`` (case-insensitive)."""
    for word in banned:
        if word and re.search(rf"\b{re.escape(word)}\b", prompt, flags=re.IGNORECASE):
            return word
    return None


class SandboxEngine(Engine):
    name = "sandbox"

    def __init__(self, settings: SandboxSettings, media: MediaStore, *, name: str = "") -> None:
        if name:
            self.name = name  # one sandbox per channel; the class default names the implicit one
        self._settings = settings
        self._media = media
        self._sink: UpdateSink | None = None
        self._waiting: deque[EngineJob] = deque()
        self._running: dict[str, asyncio.Task[None]] = {}
        self._videos = SandboxVideoJobs(
            media, VideoRenderer(_CONCURRENT_VIDEO_RENDERS), self._load_key
        )

    async def start(self, sink: UpdateSink) -> None:
        self._sink = sink

    async def stop(self) -> None:
        self._waiting.clear()
        running = list(self._running.values())
        for job_task in running:
            job_task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        self._running.clear()

    async def submit(self, job: EngineJob) -> Admission:
        if job.action in (TaskAction.IMAGINE, TaskAction.SHORTEN):
            banned = banned_word_in(job.prompt, self._settings.banned_words)
            if banned is not None:
                raise BannedPrompt(
                    f"Prompt contains the banned word '{banned}'",
                    properties={"promptEn": job.prompt, "bannedWord": banned},
                )
        return self._admit(job, force=False)

    async def resume(self, job: EngineJob, engine_state: dict[str, Any]) -> bool:
        # A simulated job has no remote side: running it again gives the same pictures.
        self._admit(job, force=True)
        return True

    async def cancel(self, task_id: str) -> bool:
        for job in list(self._waiting):
            if job.task_id == task_id:
                self._waiting.remove(job)
                return True
        running = self._running.get(task_id)
        if running is None:
            return False
        running.cancel()
        return True

    async def image_seed(self, task_id: str, engine_state: dict[str, Any]) -> str | None:
        seed = engine_state.get("seed")
        return None if seed is None else str(seed)

    @property
    def load(self) -> tuple[int, int]:
        return len(self._running), len(self._waiting)

    def _admit(self, job: EngineJob, *, force: bool) -> Admission:
        if len(self._running) < self._settings.core_size:
            self._launch(job)
            return Admission()
        if not force and len(self._waiting) >= self._settings.queue_size:
            raise QueueFull("Queue is full, please try again later")
        ahead = len(self._waiting)
        self._waiting.append(job)
        return Admission(queued=True, queued_ahead=ahead)

    def _launch(self, job: EngineJob) -> None:
        self._running[job.task_id] = asyncio.create_task(
            self._run(job), name=f"sandbox-{job.task_id}"
        )

    def _next(self, finished_id: str) -> None:
        self._running.pop(finished_id, None)
        while self._waiting and len(self._running) < self._settings.core_size:
            self._launch(self._waiting.popleft())

    async def _emit(self, update: TaskUpdate) -> None:
        if self._sink is not None:
            await self._sink(update)

    async def _run(self, job: EngineJob) -> None:
        try:
            await self._work(job)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a render bug must fail the task, not hang it
            log.exception("sandbox job failed", task_id=job.task_id)
            # Our own ValueErrors are written for clients; OS errors would show server paths.
            detail = str(exc) if isinstance(exc, ValueError) else type(exc).__name__
            self._next(job.task_id)
            await self._emit(
                TaskUpdate(job.task_id, TaskStatus.FAILURE, fail_reason=f"sandbox error: {detail}")
            )
        finally:
            self._next(job.task_id)

    async def _work(self, job: EngineJob) -> None:
        steps = self._settings.progress_steps
        pause = self._settings.job_seconds / (steps + 2)
        await self._emit(TaskUpdate(job.task_id, TaskStatus.SUBMITTED))
        await asyncio.sleep(pause)
        await self._emit(TaskUpdate(job.task_id, TaskStatus.IN_PROGRESS, progress="0%"))
        if is_video_job(job):
            final = await self._videos.run(job, _job_hash(job.task_id))
            self._next(job.task_id)
            await self._emit(final)
            return
        result = await asyncio.to_thread(self._render, job)
        for step in range(1, steps + 1):
            await asyncio.sleep(pause)
            percent = min(99, round(100 * step / (steps + 1)))
            preview_url = image_url = None
            if result.grid is not None:
                preview = await asyncio.to_thread(self._encode_preview, result.grid, percent)
                preview_url = self._media.url_of(await self._media.save(preview, "png"))
                image_url = preview_url
            await self._emit(
                TaskUpdate(
                    job.task_id,
                    TaskStatus.IN_PROGRESS,
                    progress=f"{percent}%",
                    image_url=image_url,
                )
            )
        await asyncio.sleep(pause)
        final = await self._finish(job, result)
        # Free the slot before the client can see SUCCESS: a submit made the moment it does must
        # find the slot free (``_next`` runs again in ``_run``'s finally; that is harmless).
        self._next(job.task_id)
        await self._emit(final)

    @staticmethod
    def _encode_preview(grid: Image.Image, percent: int) -> bytes:
        return render.encode_png(render.render_preview(grid, percent))

    async def _finish(self, job: EngineJob, result: _Rendered) -> TaskUpdate:
        state: dict[str, Any] = {"seed": result.seed, "job_hash": result.job_hash}
        image_url = ""
        image_urls: list[str] = []
        if result.grid is not None:
            key = await self._media.save(
                render.encode_png(result.grid), "png", suffix=result.job_hash
            )
            image_url = self._media.url_of(key)
            state["image_key"] = key
            panel_keys = [
                await self._media.save(render.encode_png(panel), "png", suffix=result.job_hash)
                for panel in result.panels
            ]
            state["panel_keys"] = panel_keys
            image_urls = [self._media.url_of(panel_key) for panel_key in panel_keys]
        elif result.source_key:
            image_url = self._media.url_of(result.source_key)
        if result.texts:
            state["prompts"] = result.texts
        return TaskUpdate(
            job.task_id,
            TaskStatus.SUCCESS,
            image_url=image_url,
            image_urls=image_urls,
            buttons=result.buttons,
            prompt=result.prompt,
            prompt_en=result.prompt,
            properties={"finalPrompt": result.final_prompt},
            engine_state=state,
        )

    # Rendering runs in a worker thread: it is CPU work and must not stall the event loop.
    def _render(self, job: EngineJob) -> _Rendered:
        job_hash = _job_hash(job.task_id)
        custom = parse_custom_id(job.custom_id) if job.custom_id else None
        parent_state = job.parent.engine_state if job.parent else {}
        prompt = job.prompt or (job.parent.prompt if job.parent else "")
        reads_parent_prompts = custom is not None and custom.kind in (
            ButtonKind.PIC_READER,
            ButtonKind.PROMPT_ANALYZER,
        )
        if custom is not None and reads_parent_prompts and not job.prompt:
            prompts = parent_state.get("prompts") or [""]
            prompt = prompts[min(custom.index, len(prompts)) - 1]
        seed = _seed_for(prompt, job.task_id)
        text = _LEADING_URLS.sub("", prompt)
        aspect = render.parse_aspect(text)

        if job.action == TaskAction.DESCRIBE:
            source = self._load_key(job.images[0])
            prompts = render.describe_image(source)
            final = "\n\n".join(prompts)
            return _Rendered(
                job_hash,
                seed,
                None,
                [],
                describe_buttons(),
                final,
                final,
                texts=numbered_prompts(final),
                source_key=job.images[0],
            )
        if job.action == TaskAction.SHORTEN:
            tokens, shortened = render.shorten_prompt(text)
            numbered = "\n\n".join(
                f"{keycap(n)} {line}" for n, line in enumerate(shortened, start=1)
            )
            final = f"## Important tokens\n{', '.join(tokens)}\n\n## Shortened prompts\n{numbered}"
            return _Rendered(
                job_hash, seed, None, [], shorten_buttons(), prompt, final, texts=shortened
            )
        if job.action == TaskAction.SWAP_FACE:
            if len(job.images) != 2:
                raise ValueError("face swap needs a source (face) and a target image")
            face, target = (self._load_key(key) for key in job.images)
            image = edit.render_face_swap(face, target)
            return _Rendered(job_hash, seed, image, [], [], prompt, prompt, single=True)
        if job.action == TaskAction.UPSCALE and custom is not None:
            if custom.kind == ButtonKind.UPSAMPLE:
                image = render.render_upscale(
                    text, int(parent_state.get("seed", seed)), custom.index, aspect=aspect
                )
            else:
                source = self._parent_image(parent_state)
                image = source.resize(
                    (source.width * 2, source.height * 2), Image.Resampling.LANCZOS
                )
            return _Rendered(
                job_hash, seed, image, [], upscale_buttons(job_hash), prompt, prompt, single=True
            )

        panels = self._panels(job, custom, text, seed, aspect, parent_state)
        grid = render.compose_grid(panels)
        return _Rendered(job_hash, seed, grid, panels, grid_buttons(job_hash), prompt, prompt)

    def _panels(
        self,
        job: EngineJob,
        custom: CustomId | None,
        text: str,
        seed: int,
        aspect: tuple[int, int],
        parent_state: dict[str, Any],
    ) -> list[Image.Image]:
        if job.action == TaskAction.BLEND:
            sources = [self._load_key(key) for key in job.images]
            return render.render_blend(sources, job.dimensions or "SQUARE", seed)
        if job.action in (TaskAction.EDIT, TaskAction.RETEXTURE):
            if not job.images:
                raise ValueError(f"{job.action.value} needs an input image")
            source = self._load_key(job.images[0])
            if job.action == TaskAction.EDIT:
                return edit.edit_panels(source, text)
            return edit.retexture_panels(source, text)
        if custom is None or job.action in (TaskAction.IMAGINE, TaskAction.REROLL):
            return render.render_panels(text, seed, aspect=aspect)
        if custom.kind == ButtonKind.VARIATION:
            source = self._parent_panel(parent_state, custom.index)
            return render.render_variation(source, text, seed, 0.6)
        source = self._parent_image(parent_state)
        if custom.kind in (ButtonKind.LOW_VARIATION, ButtonKind.HIGH_VARIATION):
            strength = 0.3 if custom.kind == ButtonKind.LOW_VARIATION else 1.0
            return render.render_variation(source, text, seed, strength)
        if custom.kind == ButtonKind.OUTPAINT:
            return render.render_zoom_out(
                source, 2.0 if custom.variant == "50" else 1.5, text, seed
            )
        if custom.kind == ButtonKind.CUSTOM_ZOOM:
            match = _ZOOM.search(job.prompt)
            factor = min(2.0, max(1.0, float(match.group(1)))) if match else 2.0
            return render.render_zoom_out(source, factor, text, seed)
        if custom.kind == ButtonKind.PAN:
            return render.render_pan(source, custom.variant, text, seed)
        if custom.kind == ButtonKind.INPAINT:
            mask = self._load_key(job.mask).convert("L").resize(source.size) if job.mask else None
            panels = render.render_variation(source, text, seed, 0.9)
            if mask is None:
                return panels
            return [Image.composite(panel.resize(source.size), source, mask) for panel in panels]
        return render.render_panels(text, seed, aspect=aspect)

    def _load_key(self, key: str) -> Image.Image:
        if not self._media.is_valid_key(key):
            raise ValueError(f"missing input image {key!r}")
        # Runs in the render worker thread: a blocking read (file or S3) keeps the loop free.
        return render.load_image(self._media.read_blocking(key))

    def _parent_image(self, parent_state: dict[str, Any]) -> Image.Image:
        return self._load_key(str(parent_state.get("image_key", "")))

    def _parent_panel(self, parent_state: dict[str, Any], index: int) -> Image.Image:
        keys = parent_state.get("panel_keys") or []
        if 1 <= index <= len(keys):
            return self._load_key(str(keys[index - 1]))
        return self._parent_image(parent_state)


def sandbox_kind() -> EngineKind:
    """``engine = "sandbox"``: options are ``[sandbox]`` settings overridden per channel."""

    def build(spec: ChannelSpec, options: Any, context: EngineContext) -> Engine:
        merged = SandboxSettings.model_validate(
            {**context.defaults.sandbox.model_dump(), **spec.options}
        )
        return SandboxEngine(merged, context.media, name=spec.name)

    return EngineKind("sandbox", SandboxSettings, build)


class _Rendered:
    """The outcome of a render, before its images are stored."""

    def __init__(
        self,
        job_hash: str,
        seed: int,
        grid: Image.Image | None,
        panels: list[Image.Image],
        buttons: list[Button],
        prompt: str,
        final_prompt: str,
        *,
        texts: list[str] | None = None,
        source_key: str = "",
        single: bool = False,
    ) -> None:
        self.job_hash = job_hash
        self.seed = seed
        self.grid = grid
        self.panels = [] if single else panels
        self.buttons = buttons
        self.prompt = prompt
        self.final_prompt = final_prompt
        self.texts = texts or []
        self.source_key = source_key
