"""The modal flow: buttons that open a Midjourney modal, then ``POST /mj/submit/modal``."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from tests.support.wire import (
    button,
    finished,
    image_size,
    imagine_done,
    png_data_url,
    press,
    submit,
)


async def open_modal(
    client: httpx.AsyncClient, task: dict[str, Any], custom_id: str, **extra: Any
) -> dict[str, Any]:
    """Press a modal button: code 21 and a task waiting in MODAL."""
    envelope = await submit(
        client, "/mj/submit/action", {"taskId": task["id"], "customId": custom_id, **extra}
    )
    assert envelope["code"] == 21, envelope
    assert envelope["properties"]["status"] == "MODAL"
    pending: dict[str, Any] = (await client.get(f"/mj/task/{envelope['result']}/fetch")).json()
    assert pending["status"] == "MODAL"
    assert pending["customId"] == custom_id
    assert pending["finishTime"] is None
    return pending


async def upscaled(client: httpx.AsyncClient, prompt: str) -> dict[str, Any]:
    grid = await imagine_done(client, prompt)
    return await press(client, grid, button(grid, label="U1"))


async def test_custom_zoom(client: httpx.AsyncClient) -> None:
    up = await upscaled(client, "a quiet harbour")
    pending = await open_modal(client, up, button(up, label="Custom Zoom"))
    assert pending["action"] == "CUSTOM_ZOOM"

    missing = await submit(
        client, "/mj/submit/modal", {"taskId": pending["id"], "prompt": "a quiet harbour"}
    )
    assert missing["code"] == 4
    assert "prompt" in missing["description"] and "--zoom" in missing["description"]
    too_far = await submit(
        client, "/mj/submit/modal", {"taskId": pending["id"], "prompt": "harbour --zoom 3"}
    )
    assert too_far["code"] == 4 and "--zoom" in too_far["description"]
    # A refused modal leaves the task waiting: the client can fix the prompt.
    still = (await client.get(f"/mj/task/{pending['id']}/fetch")).json()
    assert still["status"] == "MODAL"

    done = await submit(
        client,
        "/mj/submit/modal",
        {"taskId": pending["id"], "prompt": "a quiet harbour at night --zoom 1.5"},
    )
    assert done == {
        "code": 1,
        "description": "Submit success",
        "result": pending["id"],
        "properties": {},
    }
    task = await finished(client, pending["id"])
    assert task["action"] == "CUSTOM_ZOOM"
    assert task["prompt"] == "a quiet harbour at night --zoom 1.5"
    assert task["properties"]["finalPrompt"] == task["prompt"]
    assert await image_size(client, task["imageUrl"]) == (2048, 2048)
    # Once submitted, the modal cannot be submitted again.
    again = await submit(
        client, "/mj/submit/modal", {"taskId": pending["id"], "prompt": "x --zoom 2"}
    )
    assert again["code"] == 4 and "taskId" in again["description"]


async def test_vary_region_needs_a_mask(client: httpx.AsyncClient) -> None:
    up = await upscaled(client, "a red door")
    pending = await open_modal(client, up, button(up, label="Vary (Region)"))
    assert pending["action"] == "INPAINT"

    missing = await submit(client, "/mj/submit/modal", {"taskId": pending["id"]})
    assert missing["code"] == 4 and missing["description"].startswith("maskBase64")
    bad = await submit(
        client, "/mj/submit/modal", {"taskId": pending["id"], "maskBase64": "bm90IGFuIGltYWdl"}
    )
    assert bad["code"] == 4 and bad["description"].startswith("maskBase64")

    mask = png_data_url(256, 256, (255, 255, 255))
    done = await submit(
        client,
        "/mj/submit/modal",
        {"taskId": pending["id"], "maskBase64": mask, "prompt": "a blue door"},
    )
    assert done["code"] == 1
    task = await finished(client, pending["id"])
    assert task["action"] == "INPAINT"
    assert task["prompt"] == "a blue door"
    assert await image_size(client, task["imageUrl"]) == (2048, 2048)


async def test_remix_opens_a_modal_for_a_new_prompt(client: httpx.AsyncClient) -> None:
    grid = await imagine_done(client, "a yellow cat")
    pending = await open_modal(client, grid, button(grid, label="V1"), enableRemix=True)
    assert pending["action"] == "VARIATION"
    done = await submit(
        client, "/mj/submit/modal", {"taskId": pending["id"], "prompt": "a purple cat"}
    )
    assert done["code"] == 1
    task = await finished(client, pending["id"])
    assert task["prompt"] == "a purple cat"
    assert await image_size(client, task["imageUrl"]) == (1024, 1024)
    # Without remix the same button runs straight away.
    plain = await press(client, grid, button(grid, label="V1"), enableRemix=False)
    assert plain["prompt"] == "a yellow cat"
    # Remix does not apply to upscales (nothing to re-prompt): U1 runs straight away.
    up = await press(client, grid, button(grid, label="U1"), enableRemix=True)
    assert up["action"] == "UPSCALE"


async def test_modal_on_a_task_that_is_not_waiting(client: httpx.AsyncClient) -> None:
    grid = await imagine_done(client, "a green fish")
    answer = await submit(client, "/mj/submit/modal", {"taskId": grid["id"], "prompt": "x"})
    assert answer["code"] == 4
    assert "taskId" in answer["description"] and "SUCCESS" in answer["description"]
    unknown = await submit(client, "/mj/submit/modal", {"taskId": "1234567890123456"})
    assert unknown["code"] == 3 and "taskId" in unknown["description"]
    missing = await submit(client, "/mj/submit/modal", {"prompt": "x"})
    assert missing["code"] == 4 and missing["description"].startswith("taskId")


async def test_a_modal_submitted_twice_at_once_runs_once(client: httpx.AsyncClient) -> None:
    grid = await imagine_done(client, "a twin cat")
    pending = await open_modal(client, grid, button(grid, label="V3"), enableRemix=True)
    body = {"taskId": pending["id"], "prompt": "a twin dog"}
    answers = await asyncio.gather(*(submit(client, "/mj/submit/modal", body) for _ in range(4)))
    codes = sorted(answer["code"] for answer in answers)
    assert codes == [1, 4, 4, 4], answers
    task = await finished(client, pending["id"])
    assert task["prompt"] == "a twin dog"
    # Submitted means no longer waiting for the modal, even before the engine reports.
    late = await submit(client, "/mj/submit/modal", body)
    assert late["code"] == 4
