"""Small helpers for end-to-end tests of the ``/mj`` wire API: images to send, submits, images."""

from __future__ import annotations

import base64
import io
import json
from functools import cache
from typing import Any

import httpx
from PIL import Image

from tests.support.live import wait_for_status
from tests.support.settings import SEED_EXAMPLE

FINAL = {"SUCCESS", "FAILURE", "CANCEL"}


def png_bytes(
    width: int = 64, height: int = 48, color: tuple[int, int, int] = (200, 40, 40)
) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, "PNG")
    return buffer.getvalue()


def png_data_url(
    width: int = 64, height: int = 48, color: tuple[int, int, int] = (200, 40, 40)
) -> str:
    return "data:image/png;base64," + base64.b64encode(png_bytes(width, height, color)).decode()


async def submit(client: httpx.AsyncClient, path: str, body: Any) -> dict[str, Any]:
    """POST a submit; asserts HTTP 200 and returns the envelope."""
    response = await client.post(path, json=body)
    assert response.status_code == 200, response.text
    envelope: dict[str, Any] = response.json()
    return envelope


async def submit_ok(client: httpx.AsyncClient, path: str, body: Any) -> str:
    """Submit, assert it was accepted (code 1), return the task id."""
    envelope = await submit(client, path, body)
    assert envelope["code"] == 1, envelope
    task_id: str = envelope["result"]
    return task_id


async def finished(client: httpx.AsyncClient, task_id: str) -> dict[str, Any]:
    """Wait for a task to finish and assert it succeeded."""
    # Generous: heavy renders (pans are 3072x2048) share two cores with the test itself.
    task = await wait_for_status(client, task_id, FINAL, within=90)
    assert task["status"] == "SUCCESS", task
    assert_wire_shape(task, seed_task())
    return task


@cache
def seed_task() -> dict[str, Any]:
    """The contract's seed example task JSON."""
    loaded: dict[str, Any] = json.loads(SEED_EXAMPLE.read_text(encoding="utf-8"))
    return loaded


async def imagine_done(client: httpx.AsyncClient, prompt: str = "a red fox") -> dict[str, Any]:
    return await finished(client, await submit_ok(client, "/mj/submit/imagine", {"prompt": prompt}))


async def press(
    client: httpx.AsyncClient, task: dict[str, Any], custom_id: str, **extra: Any
) -> dict[str, Any]:
    """Press a button of ``task`` and wait for the resulting task to succeed."""
    body = {"taskId": task["id"], "customId": custom_id, **extra}
    return await finished(client, await submit_ok(client, "/mj/submit/action", body))


def button(task: dict[str, Any], *, label: str = "", contains: str = "") -> str:
    """The customId of the task's button with that label (or whose customId contains text)."""
    for candidate in task["buttons"]:
        if (label and candidate["label"] == label) or (
            contains and contains in candidate["customId"]
        ):
            custom_id: str = candidate["customId"]
            return custom_id
    raise AssertionError(f"no button {label or contains!r} in {task['buttons']}")


async def image_size(client: httpx.AsyncClient, url: str) -> tuple[int, int]:
    """Download a relay image (no key needed) and return its decoded size."""
    assert url.startswith("http://127.0.0.1:"), url
    async with httpx.AsyncClient(timeout=30) as anonymous:
        response = await anonymous.get(url)
    assert response.status_code == 200, url
    with Image.open(io.BytesIO(response.content)) as image:
        image.load()
        return image.size


def assert_wire_shape(task: dict[str, Any], seed: dict[str, Any]) -> None:
    """Every field of the seed example is present with a JSON type the seed allows."""
    missing = set(seed) - set(task)
    assert not missing, f"task lacks seed fields {missing}"
    nullable_times = {"submitTime", "startTime", "finishTime"}
    for name, example in seed.items():
        value = task[name]
        if name in nullable_times:
            assert value is None or isinstance(value, int), (name, value)
        else:
            assert type(value) is type(example), (name, value)
    for entry in task["buttons"]:
        assert set(entry) == {"customId", "emoji", "label", "type", "style"}, entry
        assert entry["type"] == 2 and entry["style"] == 2, entry
    assert {"finalPrompt", "finalZhPrompt"} <= set(task["properties"]), task["properties"]
    assert len(task["id"]) == 16 and task["id"].isdigit(), task["id"]
