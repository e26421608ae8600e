"""Relaying every kind of job through an upstream channel, end to end over real sockets.

The fake upstream is a real HTTP server speaking midjourney-proxy's protocol; the relay runs as a
real server too. Each test checks what the client sees AND what the upstream was asked.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from tests.support.fake_upstream import FakeUpstream
from tests.support.live import LiveRelay, wait_for_status
from tests.support.upstream_env import relay_for, upstream_channel


def png_data_url(colour: tuple[int, int, int] = (200, 30, 30)) -> str:
    out = io.BytesIO()
    Image.new("RGB", (32, 32), colour).save(out, "PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


async def submit(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = (await client.post(path, json=body)).json()
    assert answer["code"] in (1, 21, 22), answer
    return answer  # type: ignore[no-any-return]


async def finished(client: httpx.AsyncClient, task_id: str) -> dict[str, Any]:
    task = await wait_for_status(client, task_id, {"SUCCESS", "FAILURE"})
    assert task["status"] == "SUCCESS", task
    return task


async def uid_of(live: LiveRelay, task_id: str) -> str:
    record = await live.relay.lifecycle.store.get(task_id)
    assert record is not None
    return str(record.engine_state["upstream_id"])


def button(task: dict[str, Any], label: str = "", emoji: str = "", contains: str = "") -> str:
    for item in task["buttons"]:
        if (label and item["label"] == label) or (emoji and item["emoji"] == emoji):
            return str(item["customId"])
        if contains and contains in item["customId"]:
            return str(item["customId"])
    raise AssertionError(f"no button {label or emoji or contains} in {task['buttons']}")


@pytest.fixture
async def fake() -> Any:
    async with FakeUpstream() as server:
        yield server


@pytest.fixture
async def live(fake: FakeUpstream, tmp_path: Path) -> Any:
    async with relay_for(tmp_path / "data", [upstream_channel(fake)]) as relay:
        yield relay


@pytest.fixture
async def client(live: LiveRelay) -> Any:
    async with live.client() as http:
        yield http


async def test_imagine_and_grid_actions(
    fake: FakeUpstream, live: LiveRelay, client: httpx.AsyncClient
) -> None:
    imagine = await submit(client, "/mj-relax/mj/submit/imagine", {"prompt": "a lighthouse"})
    grid = await finished(client, imagine["result"])
    grid_uid = await uid_of(live, grid["id"])
    assert grid["id"] != grid_uid
    sent = fake.calls("/mj/submit/imagine")[0]
    assert sent.body["prompt"] == "a lighthouse"
    assert sent.body["notifyHook"].startswith(live.base_url + "/mj/upstream/notify/")
    assert fake.tasks[grid_uid].get("mode") == "relax"  # the mode prefix went along
    assert len(grid["buttons"]) == 9

    for label, emoji, action in (
        ("U1", "", "UPSCALE"),
        ("V2", "", "VARIATION"),
        ("", "🔄", "REROLL"),
    ):
        custom = button(grid, label=label, emoji=emoji)
        answer = await submit(
            client, "/mj/submit/action", {"taskId": grid["id"], "customId": custom}
        )
        child = await finished(client, answer["result"])
        assert child["action"] == action
        relayed = fake.calls("/mj/submit/action")[-1].body
        assert relayed["taskId"] == grid_uid and relayed["customId"] == custom
        assert fake.tasks[await uid_of(live, child["id"])]["parentId"] == grid_uid

    change = await submit(
        client, "/mj/submit/change", {"taskId": grid["id"], "action": "UPSCALE", "index": 3}
    )
    upscaled = await finished(client, change["result"])
    assert fake.calls("/mj/submit/action")[-1].body["customId"] == button(grid, label="U3")
    simple = await submit(client, "/mj/submit/simple-change", {"content": f"{grid['id']} V4"})
    await finished(client, simple["result"])

    # Buttons under the upscale: vary, zoom, pan; custom zoom and region go through a modal.
    for custom in (
        button(upscaled, label="Vary (Subtle)"),
        button(upscaled, label="Zoom Out 2x"),
        button(upscaled, contains="pan_left"),
    ):
        answer = await submit(
            client, "/mj/submit/action", {"taskId": upscaled["id"], "customId": custom}
        )
        await finished(client, answer["result"])
    zoom = await submit(
        client,
        "/mj/submit/action",
        {"taskId": upscaled["id"], "customId": button(upscaled, "Custom Zoom")},
    )
    assert zoom["code"] == 21
    modal = await submit(
        client, "/mj/submit/modal", {"taskId": zoom["result"], "prompt": "a lighthouse --zoom 1.5"}
    )
    zoomed = await finished(client, modal["result"])
    zoom_uid = await uid_of(live, zoomed["id"])
    assert fake.calls("/mj/submit/modal")[-1].body == {
        "taskId": zoom_uid,
        "prompt": "a lighthouse --zoom 1.5",
    }
    region = await submit(
        client,
        "/mj/submit/action",
        {"taskId": upscaled["id"], "customId": button(upscaled, "Vary (Region)")},
    )
    await submit(
        client,
        "/mj/submit/modal",
        {
            "taskId": region["result"],
            "prompt": "a boat",
            "maskBase64": png_data_url((255, 255, 255)),
        },
    )
    await finished(client, region["result"])
    assert fake.calls("/mj/submit/modal")[-1].body["maskBase64"].startswith("data:image/png")
    assert fake.tasks[await uid_of(live, region["result"])]["mask"] is True

    seed = (await client.get(f"/mj/task/{grid['id']}/image-seed")).json()
    assert seed["code"] == 1 and seed["result"] == "1234567"


async def test_imagine_with_images_blend_describe_shorten(
    fake: FakeUpstream, live: LiveRelay, client: httpx.AsyncClient
) -> None:
    imagine = await submit(
        client, "/mj/submit/imagine", {"prompt": "in this style", "base64Array": [png_data_url()]}
    )
    await finished(client, imagine["result"])
    sent = fake.calls("/mj/submit/imagine")[-1].body
    assert sent["prompt"] == "in this style"  # our own image URL is not sent as text
    assert sent["base64Array"][0].startswith("data:image/png;base64,")

    blend = await submit(
        client,
        "/mj/submit/blend",
        {"base64Array": [png_data_url(), png_data_url((0, 200, 0))], "dimensions": "PORTRAIT"},
    )
    blended = await finished(client, blend["result"])
    assert fake.calls("/mj/submit/blend")[-1].body["dimensions"] == "PORTRAIT"
    assert blended["prompt"] == "blended images --ar 1:1"

    describe = await submit(client, "/mj/submit/describe", {"base64": png_data_url()})
    described = await finished(client, describe["result"])
    assert "a described picture 2" in described["prompt"]
    assert described["properties"]["finalPrompt"] == described["prompt"]
    pick = await submit(
        client,
        "/mj/submit/action",
        {"taskId": described["id"], "customId": button(described, label="2")},
    )
    assert pick["code"] == 21
    modal = await submit(
        client, "/mj/submit/modal", {"taskId": pick["result"], "prompt": "a described picture 2"}
    )
    await finished(client, modal["result"])

    shorten = await submit(client, "/mj/submit/shorten", {"prompt": "a very long prompt"})
    shortened = await finished(client, shorten["result"])
    assert "Shortened prompts" in shortened["properties"]["finalPrompt"]


async def test_upstream_refusals_reach_the_client(
    fake: FakeUpstream, client: httpx.AsyncClient
) -> None:
    banned = (await client.post("/mj/submit/imagine", json={"prompt": "banned thing"})).json()
    assert banned["code"] == 24
    assert banned["properties"]["bannedWord"] == "banned"
    listed = (await client.get("/mj/task/list")).json()
    assert listed == []  # a refused job is not kept
