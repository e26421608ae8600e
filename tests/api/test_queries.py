"""Query endpoints: fetch, list-by-condition, list, image-seed, cancel; aliases; service pages."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from tests.support.live import LiveRelay, running_relay, wait_for_status
from tests.support.settings import fast_settings
from tests.support.wire import button, finished, imagine_done, submit, submit_ok

from mjrelay.core.settings import SandboxSettings, Settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return fast_settings(
        tmp_path / "data",
        sandbox=SandboxSettings(job_seconds=0.3, progress_steps=1, core_size=4, queue_size=10),
    )


async def test_fetch_unknown_is_404_json(client: httpx.AsyncClient) -> None:
    for task_id in ("1234567890123456", "nope", "0" * 40):
        response = await client.get(f"/mj/task/{task_id}/fetch")
        assert response.status_code == 404
        assert response.json()["code"] == 3
        assert response.json()["result"] is None


async def test_fetch_shows_progress_while_running(client: httpx.AsyncClient) -> None:
    task_id = await submit_ok(client, "/mj/submit/imagine", {"prompt": "a progressing fox"})
    seen: list[tuple[str, str]] = []
    previews: set[str] = set()
    while True:
        task = (await client.get(f"/mj/task/{task_id}/fetch")).json()
        if not seen or seen[-1] != (task["status"], task["progress"]):
            seen.append((task["status"], task["progress"]))
        if task["status"] == "IN_PROGRESS" and task["progress"] not in ("0%", ""):
            previews.add(task["imageUrl"])
        if task["status"] == "SUCCESS":
            break
    assert seen[-1] == ("SUCCESS", "100%")
    statuses = [status for status, _ in seen]
    assert statuses == sorted(
        statuses, key=["NOT_START", "SUBMITTED", "IN_PROGRESS", "SUCCESS"].index
    )
    assert ("IN_PROGRESS", "50%") in seen
    assert len(previews) == 1 and task["imageUrl"] not in previews


async def test_list_by_condition(live: LiveRelay) -> None:
    async with live.client() as client:
        ids = [
            await submit_ok(client, "/mj/submit/imagine", {"prompt": f"cond {n}"}) for n in range(3)
        ]
    other = await live.new_key("someone-else")
    async with live.client(other) as foreign:
        foreign_id = await submit_ok(foreign, "/mj/submit/imagine", {"prompt": "not yours"})
    async with live.client() as client:
        wanted = [ids[2], "1234567890123456", foreign_id, ids[0], ids[2]]
        response = await client.post("/mj/task/list-by-condition", json={"ids": wanted})
        assert response.status_code == 200
        found = response.json()
        assert sorted(t["id"] for t in found) == sorted([ids[0], ids[2]])
        assert all(t["prompt"].startswith("cond ") for t in found)
        assert (await client.post("/mj/task/list-by-condition", json={"ids": []})).json() == []
        assert (await client.post("/mj/task/list-by-condition", json={})).json() == []
        for bad in ("abc", [1, 2], [None], {"a": 1}, ["x"] * 1001):
            answer = await client.post("/mj/task/list-by-condition", json={"ids": bad})
            assert answer.status_code == 400
            assert answer.json()["code"] == 4
            assert answer.json()["description"].startswith("ids:")


async def test_list_newest_first_with_limit_offset_and_cursor(client: httpx.AsyncClient) -> None:
    ids = []
    for n in range(5):
        answer = await submit(client, "/mj/submit/imagine", {"prompt": f"listed {n}"})
        assert answer["code"] in (1, 22)
        ids.append(answer["result"])
    newest_first = list(reversed(ids))

    everything = await client.get("/mj/task/list")
    assert everything.status_code == 200
    assert [t["id"] for t in everything.json()] == newest_first
    assert "x-next-cursor" not in everything.headers

    page = await client.get("/mj/task/list", params={"limit": 2})
    assert [t["id"] for t in page.json()] == newest_first[:2]
    cursor = page.headers["x-next-cursor"]
    assert cursor == newest_first[1]
    page = await client.get("/mj/task/list", params={"limit": 2, "before": cursor})
    assert [t["id"] for t in page.json()] == newest_first[2:4]
    page = await client.get(
        "/mj/task/list", params={"limit": 2, "before": page.headers["x-next-cursor"]}
    )
    assert [t["id"] for t in page.json()] == newest_first[4:]
    assert "x-next-cursor" not in page.headers

    page = await client.get("/mj/task/list", params={"limit": 2, "offset": 1})
    assert [t["id"] for t in page.json()] == newest_first[1:3]
    assert (await client.get("/mj/task/list", params={"offset": 10})).json() == []
    for bad in ({"limit": 0}, {"limit": 5000}, {"limit": "many"}, {"offset": -1}):
        response = await client.get("/mj/task/list", params=bad)
        assert response.status_code == 400 and response.json()["code"] == 4
        assert response.json()["description"].startswith("query.")


async def test_image_seed(client: httpx.AsyncClient) -> None:
    explicit = await finished(
        client,
        await submit_ok(client, "/mj/submit/imagine", {"prompt": "a seeded owl --seed 1234"}),
    )
    answer = (await client.get(f"/mj/task/{explicit['id']}/image-seed")).json()
    assert answer == {"code": 1, "description": "Success", "result": "1234", "properties": {}}

    implicit = await imagine_done(client, "an unseeded owl")
    seed = (await client.get(f"/mj/task/{implicit['id']}/image-seed")).json()["result"]
    assert isinstance(seed, str) and seed.isdigit()

    running = await submit_ok(client, "/mj/submit/imagine", {"prompt": "a busy owl"})
    early = (await client.get(f"/mj/task/{running}/image-seed")).json()
    assert early["code"] == 4 and early["result"] is None
    await finished(client, running)

    missing = await client.get("/mj/task/1234567890123456/image-seed")
    assert missing.status_code == 404 and missing.json()["code"] == 3


async def test_cancel_running_and_finished(tmp_path: Path) -> None:
    # Slow jobs, so the cancel surely lands while the job runs even on a busy machine.
    slow = fast_settings(
        tmp_path / "slow", sandbox=SandboxSettings(job_seconds=3, progress_steps=1)
    )
    async with running_relay(slow) as slow_live, slow_live.client() as client:
        await _cancel_running_and_finished(client)


async def _cancel_running_and_finished(client: httpx.AsyncClient) -> None:
    task_id = await submit_ok(client, "/mj/submit/imagine", {"prompt": "an interrupted owl"})
    await wait_for_status(client, task_id, {"IN_PROGRESS"})
    answer = (await client.post(f"/mj/task/{task_id}/cancel")).json()
    assert answer["code"] == 1 and answer["result"] == task_id
    task = (await client.get(f"/mj/task/{task_id}/fetch")).json()
    assert task["status"] == "CANCEL"
    assert task["progress"] == "" and task["finishTime"] is not None
    assert task["failReason"]
    # The engine really stopped: the task stays cancelled after the job would have ended.
    done_id = await submit_ok(client, "/mj/submit/imagine", {"prompt": "a later owl"})
    await finished(client, done_id)
    assert (await client.get(f"/mj/task/{task_id}/fetch")).json()["status"] == "CANCEL"

    for finished_id in (task_id, done_id):
        again = (await client.post(f"/mj/task/{finished_id}/cancel")).json()
        assert again["code"] == 4 and finished_id in again["description"]
    missing = await client.post("/mj/task/1234567890123456/cancel")
    assert missing.status_code == 404 and missing.json()["code"] == 3


async def test_cancel_a_task_waiting_in_modal(client: httpx.AsyncClient) -> None:
    grid = await imagine_done(client, "a pending owl")
    modal = await submit(
        client,
        "/mj/submit/action",
        {"taskId": grid["id"], "customId": button(grid, label="V1"), "enableRemix": True},
    )
    assert modal["code"] == 21
    assert (await client.post(f"/mj/task/{modal['result']}/cancel")).json()["code"] == 1
    task = (await client.get(f"/mj/task/{modal['result']}/fetch")).json()
    assert task["status"] == "CANCEL"
    late = await submit(client, "/mj/submit/modal", {"taskId": modal["result"], "prompt": "x"})
    assert late["code"] == 4


@pytest.mark.parametrize("mode", ["fast", "relax", "turbo"])
async def test_mode_prefixed_aliases(client: httpx.AsyncClient, mode: str) -> None:
    prefix = f"/mj-{mode}"
    task_id = await submit_ok(client, f"{prefix}/mj/submit/imagine", {"prompt": f"a {mode} hare"})
    task = await finished(client, task_id)
    assert task["mode"] == mode
    # Every /mj path works under the prefix, fetch included.
    aliased = await client.get(f"{prefix}/mj/task/{task_id}/fetch")
    assert aliased.status_code == 200 and aliased.json() == task
    listed = await client.post(f"{prefix}/mj/task/list-by-condition", json={"ids": [task_id]})
    assert [t["id"] for t in listed.json()] == [task_id]
    # An action inherits the parent's mode unless its own path sets one.
    inherited = await finished(
        client,
        await submit_ok(
            client, "/mj/submit/action", {"taskId": task_id, "customId": button(task, label="U1")}
        ),
    )
    assert inherited["mode"] == mode
    other = "relax" if mode != "relax" else "turbo"
    switched = await finished(
        client,
        await submit_ok(
            client,
            f"/mj-{other}/mj/submit/action",
            {"taskId": task_id, "customId": button(task, label="U2")},
        ),
    )
    assert switched["mode"] == other


async def test_plain_path_has_no_mode_and_unknown_prefix_is_404(client: httpx.AsyncClient) -> None:
    task = await imagine_done(client, "a plain hare")
    assert task["mode"] == ""
    response = await client.post("/mj-slow/mj/submit/imagine", json={"prompt": "x"})
    assert response.status_code == 404 and response.json()["code"] == 3


async def test_service_pages_need_no_key(live: LiveRelay) -> None:
    async with httpx.AsyncClient(base_url=live.base_url) as anonymous:
        landing = await anonymous.get("/")
        assert landing.status_code == 200
        assert landing.json()["name"] == "mjrelay" and landing.json()["api"] == "/mj"
        health = await anonymous.get("/healthz")
        assert health.status_code == 200 and health.json() == {"status": "ok"}
        docs = await anonymous.get("/docs")
        assert docs.status_code == 200 and "swagger" in docs.text.lower()
        spec = (await anonymous.get("/openapi.json")).json()
    paths = spec["paths"]
    for name in (
        "imagine",
        "action",
        "modal",
        "blend",
        "describe",
        "shorten",
        "change",
        "simple-change",
        "upload-discord-images",
    ):
        assert f"/mj/submit/{name}" in paths and "post" in paths[f"/mj/submit/{name}"], name
    for path in (
        "/mj/task/{task_id}/fetch",
        "/mj/task/list-by-condition",
        "/mj/task/list",
        "/mj/task/{task_id}/image-seed",
        "/mj/task/{task_id}/cancel",
    ):
        assert path in paths, path
    # The fetch response is documented with the Task schema and its seed fields.
    task_schema = spec["components"]["schemas"]["Task"]["properties"]
    assert {"id", "customId", "imageUrl", "buttons", "maskBase64", "properties"} <= set(task_schema)
