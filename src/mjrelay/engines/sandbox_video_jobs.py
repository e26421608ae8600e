"""Sandbox video jobs: from an ``EngineJob`` to stored MP4s and the task's final update.

Three kinds of job end here: a new video (``VIDEO``: pressed Animate on an image, or submitted
with a start image), an extension (``VIDEO_EXTEND``: pressed Extend on a single video), and
singling out one video of a batch (``video_virtual_upscale::<i>``, an ``UPSCALE``); a reroll
pressed on a video batch renders the batch again from the same inputs. The video options travel
in the prompt the way the fork writes them for Discord (``--motion high``, ``--end loop``,
``--bs 2``); the resolution is ``EngineJob.video_type`` (Midjourney's prompt has no flag for
it); the second input image, if any, is the end frame.

Renders go through the shared :class:`VideoRenderer`, whose cap keeps video from starving image
jobs; what each render cost is logged and kept in the engine state.
"""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PIL import Image

from mjrelay.core.logging import get_logger
from mjrelay.domain.buttons import single_video_buttons, video_batch_buttons
from mjrelay.domain.custom_id import ButtonKind, CustomId, parse_custom_id
from mjrelay.domain.task import TaskAction, TaskStatus, VideoUrl
from mjrelay.domain.updates import TaskUpdate
from mjrelay.engines.base import EngineJob
from mjrelay.engines.sandbox_video import (
    FPS,
    Motion,
    RenderedVideo,
    VideoRenderer,
    VideoRequest,
    VideoType,
    thumbnail_webp,
)
from mjrelay.media.store import MediaStore

__all__ = ["SandboxVideoJobs", "is_video_job"]

log = get_logger("mjrelay.engines.sandbox_video_jobs")

_MOTION = re.compile(r"--motion\s+(high|low)\b", re.IGNORECASE)
_LOOP = re.compile(r"--end\s+loop\b", re.IGNORECASE)
_BATCH = re.compile(r"--bs\s+(\d+)\b")
# Midjourney's default batch; clients that want fewer send ``--bs 1`` or ``--bs 2``.
_DEFAULT_BATCH = 4


def _custom(job: EngineJob) -> CustomId | None:
    return parse_custom_id(job.custom_id) if job.custom_id else None


def is_video_job(job: EngineJob) -> bool:
    """Whether the job makes or picks videos (and so belongs to :class:`SandboxVideoJobs`)."""
    if job.action in (TaskAction.VIDEO, TaskAction.VIDEO_EXTEND):
        return True
    if _rerolls_a_video(job):
        return True
    custom = _custom(job)
    return custom is not None and custom.kind is ButtonKind.VIDEO_VIRTUAL_UPSCALE


def _rerolls_a_video(job: EngineJob) -> bool:
    return (
        job.action is TaskAction.REROLL
        and job.parent is not None
        and job.parent.action is TaskAction.VIDEO
    )


def _video_type(value: str) -> VideoType:
    """The job's video type; '' (jobs stored before the field existed, Animate presses) is SD."""
    return VideoType(value) if value else VideoType.SD


def _batch_size(prompt: str) -> int:
    match = _BATCH.search(prompt)
    if match is None:
        return _DEFAULT_BATCH
    size = int(match.group(1))
    if size not in (1, 2, 4):
        raise ValueError(f"--bs must be 1, 2 or 4, got {size}")
    return size


def _encode_png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


@dataclass(frozen=True, slots=True)
class _BatchInputs:
    """What a batch was rendered from, kept in its engine state so a reroll can render again."""

    start_key: str
    end_key: str
    motion: Motion
    video_type: VideoType

    def to_dict(self) -> dict[str, str]:
        return {
            "start_key": self.start_key,
            "end_key": self.end_key,
            "motion": self.motion.value,
            "video_type": self.video_type.value,
        }


class SandboxVideoJobs:
    def __init__(
        self,
        media: MediaStore,
        renderer: VideoRenderer,
        load_image: Callable[[str], Image.Image],
    ) -> None:
        self._media = media
        self._renderer = renderer
        # Blocking read of a media key as an image (the engine's, so errors read the same).
        self._load_image = load_image

    async def run(self, job: EngineJob, job_hash: str) -> TaskUpdate:
        custom = _custom(job)
        parent_state = job.parent.engine_state if job.parent else {}
        if custom is not None and custom.kind is ButtonKind.VIDEO_VIRTUAL_UPSCALE:
            return self._pick(job, job_hash, parent_state, custom.index)
        if job.action is TaskAction.VIDEO_EXTEND:
            return await self._extend(job, job_hash, parent_state, custom)
        if _rerolls_a_video(job):
            return await self._reroll(job, job_hash, parent_state)
        return await self._animate(job, job_hash, parent_state, custom)

    async def _reroll(
        self, job: EngineJob, job_hash: str, parent_state: dict[str, Any]
    ) -> TaskUpdate:
        """The parent batch rendered again from the inputs it kept (a batch, not a grid)."""
        inputs = parent_state.get("inputs")
        if not isinstance(inputs, dict) or not inputs.get("start_key"):
            raise ValueError("the parent video keeps no start image to render again")
        prompt = job.prompt or (job.parent.prompt if job.parent else "")
        return await self._render_batch(
            job,
            job_hash,
            prompt,
            _BatchInputs(
                start_key=str(inputs["start_key"]),
                end_key=str(inputs.get("end_key") or ""),
                motion=Motion(str(inputs.get("motion") or Motion.LOW.value)),
                video_type=_video_type(str(inputs.get("video_type") or "")),
            ),
        )

    async def _animate(
        self,
        job: EngineJob,
        job_hash: str,
        parent_state: dict[str, Any],
        custom: CustomId | None,
    ) -> TaskUpdate:
        prompt = job.prompt or (job.parent.prompt if job.parent else "")
        if custom is not None and custom.kind is ButtonKind.ANIMATE:
            start_key, end_key, motion = str(parent_state.get("image_key", "")), "", custom.variant
        elif job.images:
            start_key = job.images[0]
            end_key = job.images[1] if len(job.images) > 1 else ""
            found = _MOTION.search(prompt)
            motion = found.group(1).lower() if found else Motion.LOW.value
        else:
            raise ValueError("a video needs a start image")
        inputs = _BatchInputs(start_key, end_key, Motion(motion), _video_type(job.video_type))
        return await self._render_batch(job, job_hash, prompt, inputs)

    async def _render_batch(
        self, job: EngineJob, job_hash: str, prompt: str, inputs: _BatchInputs
    ) -> TaskUpdate:
        start = await asyncio.to_thread(self._load_image, inputs.start_key)
        end = await asyncio.to_thread(self._load_image, inputs.end_key) if inputs.end_key else None
        loop = _LOOP.search(prompt) is not None
        requests = [
            VideoRequest(
                start, inputs.motion, video_type=inputs.video_type, end=end, loop=loop, variant=v
            )
            for v in range(_batch_size(prompt))
        ]
        videos = await asyncio.gather(*(self._renderer.render(r) for r in requests))
        return await self._finish(job, job_hash, list(videos), prompt, batch=True, inputs=inputs)

    async def _extend(
        self,
        job: EngineJob,
        job_hash: str,
        parent_state: dict[str, Any],
        custom: CustomId | None,
    ) -> TaskUpdate:
        keys = list(parent_state.get("video_keys") or [])
        index = custom.index if custom is not None else 1
        if not 1 <= index <= len(keys):
            raise ValueError(f"the parent task has no video {index} to extend")
        motion = Motion(custom.variant) if custom is not None else Motion.LOW
        parent_mp4 = await self._media.read(str(keys[index - 1]))
        video = await self._renderer.extend(parent_mp4, motion)
        prompt = job.prompt or (job.parent.prompt if job.parent else "")
        return await self._finish(job, job_hash, [video], prompt, batch=False)

    def _pick(
        self, job: EngineJob, job_hash: str, parent_state: dict[str, Any], index: int
    ) -> TaskUpdate:
        """One video of the batch becomes a task of its own: no render, the files are reused."""
        keys = list(parent_state.get("video_keys") or [])
        if not 1 <= index <= len(keys):
            raise ValueError(f"the parent task has no video {index}")
        thumb, still = parent_state["thumb_keys"][index - 1], parent_state["still_keys"][index - 1]
        video = VideoUrl(
            url=self._media.url_of(keys[index - 1]), thumbnail=self._media.url_of(thumb)
        )
        frames = int(parent_state.get("frame_count", 0))
        return TaskUpdate(
            job.task_id,
            TaskStatus.SUCCESS,
            image_url=self._media.url_of(still),
            video_url=video.url,
            video_urls=[video],
            video_duration=frames / FPS,
            frame_count=frames,
            buttons=single_video_buttons(job_hash),
            prompt=job.parent.prompt if job.parent else "",
            engine_state={
                "job_hash": job_hash,
                "video_keys": [keys[index - 1]],
                "thumb_keys": [thumb],
                "still_keys": [still],
                "frame_count": frames,
            },
        )

    async def _finish(
        self,
        job: EngineJob,
        job_hash: str,
        videos: list[RenderedVideo],
        prompt: str,
        *,
        batch: bool,
        inputs: _BatchInputs | None = None,
    ) -> TaskUpdate:
        video_keys, thumb_keys, still_keys = [], [], []
        for video in videos:
            video_keys.append(await self._media.save(video.mp4, "mp4", suffix=job_hash))
            thumb = await asyncio.to_thread(thumbnail_webp, video.first_frame)
            thumb_keys.append(await self._media.save(thumb, "webp", suffix=job_hash))
            still = await asyncio.to_thread(_encode_png, video.first_frame)
            still_keys.append(await self._media.save(still, "png", suffix=job_hash))
        urls = [
            VideoUrl(url=self._media.url_of(v), thumbnail=self._media.url_of(t))
            for v, t in zip(video_keys, thumb_keys, strict=True)
        ]
        wall = sum(v.cost.wall_seconds for v in videos)
        cpu = sum(v.cost.cpu_seconds for v in videos)
        log.info(
            "sandbox video rendered",
            task_id=job.task_id,
            videos=len(videos),
            size=f"{videos[0].width}x{videos[0].height}",
            render_seconds=round(wall, 3),
            render_cpu_seconds=round(cpu, 3),
        )
        frames = videos[0].frame_count
        buttons = (
            video_batch_buttons(job_hash, len(videos)) if batch else single_video_buttons(job_hash)
        )
        state: dict[str, Any] = {
            "job_hash": job_hash,
            "video_keys": video_keys,
            "thumb_keys": thumb_keys,
            "still_keys": still_keys,
            "frame_count": frames,
            "render_seconds": round(wall, 3),
            "render_cpu_seconds": round(cpu, 3),
        }
        if inputs is not None:
            state["inputs"] = inputs.to_dict()
        return TaskUpdate(
            job.task_id,
            TaskStatus.SUCCESS,
            # A still (the first frame) so image-only clients still show something.
            image_url=self._media.url_of(still_keys[0]),
            video_url=urls[0].url,
            video_urls=urls,
            video_duration=frames / FPS,
            frame_count=frames,
            buttons=buttons,
            prompt=prompt,
            prompt_en=prompt,
            properties={"finalPrompt": prompt},
            engine_state=state,
        )
