"""Sandbox video: the produced files are decoded with PyAV and checked frame by frame."""

from __future__ import annotations

import asyncio
import io
from dataclasses import dataclass
from fractions import Fraction

import av
import pytest
from PIL import Image, ImageChops, ImageDraw, ImageStat
from tests.support.waiting import until

from mjrelay.engines.sandbox_video import (
    EXTEND_SECONDS,
    FPS,
    MAX_EXTENSIONS,
    SECONDS,
    Motion,
    VideoError,
    VideoRenderer,
    VideoRequest,
    VideoType,
    decode_frames,
    extend_video,
    frame_size,
    render_video,
    thumbnail_webp,
)


def pattern(size: tuple[int, int], hue: int = 0) -> Image.Image:
    """Smooth gradients and two large discs: any camera move shows, codec noise hardly does."""
    ramp = Image.linear_gradient("L").resize(size)
    red = ramp.point(lambda v: (v + hue) % 256)
    green = ramp.transpose(Image.Transpose.ROTATE_90).resize(size)
    image = Image.merge("RGB", (red, green, Image.new("L", size, 80)))
    draw = ImageDraw.Draw(image)
    w, h = size
    draw.ellipse((w * 0.2, h * 0.2, w * 0.45, h * 0.45), fill=(250, 250, 250))
    draw.ellipse((w * 0.55, h * 0.6, w * 0.8, h * 0.85), fill=(10, 10, 10))
    return image


def mean_difference(a: Image.Image, b: Image.Image) -> float:
    """Mean absolute per-channel difference (0-255) of 48x48 thumbnails.

    Comparing thumbnails measures how the picture moved, not codec noise on fine edges.
    """

    def small(image: Image.Image) -> Image.Image:
        return image.convert("RGB").resize((48, 48), Image.Resampling.BOX)

    return sum(ImageStat.Stat(ImageChops.difference(small(a), small(b))).mean) / 3


@dataclass(frozen=True)
class Probe:
    codec: str
    pix_fmt: str
    width: int
    height: int
    rate: Fraction
    duration: float
    frames: int


def probe(mp4: bytes) -> Probe:
    with av.open(io.BytesIO(mp4)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(video=0))
        assert stream.duration is not None and stream.time_base is not None
        assert stream.average_rate is not None
        return Probe(
            codec=stream.codec_context.name,
            pix_fmt=str(stream.codec_context.pix_fmt),
            width=stream.codec_context.width,
            height=stream.codec_context.height,
            rate=Fraction(stream.average_rate),
            duration=float(stream.duration * stream.time_base),
            frames=frames,
        )


@pytest.mark.parametrize(
    ("video_type", "source", "expected"),
    [
        (VideoType.SD, (1456, 816), (856, 480)),
        (VideoType.HD, (1456, 816), (1284, 720)),
        (VideoType.SD, (768, 1024), (480, 640)),
        (VideoType.HD, (1024, 1024), (720, 720)),
    ],
)
def test_real_h264_at_24_fps_for_5_seconds(
    video_type: VideoType, source: tuple[int, int], expected: tuple[int, int]
) -> None:
    video = render_video(VideoRequest(pattern(source), Motion.LOW, video_type))
    info = probe(video.mp4)
    assert info.codec == "h264"
    assert info.pix_fmt == "yuv420p"
    assert (info.width, info.height) == expected == (video.width, video.height)
    assert info.rate == FPS
    assert info.frames == SECONDS * FPS == video.frame_count
    assert info.duration == pytest.approx(SECONDS, abs=1 / FPS)
    assert video.duration == SECONDS
    assert video.cost.wall_seconds > 0 and video.cost.cpu_seconds > 0


def test_frame_size_keeps_aspect_with_even_sides() -> None:
    for size in [(1000, 333), (333, 1000), (1, 1), (4000, 10)]:
        for video_type in VideoType:
            width, height = frame_size(size, video_type)
            assert width % 2 == 0 and height % 2 == 0
            assert min(width, height) == video_type.short_side
    assert frame_size((1000, 333), VideoType.SD) == (1442, 480)
    with pytest.raises(VideoError, match="no pixels"):
        frame_size((0, 10), VideoType.SD)


def test_high_motion_moves_visibly_more_than_low() -> None:
    start = pattern((640, 640))
    low = decode_frames(render_video(VideoRequest(start, Motion.LOW)).mp4)
    high = decode_frames(render_video(VideoRequest(start, Motion.HIGH)).mp4)
    # The first frame is the start image in both; by the end the camera has travelled.
    assert mean_difference(low[0], high[0]) < 3
    low_travel = mean_difference(low[0], low[-1])
    high_travel = mean_difference(high[0], high[-1])
    assert low_travel > 3  # low motion still moves
    assert high_travel > 2 * low_travel and high_travel - low_travel > 15


def test_each_video_of_a_batch_moves_its_own_way() -> None:
    start = pattern((480, 480))
    ends = [
        decode_frames(render_video(VideoRequest(start, Motion.HIGH, variant=v)).mp4)[-1]
        for v in (0, 1)
    ]
    assert mean_difference(ends[0], ends[1]) > 10
    with pytest.raises(VideoError, match="variant"):
        render_video(VideoRequest(start, variant=4))


def test_end_frame_and_loop() -> None:
    start, end = pattern((480, 480)), pattern((480, 480), hue=128).rotate(90)
    assert mean_difference(start, end) > 20
    to_end = decode_frames(render_video(VideoRequest(start, Motion.HIGH, end=end)).mp4)
    assert mean_difference(to_end[0], start) < 4
    assert mean_difference(to_end[-1], end) < 4
    middle = to_end[len(to_end) // 2]
    assert mean_difference(middle, start) > 5 and mean_difference(middle, end) > 5

    looped = decode_frames(render_video(VideoRequest(start, Motion.HIGH, loop=True)).mp4)
    assert mean_difference(looped[-1], start) < 4
    assert mean_difference(looped[len(looped) // 2], start) > 10


def test_extend_continues_from_the_last_frame() -> None:
    parent = render_video(VideoRequest(pattern((480, 480)), Motion.HIGH))
    extended = extend_video(parent.mp4, Motion.LOW)
    info = probe(extended.mp4)
    assert info.codec == "h264"
    assert info.frames == (SECONDS + EXTEND_SECONDS) * FPS == extended.frame_count
    assert info.duration == pytest.approx(SECONDS + EXTEND_SECONDS, abs=1 / FPS)
    parent_frames, frames = decode_frames(parent.mp4), decode_frames(extended.mp4)
    # The clip is kept, then continues smoothly from where it ended.
    assert mean_difference(frames[0], parent_frames[0]) < 4
    assert mean_difference(frames[len(parent_frames) - 1], parent_frames[-1]) < 4
    assert mean_difference(frames[len(parent_frames)], parent_frames[-1]) < 6
    assert mean_difference(frames[-1], parent_frames[-1]) > 2


def small_mp4(frame_count: int) -> bytes:
    """An H.264 clip of ``frame_count`` tiny frames, built directly with PyAV."""
    out = io.BytesIO()
    with av.open(out, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        for n in range(frame_count):
            frame = av.VideoFrame.from_image(pattern((64, 64), hue=n))  # type: ignore[no-untyped-call]
            frame.pts = n
            frame.time_base = Fraction(1, FPS)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return out.getvalue()


def test_extend_at_most_four_times() -> None:
    longest = (SECONDS + MAX_EXTENSIONS * EXTEND_SECONDS) * FPS
    last_allowed = extend_video(small_mp4(longest - EXTEND_SECONDS * FPS), Motion.LOW)
    assert last_allowed.frame_count == longest
    with pytest.raises(VideoError, match="at most 4 times"):
        extend_video(last_allowed.mp4, Motion.LOW)
    with pytest.raises(VideoError, match="not a readable video"):
        extend_video(b"not an mp4", Motion.LOW)


def test_thumbnail_is_webp_at_most_640_wide() -> None:
    thumb = Image.open(io.BytesIO(thumbnail_webp(pattern((1284, 720)))))
    assert thumb.format == "WEBP"
    assert thumb.size == (640, 359)
    small = Image.open(io.BytesIO(thumbnail_webp(pattern((480, 480)))))
    assert small.size == (480, 480)


async def test_renderer_caps_concurrent_renders() -> None:
    renderer = VideoRenderer(max_concurrent=1)
    start = pattern((256, 256))
    videos = await asyncio.gather(
        *(renderer.render(VideoRequest(start, Motion.LOW, variant=v)) for v in range(3))
    )
    assert renderer.peak_active == 1
    assert [v.frame_count for v in videos] == [SECONDS * FPS] * 3

    wider = VideoRenderer(max_concurrent=2)
    await asyncio.gather(*(wider.render(VideoRequest(start)) for _ in range(3)))
    assert wider.peak_active == 2


async def test_event_loop_stays_free_while_rendering() -> None:
    """Renders run in a worker thread: the loop keeps serving other work meanwhile."""
    renderer = VideoRenderer(max_concurrent=1)
    render = asyncio.create_task(renderer.render(VideoRequest(pattern((480, 480)), Motion.HIGH)))
    ticks = 0
    while not render.done():
        ticks += 1
        await asyncio.sleep(0)
    await render
    assert ticks > 10
    with pytest.raises(ValueError, match="at least 1"):
        VideoRenderer(max_concurrent=0)


async def test_a_cancelled_render_keeps_its_slot_until_its_thread_ends() -> None:
    renderer = VideoRenderer(max_concurrent=1)
    first = asyncio.create_task(renderer.render(VideoRequest(pattern((480, 480)))))
    await until(lambda: renderer.active == 1)
    first.cancel()
    second = asyncio.create_task(renderer.render(VideoRequest(pattern((256, 256)))))
    with pytest.raises(asyncio.CancelledError):
        await first
    video = await second
    # The cancelled render's thread ran to its end before the next render's thread started.
    assert video.frame_count == SECONDS * FPS
    assert renderer.peak_active == 1
