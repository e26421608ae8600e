"""Business return codes: 22 and 23 (queue), 24 (banned prompt), 3 (unknown or foreign task)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from tests.support.live import LiveRelay
from tests.support.settings import fast_settings
from tests.support.wire import button, finished, imagine_done, submit

from mjrelay.core.settings import SandboxSettings, Settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return fast_settings(
        tmp_path / "data",
        sandbox=SandboxSettings(
            job_seconds=1.0, progress_steps=1, core_size=1, queue_size=2, banned_words=["gore"]
        ),
    )


async def test_queue_codes_22_and_23(client: httpx.AsyncClient) -> None:
    answers = [
        await submit(client, "/mj/submit/imagine", {"prompt": f"a queued cat {n}"})
        for n in range(4)
    ]
    assert [a["code"] for a in answers] == [1, 22, 22, 23]
    assert answers[1]["properties"]["numberOfQueues"] == 0
    assert answers[2]["properties"]["numberOfQueues"] == 1
    assert "queue" in answers[1]["description"].lower()
    assert answers[3]["result"] is None
    assert "queue" in answers[3]["description"].lower()
    # Queued tasks exist and wait in NOT_START; the refused one was never stored.
    waiting = (await client.get(f"/mj/task/{answers[2]['result']}/fetch")).json()
    assert waiting["status"] == "NOT_START" and waiting["startTime"] is None
    listed = (await client.get("/mj/task/list")).json()
    assert [t["id"] for t in listed] == [a["result"] for a in reversed(answers[:3])]
    # Every accepted job runs to the end, in order.
    done = [await finished(client, a["result"]) for a in answers[:3]]
    assert done[0]["finishTime"] <= done[1]["startTime"]
    assert done[1]["finishTime"] <= done[2]["startTime"]
    # The queue drained: the next submit runs straight away.
    assert (await submit(client, "/mj/submit/imagine", {"prompt": "free"}))["code"] == 1


async def test_banned_prompt_is_code_24(client: httpx.AsyncClient) -> None:
    prompt = "a scene full of GORE --v 6"
    for path in ("/mj/submit/imagine", "/mj/submit/shorten"):
        answer = await submit(client, path, {"prompt": prompt})
        assert answer["code"] == 24, answer
        assert answer["properties"]["promptEn"] == prompt
        assert answer["properties"]["bannedWord"] == "gore"
        assert answer["result"] is None
    # A banned word inside another word is not banned.
    assert (await submit(client, "/mj/submit/imagine", {"prompt": "gorey cartoon"}))["code"] == 1
    listed = (await client.get("/mj/task/list")).json()
    assert [t["prompt"] for t in listed] == ["gorey cartoon"]


async def test_action_on_unknown_or_foreign_task_is_code_3(live: LiveRelay) -> None:
    async with live.client() as client:
        grid = await imagine_done(client, "a mine")
    custom_id = button(grid, label="U1")
    other = await live.new_key("tenant-b")
    async with live.client(other) as foreign:
        stolen = await submit(
            foreign, "/mj/submit/action", {"taskId": grid["id"], "customId": custom_id}
        )
        unknown = await submit(
            foreign, "/mj/submit/action", {"taskId": "1700000000000123", "customId": custom_id}
        )
        change = await submit(
            foreign, "/mj/submit/change", {"taskId": grid["id"], "action": "UPSCALE", "index": 1}
        )
        modal = await submit(foreign, "/mj/submit/modal", {"taskId": grid["id"]})
    for answer in (stolen, unknown, change, modal):
        assert answer["code"] == 3, answer
        assert answer["description"].startswith("taskId:")
        assert answer["result"] is None
    # The foreign id is answered exactly like an unknown one (nothing leaks).
    assert stolen["description"].replace(grid["id"], "ID") == unknown["description"].replace(
        "1700000000000123", "ID"
    )


async def test_cancelled_queued_job_never_runs(client: httpx.AsyncClient) -> None:
    first = await submit(client, "/mj/submit/imagine", {"prompt": "running"})
    queued = await submit(client, "/mj/submit/imagine", {"prompt": "waiting"})
    assert queued["code"] == 22
    cancel = await client.post(f"/mj/task/{queued['result']}/cancel")
    assert cancel.json()["code"] == 1
    await finished(client, first["result"])
    # A job submitted now queues behind anything still waiting: once it is done, the cancelled
    # job would have run too.
    later = await submit(client, "/mj/submit/imagine", {"prompt": "later"})
    await finished(client, later["result"])
    task = (await client.get(f"/mj/task/{queued['result']}/fetch")).json()
    assert task["status"] == "CANCEL"
    assert task["startTime"] is None and task["imageUrl"] == ""


async def test_a_modal_refused_by_a_full_queue_fails_instead_of_hanging(
    client: httpx.AsyncClient,
) -> None:
    grid = await imagine_done(client, "a full house")
    modal = await submit(
        client,
        "/mj/submit/action",
        {"taskId": grid["id"], "customId": button(grid, label="V2"), "enableRemix": True},
    )
    assert modal["code"] == 21
    fillers = [await submit(client, "/mj/submit/imagine", {"prompt": f"f{n}"}) for n in range(3)]
    assert [f["code"] for f in fillers] == [1, 22, 22]
    refused = await submit(client, "/mj/submit/modal", {"taskId": modal["result"], "prompt": "p"})
    assert refused["code"] == 23
    # The client already holds this id: the task fails with a reason, it is not left waiting.
    task = (await client.get(f"/mj/task/{modal['result']}/fetch")).json()
    assert task["status"] == "FAILURE" and task["failReason"]
