"""``POST /mj/submit/imagine`` end to end, with and without reference images."""

from __future__ import annotations

import base64

import httpx
from tests.support.live import LiveRelay
from tests.support.wire import finished, image_size, png_bytes, png_data_url, submit_ok


async def test_imagine_gives_a_grid_with_four_panels(client: httpx.AsyncClient) -> None:
    task_id = await submit_ok(
        client, "/mj/submit/imagine", {"prompt": "  a red fox  ", "state": "mine-42"}
    )
    task = await finished(client, task_id)
    assert task["id"] == task_id
    assert task["action"] == "IMAGINE"
    assert task["prompt"] == task["promptEn"] == "a red fox"
    assert task["properties"]["finalPrompt"] == "a red fox"
    assert task["description"] == "/imagine a red fox"
    assert task["state"] == "mine-42"
    assert task["botType"] == "MID_JOURNEY"
    assert task["submitTime"] <= task["startTime"] <= task["finishTime"]
    assert task["failReason"] == ""
    assert [b["label"] or b["emoji"] for b in task["buttons"]] == [
        "U1", "U2", "U3", "U4", "🔄", "V1", "V2", "V3", "V4",
    ]  # fmt: skip
    assert await image_size(client, task["imageUrl"]) == (1024, 1024)
    assert len(task["imageUrls"]) == 4
    for url in task["imageUrls"]:
        assert await image_size(client, url) == (512, 512)


async def test_imagine_aspect_ratio_and_niji(client: httpx.AsyncClient) -> None:
    task_id = await submit_ok(
        client, "/mj/submit/imagine", {"prompt": "a tall tower --ar 2:3", "botType": "NIJI_JOURNEY"}
    )
    task = await finished(client, task_id)
    assert task["botType"] == "NIJI_JOURNEY"
    width, height = await image_size(client, task["imageUrl"])
    assert (width, height) == (2 * 342, 2 * 512)


async def test_imagine_with_reference_images(live: LiveRelay) -> None:
    sent = [png_bytes(40, 30, (10, 200, 10)), png_bytes(20, 20, (10, 10, 200))]
    body = {
        "prompt": "a castle",
        "base64Array": [
            "data:image/png;base64," + base64.b64encode(sent[0]).decode(),
            base64.b64encode(sent[1]).decode(),  # bare base64 is accepted too
        ],
    }
    async with live.client() as client:
        task = await finished(client, await submit_ok(client, "/mj/submit/imagine", body))
    words = task["prompt"].split(" ")
    prefix = f"{live.base_url}/mj/image/"
    assert words[0].startswith(prefix) and words[1].startswith(prefix), task["prompt"]
    assert " ".join(words[2:]) == "a castle"
    assert task["promptEn"] == task["prompt"]
    # The hosted reference images are served without a key, byte for byte what was sent.
    async with httpx.AsyncClient() as anonymous:
        for url, original in zip(words[:2], sent, strict=True):
            response = await anonymous.get(url)
            assert response.status_code == 200
            assert response.content == original
    # The relay's own URLs in the prompt do not change the picture's caption or size.
    async with live.client() as client:
        assert await image_size(client, task["imageUrl"]) == (1024, 1024)


async def test_imagine_with_the_deprecated_single_base64(live: LiveRelay) -> None:
    async with live.client() as client:
        task = await finished(
            client,
            await submit_ok(
                client, "/mj/submit/imagine", {"prompt": "a boat", "base64": png_data_url()}
            ),
        )
    assert task["prompt"].startswith(f"{live.base_url}/mj/image/")
    assert task["prompt"].endswith(" a boat")
