"""Status sync with an upstream: push and poll, faults on both, deadlines and lost jobs."""

from __future__ import annotations

import asyncio
import functools
import itertools
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.support.fake_upstream import FakeUpstream
from tests.support.live import LiveRelay, wait_for_status
from tests.support.upstream_env import relay_for, upstream_channel
from tests.support.waiting import until, until_async

from mjrelay.domain.record import TaskRecord
from mjrelay.domain.states import is_progress_forward
from mjrelay.domain.task import TaskStatus

ORDER = {"NOT_START": 0, "SUBMITTED": 1, "IN_PROGRESS": 2, "SUCCESS": 3, "FAILURE": 3}
PUSH_ONLY = {"poll_min_seconds": 60.0, "poll_max_seconds": 60.0}
POLL_ONLY = {"push": False}


class History:
    """Every saved state of every task, in order, from the lifecycle's listener."""

    def __init__(self, live: LiveRelay) -> None:
        self.states: dict[str, list[tuple[str, str]]] = {}
        live.relay.lifecycle.add_listener(self.record)

    async def record(self, record: TaskRecord) -> None:
        self.states.setdefault(record.id, []).append(
            (record.task.status.value, record.task.progress)
        )

    def assert_never_backwards(self) -> None:
        for task_id, states in self.states.items():
            for (s1, p1), (s2, p2) in itertools.pairwise(states):
                assert ORDER[s2] >= ORDER[s1], (task_id, states)
                if s1 == s2 == TaskStatus.IN_PROGRESS.value:
                    assert p1 == p2 or is_progress_forward(p1, p2), (task_id, states)


async def submit_many(client: httpx.AsyncClient, count: int) -> list[str]:
    ids = []
    for i in range(count):
        answer = (await client.post("/mj/submit/imagine", json={"prompt": f"p{i}"})).json()
        assert answer["code"] == 1, answer
        ids.append(answer["result"])
    return ids


async def all_finished(client: httpx.AsyncClient, ids: list[str], within: float = 15) -> list[Any]:
    return [await wait_for_status(client, i, {"SUCCESS", "FAILURE"}, within) for i in ids]


async def test_push_alone_keeps_tasks_fresh_with_duplicate_and_stale_callbacks(
    tmp_path: Path,
) -> None:
    async with (
        FakeUpstream() as fake,
        relay_for(tmp_path / "d", [upstream_channel(fake, **PUSH_ONLY)]) as live,
        live.client() as client,
    ):
        fake.faults.duplicate_callbacks = True
        fake.faults.out_of_order_callbacks = True
        history = History(live)
        ids = await submit_many(client, 5)
        tasks = await all_finished(client, ids)
        assert {t["status"] for t in tasks} == {"SUCCESS"}
        assert fake.calls("list-by-condition") == [] and fake.calls("/fetch") == []
        history.assert_never_backwards()
        assert any(len(states) >= 4 for states in history.states.values())  # progress seen


async def mirrors_settled(live: LiveRelay, ids: list[str]) -> bool:
    """Whether every task's image mirror is done or failed (it lands just after SUCCESS)."""
    for task_id in ids:
        record = await live.relay.lifecycle.store.get(task_id)
        if record is None or record.engine_state.get("mirror") not in ("done", "failed"):
            return False
    return True


async def test_push_and_poll_agree(tmp_path: Path) -> None:
    async with FakeUpstream() as fake:
        results = {}
        for name, options in (("push", PUSH_ONLY), ("poll", POLL_ONLY)):
            async with (
                relay_for(tmp_path / name, [upstream_channel(fake, **options)]) as live,
                live.client() as client,
            ):
                history = History(live)
                ids = await submit_many(client, 3)
                tasks = await all_finished(client, ids)
                await until_async(functools.partial(mirrors_settled, live, ids))
                tasks = [(await client.get(f"/mj/task/{i}/fetch")).json() for i in ids]
                history.assert_never_backwards()
                results[name] = tasks
        sent_before = fake.callbacks_sent
        assert sent_before > 0
        for push_task, poll_task in zip(results["push"], results["poll"], strict=True):
            for task in (push_task, poll_task):
                assert task["status"] == "SUCCESS" and task["progress"] == "100%"
                assert "/mj/image/" in task["imageUrl"] and len(task["imageUrls"]) == 4
            assert [b["label"] for b in push_task["buttons"]] == [
                b["label"] for b in poll_task["buttons"]
            ]
        assert fake.calls("list-by-condition")  # the poll-only relay asked


@pytest.mark.parametrize(
    "fault",
    [
        {"omit_all_from_list": True},
        {"list_http_status": 500},
        {"list_malformed": True},
        {"list_drop_connection": True},
    ],
)
async def test_poll_falls_back_to_fetch_when_the_list_fails_or_omits(
    tmp_path: Path, fault: dict[str, Any]
) -> None:
    async with (
        FakeUpstream() as fake,
        relay_for(tmp_path / "d", [upstream_channel(fake, **POLL_ONLY)]) as live,
        live.client() as client,
    ):
        for name, value in fault.items():
            setattr(fake.faults, name, value)
        ids = await submit_many(client, 3)
        tasks = await all_finished(client, ids)
        assert {t["status"] for t in tasks} == {"SUCCESS"}
        fetched = {r.path.split("/")[3] for r in fake.calls("/fetch")}
        uids = set()
        for task_id in ids:
            record = await live.relay.lifecycle.store.get(task_id)
            assert record is not None
            uids.add(record.engine_state["upstream_id"])
        assert uids <= fetched


async def test_polls_are_batched_at_most_100_ids(tmp_path: Path) -> None:
    async with (
        FakeUpstream(job_seconds=1.5) as fake,
        relay_for(tmp_path / "d", [upstream_channel(fake, **POLL_ONLY, mirror=False)]) as live,
        live.client() as client,
    ):
        ids = await asyncio.gather(
            *(client.post("/mj/submit/imagine", json={"prompt": f"p{i}"}) for i in range(150))
        )
        task_ids = [r.json()["result"] for r in ids]
        await all_finished(client, task_ids, within=30)
        assert len(fake.completed_at) == 150
        lists = fake.calls("list-by-condition")
        assert lists and max(len(r.body["ids"]) for r in lists) <= 100
        assert max(len(r.body["ids"]) for r in lists) > 50  # really batched
        assert fake.calls("/fetch") == []


async def test_an_upstream_that_forgets_a_job_fails_it_clearly(tmp_path: Path) -> None:
    async with (
        FakeUpstream(job_seconds=5) as fake,
        relay_for(
            tmp_path / "d", [upstream_channel(fake, **POLL_ONLY, lost_after_misses=2)]
        ) as live,
        live.client() as client,
    ):
        (task_id,) = await submit_many(client, 1)
        fake.faults.forgotten = set(fake.tasks)
        task = await wait_for_status(client, task_id, {"SUCCESS", "FAILURE"})
        assert task["status"] == "FAILURE"
        assert task["failReason"] == "the upstream channel no longer knows this job"


async def test_an_upstream_that_never_finishes_hits_the_deadline(tmp_path: Path) -> None:
    async with (
        FakeUpstream() as fake,
        relay_for(tmp_path / "d", [upstream_channel(fake)], task_timeout_seconds=1.5) as live,
        live.client() as client,
    ):
        fake.faults.never_finish = True
        (task_id,) = await submit_many(client, 1)
        task = await wait_for_status(client, task_id, {"SUCCESS", "FAILURE"}, within=10)
        assert task["status"] == "FAILURE"
        assert task["failReason"] == "timed out: the job did not finish within 1 seconds"
        fake.faults.never_finish = False
        # The upstream finishes late (and pushes it): nothing moves backwards or on.
        await until(lambda: bool(fake.completed_at) and fake.running_jobs == 0)
        again = (await client.get(f"/mj/task/{task_id}/fetch")).json()
        assert again["status"] == "FAILURE"


async def test_upstream_failure_reaches_the_client(tmp_path: Path) -> None:
    async with (
        FakeUpstream() as fake,
        relay_for(tmp_path / "d", [upstream_channel(fake)]) as live,
        live.client() as client,
    ):
        fake.faults.fail_jobs = True
        (task_id,) = await submit_many(client, 1)
        task = await wait_for_status(client, task_id, {"SUCCESS", "FAILURE"})
        assert (task["status"], task["failReason"]) == ("FAILURE", "Midjourney said no")


async def test_callback_route_needs_the_right_signature(tmp_path: Path) -> None:
    async with (
        FakeUpstream(job_seconds=3) as fake,
        relay_for(tmp_path / "d", [upstream_channel(fake)]) as live,
        live.client() as client,
    ):
        (task_id,) = await submit_many(client, 1)
        hook = fake.calls("/mj/submit/imagine")[0].body["notifyHook"]
        uid = next(iter(fake.tasks))
        forged = {"id": uid, "status": "SUCCESS", "progress": "100%", "imageUrl": None}
        async with httpx.AsyncClient() as anonymous:
            bad = await anonymous.post(hook[:-4] + "AAAA", json=forged)
            assert bad.status_code == 401
            other = hook.replace(task_id, str(int(task_id) + 1))
            assert (await anonymous.post(other, json=forged)).status_code == 401
            elsewhere = hook.replace("/notify/up/", "/notify/nope/")
            assert (await anonymous.post(elsewhere, json=forged)).status_code == 401
            wrong_task = await anonymous.post(hook, json={**forged, "id": "1234567890123456"})
            assert wrong_task.json()["description"] == "ignored"
            assert (await anonymous.post(hook, content=b"{nope")).status_code == 400
        current = (await client.get(f"/mj/task/{task_id}/fetch")).json()
        assert current["status"] != "SUCCESS"
