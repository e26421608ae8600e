"""``POST /mj/submit/video`` and the video buttons, end to end through a live relay on the sandbox.

Videos are real H.264 MP4s: each test that finishes one downloads it from ``/mj/image/...`` and
decodes it with PyAV, so what a client plays is what is asserted.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

import av
import httpx
import pytest
from PIL import Image, ImageChops, ImageDraw, ImageStat
from tests.support.settings import fast_settings
from tests.support.wire import button, finished, imagine_done, press, submit, submit_ok

from mjrelay.core.settings import SandboxSettings, Settings

FPS = 24


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return fast_settings(
        tmp_path / "data",
        sandbox=SandboxSettings(job_seconds=0.05, progress_steps=1, core_size=8, queue_size=16),
    )


def start_image(size: tuple[int, int] = (96, 64)) -> bytes:
    """A picture with a shape on it, so the camera's motion changes the frames."""
    image = Image.new("RGB", size, (30, 90, 160))
    ImageDraw.Draw(image).ellipse((size[0] // 4, size[1] // 4, size[0] // 2, size[1] // 2), "white")
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def data_url(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode()


async def download(url: str) -> httpx.Response:
    assert url.startswith("http://127.0.0.1:"), url
    async with httpx.AsyncClient(timeout=30) as anonymous:
        response = await anonymous.get(url)
    assert response.status_code == 200, url
    return response


async def probe_video(url: str) -> tuple[str, float, float, int, int, int]:
    """(codec, duration s, fps, width, height, frames) of the mp4 the relay serves at ``url``."""
    response = await download(url)
    assert response.headers["content-type"] == "video/mp4"
    with av.open(io.BytesIO(response.content)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(video=0))
        rate = float(stream.average_rate or 0)
        return (
            stream.codec_context.name,
            frames / rate,
            rate,
            stream.width,
            stream.height,
            frames,
        )


async def still_size(url: str) -> tuple[int, int]:
    response = await download(url)
    assert response.headers["content-type"].startswith("image/")
    with Image.open(io.BytesIO(response.content)) as image:
        return image.size


async def video_done(client: httpx.AsyncClient, body: dict[str, Any], path: str = "") -> Any:
    return await finished(client, await submit_ok(client, path or "/mj/submit/video", body))


def labels(task: dict[str, Any]) -> list[str]:
    return [b["label"] or b["emoji"] for b in task["buttons"]]


async def test_a_new_video_batch_is_served_as_mp4s_with_a_still(
    client: httpx.AsyncClient,
) -> None:
    task = await video_done(
        client,
        {"image": data_url(start_image()), "prompt": "", "motion": "High", "batchSize": 2},
    )
    assert task["action"] == "VIDEO"
    assert task["videoDuration"] == 5.0
    assert task["frameCount"] == 5 * FPS
    assert len(task["videoUrls"]) == 2
    assert task["videoUrl"] == task["videoUrls"][0]["url"]
    assert {"url", "thumbnail"} == set(task["videoUrls"][0])
    assert "--motion high" in task["prompt"] and "--bs 2" in task["prompt"]
    codec, duration, rate, width, height, frames = await probe_video(task["videoUrl"])
    assert (codec, rate, frames) == ("h264", 24.0, 120)
    assert duration == pytest.approx(5.0)
    assert (width, height) == (720, 480)  # SD: short side 480, the start image's 3:2
    # imageUrl stays a still: the first frame, so image-only clients show something.
    assert await still_size(task["imageUrl"]) == (720, 480)
    thumbnail = await download(task["videoUrls"][1]["thumbnail"])
    assert thumbnail.headers["content-type"] == "image/webp"
    assert labels(task) == ["U1", "U2", "🔄"]


async def test_hd_reaches_the_renderer(client: httpx.AsyncClient) -> None:
    raw = base64.b64encode(start_image((64, 64))).decode()  # bare base64, under its alias
    task = await video_done(
        client, {"base64": raw, "videoType": "vid_1.1_i2v_720", "batchSize": 1, "mode": "FAST"}
    )
    _codec, _duration, _rate, width, height, _frames = await probe_video(task["videoUrl"])
    assert (width, height) == (720, 720)


async def test_loop_ends_on_the_start_frame(client: httpx.AsyncClient) -> None:
    task = await video_done(
        client, {"image": data_url(start_image()), "loop": True, "batchSize": 1}
    )
    assert "--end loop" in task["prompt"]
    response = await download(task["videoUrl"])
    with av.open(io.BytesIO(response.content)) as container:
        frames = [frame.to_image() for frame in container.decode(video=0)]
    first, last = frames[0].convert("L"), frames[-1].convert("L")
    middle = frames[len(frames) // 2].convert("L")

    def distance(a: Image.Image, b: Image.Image) -> float:
        return float(ImageStat.Stat(ImageChops.difference(a, b)).mean[0])

    assert distance(first, last) < distance(first, middle)


async def test_extend_through_the_video_route_and_the_buttons(client: httpx.AsyncClient) -> None:
    batch = await video_done(client, {"image": data_url(start_image()), "batchSize": 2})
    # Pick one video of the batch (what public clients press), then extend it by button.
    single = await press(client, batch, button(batch, label="U2"))
    assert single["action"] == "UPSCALE"
    assert single["videoUrl"] == batch["videoUrls"][1]["url"]
    assert labels(single) == ["Extend (High motion)", "Extend (Low motion)"]
    extended = await press(client, single, button(single, label="Extend (High motion)"))
    assert extended["action"] == "VIDEO_EXTEND"
    *_rest, frames = await probe_video(extended["videoUrl"])
    assert frames == (5 + 4) * FPS
    # The same through /mj/submit/video with action extend (the gateway's only way), 0-based.
    by_route = await video_done(
        client, {"action": "extend", "taskId": batch["id"], "index": 0, "motion": "LOW"}
    )
    assert by_route["action"] == "VIDEO_EXTEND"
    assert by_route["videoDuration"] == 9.0
    # /mj/submit/change UPSCALE on a video batch singles out a video too.
    changed = await finished(
        client,
        await submit_ok(
            client, "/mj/submit/change", {"taskId": batch["id"], "action": "UPSCALE", "index": 1}
        ),
    )
    assert changed["videoUrl"] == batch["videoUrls"][0]["url"]


async def test_animate_and_reroll_make_video_batches(client: httpx.AsyncClient) -> None:
    grid = await imagine_done(client, "a sailing boat")
    upscaled = await press(client, grid, button(grid, label="U1"))
    video = await press(
        client, upscaled, button(upscaled, label="Animate (Low motion)"), state="s1"
    )
    assert video["action"] == "VIDEO"
    assert len(video["videoUrls"]) == 4
    rerolled = await press(client, video, button(video, contains="reroll"))
    assert rerolled["action"] == "REROLL"
    assert len(rerolled["videoUrls"]) == 4  # a video batch again, not an image grid
    codec, *_rest = await probe_video(rerolled["videoUrl"])
    assert codec == "h264"


async def test_mode_prefixes_serve_the_video_route(client: httpx.AsyncClient) -> None:
    task = await video_done(
        client, {"image": data_url(start_image()), "batchSize": 1}, "/mj-relax/mj/submit/video"
    )
    assert task["mode"] == "relax"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"image": "IMAGE", "motion": "medium"}, "motion:"),
        ({"image": "IMAGE", "batchSize": 3}, "batchSize:"),
        ({"image": "IMAGE", "batchSize": "4"}, "batchSize:"),
        ({"image": "IMAGE", "videoType": "vid_2_1080"}, "videoType:"),
        ({"prompt": "no image"}, "image:"),
        ({"image": "bm90IGFuIGltYWdl"}, "image:"),  # base64 of "not an image"
        ({"image": "IMAGE", "loop": "yes"}, "loop:"),
        ({"image": "IMAGE", "state": "s" * 256}, "state:"),
        ({"image": "IMAGE", "notifyHook": "http://x/" + "a" * 2000}, "notifyHook:"),
        ({"image": "IMAGE", "taskId": "123"}, "taskId:"),
        ({"action": "extend"}, "taskId:"),
        ({"action": "sideways", "image": "IMAGE"}, "action:"),
    ],
)
async def test_bad_video_requests_answer_code_4_naming_the_field(
    client: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    if body.get("image") == "IMAGE":
        body = {**body, "image": data_url(start_image())}
    answer = await submit(client, "/mj/submit/video", body)
    assert answer["code"] == 4, answer
    assert answer["description"].startswith(field), answer


async def test_extend_parents_are_checked(client: httpx.AsyncClient) -> None:
    unknown = await submit(
        client, "/mj/submit/video", {"action": "extend", "taskId": "1234567890123456"}
    )
    assert unknown["code"] == 3
    image_task = await imagine_done(client, "a still life")
    not_video = await submit(
        client, "/mj/submit/video", {"action": "extend", "taskId": image_task["id"], "index": 0}
    )
    assert not_video["code"] == 4
    assert "not a finished video" in not_video["description"]
    batch = await video_done(client, {"image": data_url(start_image()), "batchSize": 1})
    out_of_range = await submit(
        client, "/mj/submit/video", {"action": "extend", "taskId": batch["id"], "index": 3}
    )
    assert out_of_range["code"] == 4
    assert out_of_range["description"].startswith("index:")


async def test_list_by_ids(client: httpx.AsyncClient) -> None:
    task = await imagine_done(client, "a lighthouse")
    response = await client.post("/mj/task/list-by-ids", json={"ids": [task["id"], "404"]})
    assert response.status_code == 200
    assert [t["id"] for t in response.json()] == [task["id"]]
