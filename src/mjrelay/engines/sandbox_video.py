"""Sandbox video: real H.264 MP4s animated from a start image, like Midjourney's V1 video.

A clip is a slow camera move over the start image (zoom and drift; high motion moves several
times further and sways), dissolving into the end frame, or back onto the start image for a
loop, so its last frame is exactly the requested one. Frames are built with Pillow and encoded
by the FFmpeg that ships inside the PyAV wheel (libx264, yuv420p, 24 fps).

Encoding is CPU work measured in seconds, so it never runs on the event loop: every render goes
to a worker thread, x264 is held to one thread, and :class:`VideoRenderer` caps how many renders
run at once. A burst of video jobs thus occupies at most ``max_concurrent`` cores and image
jobs keep being served.
"""

from __future__ import annotations

import asyncio
import io
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction
from functools import partial

import av
from PIL import Image

__all__ = [
    "EXTEND_SECONDS",
    "FPS",
    "MAX_EXTENSIONS",
    "SECONDS",
    "Motion",
    "RenderCost",
    "RenderedVideo",
    "VideoError",
    "VideoRenderer",
    "VideoRequest",
    "VideoType",
    "decode_frames",
    "extend_video",
    "frame_size",
    "render_video",
    "thumbnail_webp",
]

FPS = 24
SECONDS = 5
EXTEND_SECONDS = 4
#: Midjourney allows four extensions of a clip (5 s + 4 × 4 s = 21 s).
MAX_EXTENSIONS = 4
_THUMBNAIL_WIDTH = 640
# Aspect ratios beyond this are clamped: a 1:10 strip would make a useless, huge video.
_MAX_ASPECT = 4.0


class VideoError(ValueError):
    """A request the renderer cannot honour (the message says why)."""


class Motion(StrEnum):
    LOW = "low"
    HIGH = "high"


class VideoType(StrEnum):
    """Midjourney's video qualities; the value is what clients send as ``videoType``."""

    SD = "vid_1.1_i2v_480"
    HD = "vid_1.1_i2v_720"

    @property
    def short_side(self) -> int:
        return 480 if self is VideoType.SD else 720


@dataclass(frozen=True, slots=True)
class _MotionPath:
    """How far the camera travels: zoom gain, drift (fraction of the frame) and sway."""

    zoom: float
    drift: float
    sway: float


_PATHS = {
    Motion.LOW: _MotionPath(zoom=0.05, drift=0.02, sway=0.0),
    Motion.HIGH: _MotionPath(zoom=0.35, drift=0.12, sway=0.05),
}


@dataclass(frozen=True, slots=True)
class VideoRequest:
    """One clip to render. ``variant`` (0-3) gives each video of a batch its own direction."""

    start: Image.Image
    motion: Motion = Motion.LOW
    video_type: VideoType = VideoType.SD
    end: Image.Image | None = None
    loop: bool = False
    variant: int = 0


@dataclass(frozen=True, slots=True)
class RenderCost:
    """What one render cost: wall-clock and CPU seconds of the worker thread."""

    wall_seconds: float
    cpu_seconds: float


@dataclass(frozen=True, slots=True)
class RenderedVideo:
    mp4: bytes
    width: int
    height: int
    frame_count: int
    cost: RenderCost
    first_frame: Image.Image
    last_frame: Image.Image

    @property
    def duration(self) -> float:
        return self.frame_count / FPS


def _even(value: float) -> int:
    return max(2, round(value / 2) * 2)


def frame_size(image_size: tuple[int, int], video_type: VideoType) -> tuple[int, int]:
    """The video's size: the start image's aspect ratio, short side 480/720, both sides even."""
    width, height = image_size
    if width <= 0 or height <= 0:
        raise VideoError(f"start image has no pixels ({width}x{height})")
    aspect = min(max(width / height, 1 / _MAX_ASPECT), _MAX_ASPECT)
    short = video_type.short_side
    if aspect >= 1:
        return _even(short * aspect), short
    return short, _even(short / aspect)


def _cover(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """``image`` scaled and centre-cropped to exactly ``size`` (an end frame of another shape)."""
    image = image.convert("RGB")
    width, height = size
    scale = max(width / image.width, height / image.height)
    scaled = image.resize(
        (max(width, math.ceil(image.width * scale)), max(height, math.ceil(image.height * scale))),
        Image.Resampling.BILINEAR,
    )
    left, top = (scaled.width - width) // 2, (scaled.height - height) // 2
    return scaled.crop((left, top, left + width, top + height))


def _camera(
    image: Image.Image, path: _MotionPath, amount: float, t: float, variant: int
) -> Image.Image:
    """The start image seen by the camera ``amount`` (0-1) of the way along its path."""
    width, height = image.size
    zoom = 1.0 + path.zoom * amount
    angle = math.pi / 2 * variant + 0.6  # each video of a batch drifts its own way
    sway = path.sway * math.sin(2 * math.pi * 2 * t) * amount
    dx = (path.drift * amount * math.cos(angle) + sway) * width
    dy = (path.drift * amount * math.sin(angle)) * height
    box_w, box_h = width / zoom, height / zoom
    # Keep the crop inside the image so no border ever shows.
    cx = min(max(width / 2 + dx, box_w / 2), width - box_w / 2)
    cy = min(max(height / 2 + dy, box_h / 2), height - box_h / 2)
    box = (cx - box_w / 2, cy - box_h / 2, cx + box_w / 2, cy + box_h / 2)
    return image.resize((width, height), Image.Resampling.BILINEAR, box=box)


def _smoothstep(t: float) -> float:
    return t * t * (3 - 2 * t)


def _frames(
    start: Image.Image, end: Image.Image | None, path: _MotionPath, count: int, variant: int
) -> list[Image.Image]:
    """``count`` frames from ``start``: out and back onto ``end`` if given, else onward."""
    frames = []
    for n in range(count):
        t = n / (count - 1) if count > 1 else 1.0
        if end is None:
            frames.append(_camera(start, path, t, t, variant))
            continue
        # Travel out and back (sin) while dissolving, so the last frame is exactly ``end``.
        moved = _camera(start, path, math.sin(math.pi * t), t, variant)
        frames.append(Image.blend(moved, end, _smoothstep(t)))
    return frames


def _encode(frames: list[Image.Image]) -> bytes:
    out = io.BytesIO()
    with av.open(out, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height = frames[0].size
        stream.pix_fmt = "yuv420p"
        stream.time_base = Fraction(1, FPS)
        # One encoder thread: the concurrency cap is then a real cap on cores.
        stream.codec_context.options = {"preset": "veryfast", "crf": "23", "threads": "1"}
        for n, image in enumerate(frames):
            # PyAV's stubs leave from_image/to_image unannotated; both take/return PIL images.
            frame = av.VideoFrame.from_image(image)  # type: ignore[no-untyped-call]
            frame.pts = n
            frame.time_base = Fraction(1, FPS)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return out.getvalue()


def _measured(frames: list[Image.Image], started: tuple[float, float]) -> RenderedVideo:
    mp4 = _encode(frames)
    wall0, cpu0 = started
    cost = RenderCost(time.perf_counter() - wall0, time.thread_time() - cpu0)
    width, height = frames[0].size
    return RenderedVideo(mp4, width, height, len(frames), cost, frames[0], frames[-1])


def render_video(request: VideoRequest) -> RenderedVideo:
    """A 5 s clip at 24 fps from ``request.start`` (blocking: call it in a worker thread)."""
    started = (time.perf_counter(), time.thread_time())
    if not 0 <= request.variant <= 3:
        raise VideoError(f"variant must be 0-3, got {request.variant}")
    size = frame_size(request.start.size, request.video_type)
    start = _cover(request.start, size)
    end = start if request.loop else (_cover(request.end, size) if request.end else None)
    frames = _frames(start, end, _PATHS[request.motion], SECONDS * FPS, request.variant)
    return _measured(frames, started)


def decode_frames(mp4: bytes) -> list[Image.Image]:
    """Every frame of an MP4 as RGB images."""
    try:
        with av.open(io.BytesIO(mp4), mode="r") as container:
            return [frame.to_image() for frame in container.decode(video=0)]  # type: ignore[no-untyped-call]
    except (av.FFmpegError, IndexError) as exc:
        raise VideoError(f"not a readable video: {exc}") from exc


def extend_video(parent_mp4: bytes, motion: Motion, variant: int = 0) -> RenderedVideo:
    """The parent clip followed by ~4 s more that continue from its last frame (blocking)."""
    started = (time.perf_counter(), time.thread_time())
    frames = decode_frames(parent_mp4)
    if not frames:
        raise VideoError("the parent video has no frames")
    max_frames = (SECONDS + MAX_EXTENSIONS * EXTEND_SECONDS) * FPS
    if len(frames) + EXTEND_SECONDS * FPS > max_frames:
        raise VideoError(f"a video can be extended at most {MAX_EXTENSIONS} times")
    # The continuation starts one frame after the parent's last, so nothing repeats.
    more = _frames(frames[-1], None, _PATHS[motion], EXTEND_SECONDS * FPS + 1, variant)[1:]
    return _measured([*frames, *more], started)


def thumbnail_webp(image: Image.Image) -> bytes:
    """A WebP still at most 640 px wide (Midjourney's ``0_<i>_640_N.webp``)."""
    still = image.convert("RGB")
    if still.width > _THUMBNAIL_WIDTH:
        height = max(1, round(still.height * _THUMBNAIL_WIDTH / still.width))
        still = still.resize((_THUMBNAIL_WIDTH, height), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    still.save(out, format="WEBP", quality=80)
    return out.getvalue()


class VideoRenderer:
    """Runs renders in worker threads, at most ``max_concurrent`` at a time."""

    def __init__(self, max_concurrent: int = 1) -> None:
        if max_concurrent < 1:
            raise ValueError("max_concurrent must be at least 1")
        self._slots = asyncio.Semaphore(max_concurrent)
        # Counted inside the worker threads, so they report renders really running.
        self._lock = threading.Lock()
        self.active = 0
        self.peak_active = 0

    async def render(self, request: VideoRequest) -> RenderedVideo:
        async with self._slots:
            return await self._in_thread(partial(render_video, request))

    async def extend(self, parent_mp4: bytes, motion: Motion, variant: int = 0) -> RenderedVideo:
        async with self._slots:
            return await self._in_thread(partial(extend_video, parent_mp4, motion, variant))

    def _counted(self, work: Callable[[], RenderedVideo]) -> RenderedVideo:
        with self._lock:
            self.active += 1
            self.peak_active = max(self.peak_active, self.active)
        try:
            return work()
        finally:
            with self._lock:
                self.active -= 1

    async def _in_thread(self, work: Callable[[], RenderedVideo]) -> RenderedVideo:
        rendering = asyncio.ensure_future(asyncio.to_thread(self._counted, work))
        try:
            return await asyncio.shield(rendering)
        except asyncio.CancelledError:
            # A thread cannot be stopped: keep the slot until it really ends, so a cancelled
            # job's render still counts against the cap.
            await asyncio.wait({rendering})
            raise
