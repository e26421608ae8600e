"""The sandbox engine runs video, editor and face swap jobs end to end (no HTTP)."""

from __future__ import annotations

import io
from pathlib import Path

import av
from PIL import Image, ImageDraw
from tests.engines.test_sandbox_engine import Sink, make_engine, size_of

from mjrelay.domain.buttons import animate_buttons, single_video_buttons, video_batch_buttons
from mjrelay.domain.task import TaskAction, TaskStatus
from mjrelay.domain.updates import TaskUpdate
from mjrelay.engines.base import EngineJob, ParentRef
from mjrelay.engines.sandbox_video import EXTEND_SECONDS, FPS, SECONDS
from mjrelay.media.store import MediaStore


def media_bytes(media: MediaStore, url: str) -> bytes:
    key = media.key_of_url(url)
    assert key is not None, url
    path = media.path_of(key)
    assert path is not None
    return path.read_bytes()


def probe(data: bytes) -> tuple[str, int, int, int]:
    """(codec, width, height, frames) of an MP4."""
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(video=0))
        return stream.codec_context.name, stream.width, stream.height, frames


async def upload(media: MediaStore, size: tuple[int, int], colour: tuple[int, int, int]) -> str:
    image = Image.new("RGB", size, colour)
    ImageDraw.Draw(image).ellipse(
        (size[0] // 4, size[1] // 4, size[0] // 2, size[1] // 2), fill=(255, 255, 255)
    )
    out = io.BytesIO()
    image.save(out, format="PNG")
    return await media.save(out.getvalue(), "png")


def parent_of(task_id: str, action: TaskAction, prompt: str, final: TaskUpdate) -> ParentRef:
    return ParentRef(task_id, action, prompt, final.engine_state)


async def test_video_batch_then_pick_then_extend(tmp_path: Path) -> None:
    engine, media = make_engine(tmp_path)
    sink = Sink()
    await engine.start(sink)
    start = await upload(media, (800, 600), (40, 90, 160))
    prompt = "waves rolling --motion high --bs 2"
    await engine.submit(EngineJob("1700000000000101", TaskAction.VIDEO, prompt, images=(start,)))
    batch = await sink.final("1700000000000101", within=120)
    assert batch.status is TaskStatus.SUCCESS, batch.fail_reason
    job_hash = batch.engine_state["job_hash"]
    assert batch.buttons == video_batch_buttons(job_hash, 2)
    assert batch.video_urls is not None and len(batch.video_urls) == 2
    assert batch.video_url == batch.video_urls[0].url
    assert (batch.video_duration, batch.frame_count) == (SECONDS, SECONDS * FPS)
    for video in batch.video_urls:
        assert probe(media_bytes(media, video.url)) == ("h264", 640, 480, SECONDS * FPS)
        with Image.open(io.BytesIO(media_bytes(media, video.thumbnail))) as thumb:
            assert thumb.format == "WEBP"
    # imageUrl stays a still: the first frame, as a PNG.
    assert batch.image_url is not None and size_of(media, batch.image_url) == (640, 480)
    assert batch.engine_state["render_cpu_seconds"] > 0

    # U2 singles out the second video: same file, now with the Extend buttons.
    parent = parent_of("1700000000000101", TaskAction.VIDEO, prompt, batch)
    u2 = batch.buttons[1].custom_id
    await engine.submit(
        EngineJob("1700000000000102", TaskAction.UPSCALE, "", custom_id=u2, parent=parent)
    )
    single = await sink.final("1700000000000102", within=60)
    assert single.status is TaskStatus.SUCCESS, single.fail_reason
    assert single.video_url == batch.video_urls[1].url
    assert single.buttons == single_video_buttons(single.engine_state["job_hash"])

    # Extend (Low motion) continues it by about 4 s.
    parent = parent_of("1700000000000102", TaskAction.UPSCALE, prompt, single)
    extend = single.buttons[1].custom_id
    await engine.submit(
        EngineJob("1700000000000103", TaskAction.VIDEO_EXTEND, "", custom_id=extend, parent=parent)
    )
    longer = await sink.final("1700000000000103", within=120)
    assert longer.status is TaskStatus.SUCCESS, longer.fail_reason
    frames = (SECONDS + EXTEND_SECONDS) * FPS
    assert longer.frame_count == frames and longer.video_duration == SECONDS + EXTEND_SECONDS
    assert longer.video_url is not None
    assert probe(media_bytes(media, longer.video_url)) == ("h264", 640, 480, frames)
    assert longer.buttons == single_video_buttons(longer.engine_state["job_hash"])
    await engine.stop()


async def test_animate_button_on_an_upscaled_image(tmp_path: Path) -> None:
    engine, media = make_engine(tmp_path)
    sink = Sink()
    await engine.start(sink)
    await engine.submit(EngineJob("1700000000000111", TaskAction.IMAGINE, "a fox --seed 5"))
    grid = await sink.final("1700000000000111")
    assert grid.buttons is not None
    parent = parent_of("1700000000000111", TaskAction.IMAGINE, "a fox --seed 5", grid)
    await engine.submit(
        EngineJob(
            "1700000000000112",
            TaskAction.UPSCALE,
            "",
            custom_id=grid.buttons[0].custom_id,
            parent=parent,
        )
    )
    upscaled = await sink.final("1700000000000112")
    parent = parent_of("1700000000000112", TaskAction.UPSCALE, "a fox --seed 5 --bs 1", upscaled)
    animate_low = animate_buttons(upscaled.engine_state["job_hash"])[1].custom_id
    await engine.submit(
        EngineJob("1700000000000113", TaskAction.VIDEO, "", custom_id=animate_low, parent=parent)
    )
    video = await sink.final("1700000000000113", within=120)
    assert video.status is TaskStatus.SUCCESS, video.fail_reason
    assert video.video_urls is not None and len(video.video_urls) == 1
    assert video.video_url is not None
    # The upscaled image is 1024x1024: a square 480p video.
    assert probe(media_bytes(media, video.video_url)) == ("h264", 480, 480, SECONDS * FPS)
    await engine.stop()


async def test_video_without_a_start_image_fails_clearly(tmp_path: Path) -> None:
    engine, _media = make_engine(tmp_path)
    sink = Sink()
    await engine.start(sink)
    await engine.submit(EngineJob("1700000000000121", TaskAction.VIDEO, "just words"))
    final = await sink.final("1700000000000121")
    assert final.status is TaskStatus.FAILURE
    assert final.fail_reason == "sandbox error: a video needs a start image"
    await engine.stop()


async def test_edit_retexture_and_face_swap(tmp_path: Path) -> None:
    engine, media = make_engine(tmp_path)
    sink = Sink()
    await engine.start(sink)
    source = await upload(media, (800, 600), (200, 60, 60))
    for n, action in enumerate((TaskAction.EDIT, TaskAction.RETEXTURE)):
        task_id = f"170000000000013{n}"
        await engine.submit(EngineJob(task_id, action, "a blue sky", images=(source,)))
        final = await sink.final(task_id)
        assert final.status is TaskStatus.SUCCESS, final.fail_reason
        assert final.image_url is not None and size_of(media, final.image_url) == (1024, 768)
        assert final.image_urls is not None and len(final.image_urls) == 4
        assert final.buttons is not None and [b.label for b in final.buttons][:4] == [
            "U1",
            "U2",
            "U3",
            "U4",
        ]
    face = await upload(media, (300, 300), (230, 200, 160))
    target = await upload(media, (600, 800), (20, 20, 90))
    await engine.submit(
        EngineJob("1700000000000140", TaskAction.SWAP_FACE, "", images=(face, target))
    )
    swapped = await sink.final("1700000000000140")
    assert swapped.status is TaskStatus.SUCCESS, swapped.fail_reason
    assert swapped.image_url is not None and size_of(media, swapped.image_url) == (600, 800)
    await engine.stop()
