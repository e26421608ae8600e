"""The seed example: the Task model reproduces it; every fetched task has its shape."""

from __future__ import annotations

import asyncio
import json

import httpx
from tests.support.live import LiveRelay
from tests.support.settings import SEED_EXAMPLE
from tests.support.wire import (
    assert_wire_shape,
    button,
    finished,
    imagine_done,
    png_data_url,
    press,
    seed_task,
    submit,
    submit_ok,
)

from mjrelay.domain.task import Task


def test_seed_round_trips_through_the_task_model_byte_for_byte() -> None:
    seed = seed_task()
    task = Task.model_validate_json(SEED_EXAMPLE.read_bytes())
    out = task.to_json()
    decoded = json.loads(out)
    # Same values for every seed key, in the seed's order; extras are only the additive fields.
    assert {key: decoded[key] for key in seed} == seed
    assert list(decoded)[: len(seed)] == list(seed)
    assert set(decoded) - set(seed) == {"imageUrls", "mode"}
    # Byte for byte: the compact seed, then the two additive fields.
    compact = json.dumps(seed, ensure_ascii=False, separators=(",", ":")).encode()
    assert out == compact[:-1] + b',"imageUrls":[],"mode":""}'
    # And parsing the output again gives the same model.
    assert Task.model_validate_json(out) == task


async def test_every_action_returns_every_seed_field(client: httpx.AsyncClient) -> None:
    seed = seed_task()
    grid = await imagine_done(client, "a lighthouse")
    upscaled = await press(client, grid, button(grid, label="U2"))
    assert upscaled["action"] == "UPSCALE"
    described = await finished(
        client, await submit_ok(client, "/mj/submit/describe", {"base64": png_data_url()})
    )
    shortened = await finished(
        client, await submit_ok(client, "/mj/submit/shorten", {"prompt": "a very red big fox"})
    )
    blended = await finished(
        client,
        await submit_ok(
            client, "/mj/submit/blend", {"base64Array": [png_data_url(), png_data_url(30, 30)]}
        ),
    )
    modal = await submit(
        client,
        "/mj/submit/action",
        {"taskId": upscaled["id"], "customId": button(upscaled, label="Custom Zoom")},
    )
    assert modal["code"] == 21
    pending = (await client.get(f"/mj/task/{modal['result']}/fetch")).json()
    for task in (grid, upscaled, described, shortened, blended, pending):
        assert_wire_shape(task, seed)
    # finished() checked the shape of every other action already; the states seen while running
    # have it too.
    running_id = await submit_ok(client, "/mj/submit/imagine", {"prompt": "a slow owl"})
    seen = (await client.get(f"/mj/task/{running_id}/fetch")).json()
    assert_wire_shape(seen, seed)
    assert seen["finishTime"] is None
    await finished(client, running_id)


async def test_the_seed_curl_example_get_with_a_json_body(live: LiveRelay) -> None:
    async with live.client() as client:
        task = await imagine_done(client, "pig --v 6.1")
    url = f"{live.base_url}/mj/task/{task['id']}/fetch"
    # The seed's curl sends a JSON body with its GET: run the real curl the way clients do.
    process = await asyncio.create_subprocess_exec(
        "curl",
        "-sS",
        "--location",
        "--request",
        "GET",
        url,
        "--header",
        f"Authorization: Bearer {live.key}",
        "--header",
        "Content-Type: application/json",
        "--data-raw",
        json.dumps({"taskId": task["id"], "anything": [1, 2, 3]}),
        stdout=asyncio.subprocess.PIPE,
    )
    stdout, _ = await process.communicate()
    assert process.returncode == 0
    fetched = json.loads(stdout)
    assert fetched == task
    assert fetched["prompt"] == "pig --v 6.1"
    # The same with httpx, and with a body that is not even JSON.
    async with httpx.AsyncClient(headers={"mj-api-secret": live.key}) as http:
        for body in (b'{"x": 1}', b"not json at all"):
            response = await http.request(
                "GET", url, content=body, headers={"Content-Type": "application/json"}
            )
            assert response.status_code == 200
            assert response.json() == task
