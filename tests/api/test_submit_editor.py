"""``/mj/submit/edits`` (and ``/edit``), ``/mj/submit/retexture`` and ``/mj/insight-face/swap``
end to end on the sandbox, and what a client is told when no channel can run these actions."""

from __future__ import annotations

import base64
import io
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from PIL import Image, ImageChops, ImageStat
from tests.support.fake_upstream import FakeUpstream
from tests.support.upstream_env import relay_for, upstream_channel
from tests.support.wire import (
    button,
    finished,
    image_size,
    imagine_done,
    png_bytes,
    png_data_url,
    submit,
    submit_ok,
)

GRID_LABELS = ["U1", "U2", "U3", "U4", "🔄", "V1", "V2", "V3", "V4"]


async def fetch_image(url: str) -> Image.Image:
    async with httpx.AsyncClient(timeout=30) as anonymous:
        response = await anonymous.get(url)
    assert response.status_code == 200, url
    return Image.open(io.BytesIO(response.content)).convert("RGB")


@pytest.mark.parametrize(
    ("path", "action"),
    [
        ("/mj/submit/edits", "EDIT"),
        ("/mj/submit/edit", "EDIT"),
        ("/mj/submit/retexture", "RETEXTURE"),
        ("/mj-fast/mj/submit/edits", "EDIT"),
    ],
)
async def test_editor_jobs_make_a_grid_from_the_image(
    client: httpx.AsyncClient, path: str, action: str
) -> None:
    body = {"image": png_data_url(80, 80, (20, 160, 60)), "prompt": "make it autumn"}
    task = await finished(client, await submit_ok(client, path, body))
    assert task["action"] == action
    assert [b["label"] or b["emoji"] for b in task["buttons"]] == GRID_LABELS
    assert len(task["imageUrls"]) == 4
    # Its buttons work like any grid's.
    upscaled = await finished(
        client,
        await submit_ok(
            client,
            "/mj/submit/action",
            {"taskId": task["id"], "customId": button(task, label="U1")},
        ),
    )
    assert upscaled["action"] == "UPSCALE"


async def test_edit_accepts_bare_base64_and_a_mask(client: httpx.AsyncClient) -> None:
    raw = base64.b64encode(png_bytes(64, 64, (200, 200, 0))).decode()
    body = {"image": raw, "prompt": "a hat", "maskBase64": png_data_url(64, 64, (255, 255, 255))}
    task = await finished(client, await submit_ok(client, "/mj/submit/edits", body))
    assert task["action"] == "EDIT"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"image": png_data_url()}, "prompt:"),
        ({"prompt": "a hat"}, "image:"),
        ({"prompt": "a hat", "image": "bm90IGFuIGltYWdl"}, "image:"),
        ({"prompt": "a hat", "image": png_data_url(), "maskBase64": "zz"}, "maskBase64:"),
        ({"prompt": "a hat", "image": png_data_url(), "state": "s" * 256}, "state:"),
    ],
)
async def test_bad_editor_requests_answer_code_4(
    client: httpx.AsyncClient, body: dict[str, object], field: str
) -> None:
    answer = await submit(client, "/mj/submit/retexture", body)
    assert answer["code"] == 4, answer
    assert answer["description"].startswith(field), answer


async def test_face_swap_composes_the_two_images(client: httpx.AsyncClient) -> None:
    face, target = png_data_url(64, 64, (240, 200, 170)), png_data_url(128, 96, (10, 40, 200))
    body = {"sourceBase64": face, "targetBase64": target, "state": "swap-1"}
    task = await finished(client, await submit_ok(client, "/mj/insight-face/swap", body))
    assert (task["action"], task["botType"], task["state"]) == (
        "SWAP_FACE",
        "INSIGHT_FACE",
        "swap-1",
    )
    result = await fetch_image(task["imageUrl"])
    plain_target = Image.new("RGB", result.size, (10, 40, 200))
    # Not the target unchanged: the face is on it.
    extrema = ImageStat.Stat(ImageChops.difference(result, plain_target)).extrema
    assert max(high for _low, high in extrema) > 50
    assert await image_size(client, task["imageUrl"]) == result.size


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"targetBase64": png_data_url()}, "sourceBase64:"),
        ({"sourceBase64": png_data_url()}, "targetBase64:"),
        ({"sourceBase64": "nope!", "targetBase64": png_data_url()}, "sourceBase64:"),
    ],
)
async def test_bad_face_swaps_answer_code_4(
    client: httpx.AsyncClient, body: dict[str, object], field: str
) -> None:
    answer = await submit(client, "/mj/insight-face/swap", body)
    assert answer["code"] == 4, answer
    assert answer["description"].startswith(field), answer


@pytest.fixture
async def upstream_only(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """A relay whose only channel is a (fake) upstream, which declines these actions for now."""
    async with (
        FakeUpstream() as fake,
        relay_for(tmp_path / "data", [upstream_channel(fake)]) as live,
        live.client() as http,
    ):
        yield http


@pytest.mark.parametrize(
    ("path", "body", "action"),
    [
        ("/mj/submit/edits", {"image": png_data_url(), "prompt": "a hat"}, "EDIT"),
        ("/mj/submit/retexture", {"image": png_data_url(), "prompt": "chrome"}, "RETEXTURE"),
        (
            "/mj/insight-face/swap",
            {"sourceBase64": png_data_url(), "targetBase64": png_data_url()},
            "SWAP_FACE",
        ),
        ("/mj/submit/video", {"image": png_data_url(), "batchSize": 1}, "VIDEO"),
    ],
)
async def test_when_every_channel_declines_the_client_gets_code_4_naming_the_action(
    upstream_only: httpx.AsyncClient, path: str, body: dict[str, object], action: str
) -> None:
    answer = await submit(upstream_only, path, body)
    assert answer["code"] == 4, answer
    assert answer["description"].startswith(f"action: no channel can run {action}"), answer
    # Nothing was kept: the client was told no.
    listed = await upstream_only.get("/mj/task/list")
    assert all(task["action"] != action for task in listed.json())


async def test_animate_on_an_upstream_image_is_declined_with_code_4(
    upstream_only: httpx.AsyncClient,
) -> None:
    grid = await imagine_done(upstream_only, "a castle")
    upscaled = await finished(
        upstream_only,
        await submit_ok(
            upstream_only,
            "/mj/submit/action",
            {"taskId": grid["id"], "customId": button(grid, label="U1")},
        ),
    )
    answer = await submit(
        upstream_only,
        "/mj/submit/action",
        {"taskId": upscaled["id"], "customId": button(upscaled, label="Animate (High motion)")},
    )
    assert answer["code"] == 4, answer
    assert answer["description"].startswith("action: no channel can run VIDEO"), answer
