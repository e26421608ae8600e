"""The shortest honest path: imagine, then U1, over real HTTP."""

from __future__ import annotations

import io

import httpx
from PIL import Image
from tests.support.live import wait_for_status


async def test_imagine_then_upscale(client: httpx.AsyncClient) -> None:
    submitted = (await client.post("/mj/submit/imagine", json={"prompt": "a red fox"})).json()
    assert submitted["code"] == 1
    task = await wait_for_status(client, submitted["result"], {"SUCCESS", "FAILURE"})
    assert task["status"] == "SUCCESS"
    assert task["progress"] == "100%"
    u1 = task["buttons"][0]
    assert u1["label"] == "U1"

    grid = await client.get(task["imageUrl"])
    assert grid.status_code == 200
    assert Image.open(io.BytesIO(grid.content)).size == (1024, 1024)

    action = (
        await client.post(
            "/mj/submit/action", json={"taskId": task["id"], "customId": u1["customId"]}
        )
    ).json()
    assert action["code"] == 1
    upscaled = await wait_for_status(client, action["result"], {"SUCCESS", "FAILURE"})
    assert upscaled["status"] == "SUCCESS"
    assert upscaled["action"] == "UPSCALE"
    image = await client.get(upscaled["imageUrl"])
    assert Image.open(io.BytesIO(image.content)).size == (1024, 1024)
