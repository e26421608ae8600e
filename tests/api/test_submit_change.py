"""The legacy action forms: ``/mj/submit/change`` and ``/mj/submit/simple-change``."""

from __future__ import annotations

import httpx
import pytest
from tests.support.wire import finished, image_size, imagine_done, submit, submit_ok


async def test_change_upscale_variation_reroll(client: httpx.AsyncClient) -> None:
    grid = await imagine_done(client, "an orange kite")
    cases = [
        ({"action": "UPSCALE", "index": 2}, "UPSCALE", "U2", "MJ::JOB::upsample::2::"),
        ({"action": "VARIATION", "index": 4}, "VARIATION", "V4", "MJ::JOB::variation::4::"),
        ({"action": "REROLL"}, "REROLL", "🔄", "MJ::JOB::reroll::0::"),
    ]
    for body, action, label, custom_prefix in cases:
        task_id = await submit_ok(client, "/mj/submit/change", {"taskId": grid["id"], **body})
        task = await finished(client, task_id)
        assert task["action"] == action
        assert task["customId"].startswith(custom_prefix)
        assert task["customId"] in {b["customId"] for b in grid["buttons"]}
        assert task["description"] == f"/up {grid['id']} {label}"
        assert await image_size(client, task["imageUrl"]) == (1024, 1024)


async def test_simple_change(client: httpx.AsyncClient) -> None:
    grid = await imagine_done(client, "a silver train")
    for content, action, custom_prefix in (
        (f"{grid['id']} U2", "UPSCALE", "MJ::JOB::upsample::2::"),
        (f"{grid['id']} V1", "VARIATION", "MJ::JOB::variation::1::"),
        (f"{grid['id']} R", "REROLL", "MJ::JOB::reroll::0::"),
        (f"  {grid['id']} u3 ", "UPSCALE", "MJ::JOB::upsample::3::"),
    ):
        task_id = await submit_ok(client, "/mj/submit/simple-change", {"content": content})
        task = await finished(client, task_id)
        assert task["action"] == action, content
        assert task["customId"].startswith(custom_prefix), content


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"action": "UPSCALE", "index": 1}, "taskId"),
        ({"taskId": "GRID", "action": "ZOOM", "index": 1}, "action"),
        ({"taskId": "GRID", "index": 1}, "action"),
        ({"taskId": "GRID", "action": "UPSCALE", "index": 5}, "index"),
        ({"taskId": "GRID", "action": "UPSCALE", "index": "1"}, "index"),
        ({"taskId": "GRID", "action": "VARIATION", "index": True}, "index"),
        ({"taskId": "GRID", "action": "UPSCALE"}, "index"),
    ],
)
async def test_change_bad_input(
    client: httpx.AsyncClient, body: dict[str, object], field: str
) -> None:
    grid = await imagine_done(client, "a grey wolf")
    if body.get("taskId") == "GRID":
        body = {**body, "taskId": grid["id"]}
    answer = await submit(client, "/mj/submit/change", body)
    assert answer["code"] == 4
    assert answer["description"].startswith(f"{field}:"), answer


async def test_change_on_an_upscale_has_no_such_button(client: httpx.AsyncClient) -> None:
    grid = await imagine_done(client, "a pink cloud")
    up = await finished(
        client,
        await submit_ok(
            client, "/mj/submit/change", {"taskId": grid["id"], "action": "UPSCALE", "index": 1}
        ),
    )
    answer = await submit(
        client, "/mj/submit/change", {"taskId": up["id"], "action": "UPSCALE", "index": 1}
    )
    assert answer["code"] == 4 and answer["description"].startswith("action:")
    unknown = await submit(
        client, "/mj/submit/change", {"taskId": "1111111111111111", "action": "REROLL"}
    )
    assert unknown["code"] == 3 and "taskId" in unknown["description"]


@pytest.mark.parametrize(
    "content", [None, 12, "", "U1", "123 X1", "123 U5", "123 U1 extra", "abc U1", "123  U1"]
)
async def test_simple_change_bad_content(client: httpx.AsyncClient, content: object) -> None:
    answer = await submit(client, "/mj/submit/simple-change", {"content": content})
    assert answer["code"] == 4
    assert answer["description"].startswith("content:")
