"""notifyHook callbacks over real sockets: complete, in order, signed; unsafe URLs refused."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.support.live import running_relay, wait_for_status
from tests.support.operator import BACKENDS, database_url
from tests.support.receiver import running_receiver
from tests.support.settings import fast_settings

from mjrelay.core.netguard import default_resolver
from mjrelay.core.settings.operator import CallbackSettings
from mjrelay.core.signing import verify
from mjrelay.domain.states import rank
from mjrelay.domain.task import TaskStatus
from mjrelay.services.operator.callbacks import CallbackService
from mjrelay.services.operator.metrics import Metrics
from mjrelay.store.callbacks import CallbackStore, Hook
from mjrelay.store.db import Database
from mjrelay.store.keys import KeyStore

FAST_RETRIES = CallbackSettings(
    allow_hosts=["127.0.0.1"],
    first_retry_seconds=0.05,
    max_backoff_seconds=0.2,
    timeout_seconds=0.5,
    poll_seconds=0.05,
)


@pytest.fixture(params=BACKENDS)
async def backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    async with database_url(request.param, tmp_path) as url:
        yield url


def flaky(n: int) -> int | str:
    """Every third request fails, every seventh hangs past the relay's timeout."""
    if n % 7 == 0:
        return "slow"
    return 500 if n % 3 == 1 else 200


async def _log_settled(client: httpx.AsyncClient, task_id: str) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 30
    while True:
        log = (await client.get(f"/mj/task/{task_id}/callbacks")).json()["result"]
        if log and all(entry["state"] != "pending" for entry in log):
            return list(log)
        assert time.monotonic() < deadline, log
        await asyncio.sleep(0.05)


async def test_flaky_receiver_gets_every_state_in_order(backend_url: str, tmp_path: Path) -> None:
    settings = fast_settings(tmp_path / "data", database_url=backend_url, callbacks=FAST_RETRIES)
    async with running_receiver(flaky) as receiver, running_relay(settings) as live:
        async with live.client() as client:
            secret = (await client.get("/mj/account/callback-secret")).json()["result"]
            assert secret.startswith("whsec_")
            task_ids = []
            for n in range(3):
                answer = await client.post(
                    "/mj/submit/imagine",
                    json={"prompt": f"a lamp {n}", "notifyHook": receiver.url},
                )
                assert answer.json()["code"] == 1, answer.text
                task_ids.append(answer.json()["result"])
            for task_id in task_ids:
                await wait_for_status(client, task_id, {"SUCCESS"})
            logs = {task_id: await _log_settled(client, task_id) for task_id in task_ids}

        assert receiver.requests > sum(len(log) for log in logs.values())  # there were failures
        for task_id, log in logs.items():
            assert [entry["state"] for entry in log] == ["delivered"] * len(log)
            got = [r for r in receiver.received if r.headers["x-mjrelay-task-id"] == task_id]
            versions = [int(r.headers["x-mjrelay-task-version"]) for r in got]
            assert versions == [entry["version"] for entry in log]
            assert versions == sorted(set(versions))
            tasks = [json.loads(r.body) for r in got]
            statuses = [TaskStatus(task["status"]) for task in tasks]
            assert statuses[0] == TaskStatus.NOT_START and statuses[-1] == TaskStatus.SUCCESS
            assert [rank(s) for s in statuses] == sorted(rank(s) for s in statuses)
            assert tasks[-1]["imageUrl"].startswith(live.base_url + "/")
            assert tasks[-1]["id"] == task_id
            for r in got:
                assert verify(
                    secret, r.headers["x-mjrelay-signature"], r.body, now=int(time.time())
                )
        failed_attempts = [
            attempt
            for log in logs.values()
            for entry in log
            for attempt in entry["attempts"]
            if attempt["error"]
        ]
        assert {a["error"] for a in failed_attempts} >= {"HTTP 500", "timed out"}
        assert any(len(e["attempts"]) > 1 for log in logs.values() for e in log)


async def test_an_older_state_is_never_sent_after_a_newer_one(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'cb.db'}")
    await db.migrate()
    _key, info = await KeyStore(db).create("k")
    store = CallbackStore(db)
    service = CallbackService(store, FAST_RETRIES, Metrics())
    async with running_receiver(lambda n: 200) as receiver:
        hook = Hook("1700000000000001", info.id, receiver.url, "http://relay")
        await store.enqueue(hook, version=3, status="SUCCESS", body=b"{}", give_up_ms=2**50)
        assert await service.run_once() == 1
        await store.enqueue(hook, version=2, status="IN_PROGRESS", body=b"{}", give_up_ms=2**50)
        assert await service.run_once() == 1
        assert [r.headers["x-mjrelay-task-version"] for r in receiver.received] == ["3"]
        log = await store.log(hook.task_id)
        assert [(e["version"], e["state"]) for e in log] == [(2, "superseded"), (3, "delivered")]
    await service.stop()
    await db.dispose()


async def test_dead_receiver_is_given_up_and_logged(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'cb.db'}")
    await db.migrate()
    _key, info = await KeyStore(db).create("k")
    store = CallbackStore(db)
    service = CallbackService(store, FAST_RETRIES, Metrics())
    async with running_receiver(lambda n: 503) as receiver:
        hook = Hook("1700000000000002", info.id, receiver.url, "http://relay")
        await store.enqueue(hook, version=1, status="NOT_START", body=b"{}", give_up_ms=0)
        await store.enqueue(hook, version=2, status="SUBMITTED", body=b"{}", give_up_ms=0)
        deadline = time.monotonic() + 10
        while any(e["state"] == "pending" for e in await store.log(hook.task_id)):
            assert time.monotonic() < deadline
            await service.run_once()
            await asyncio.sleep(0.05)
        log = await store.log(hook.task_id)
        assert [(e["version"], e["state"]) for e in log] == [(1, "failed"), (2, "failed")]
        assert all(a["httpStatus"] == 503 for e in log for a in e["attempts"])
        assert receiver.requests == 2  # past their deadline: one attempt each, in order
    await service.stop()
    await db.dispose()


UNSAFE_HOOKS = [
    "http://127.0.0.1:9/hook",
    "http://[::1]/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://10.1.2.3/hook",
    "http://192.168.0.10/hook",
    "http://localhost/hook",
    "http://loopback.example.test/hook",
    "http://2130706433/hook",
    "file:///etc/passwd",
]


async def _resolver(host: str, port: int) -> list[str]:
    """A name that resolves to loopback (as a hostile DNS answer would), others as usual."""
    if host == "loopback.example.test":
        return ["127.0.0.1"]
    return await default_resolver(host, port)


async def test_unsafe_hooks_are_refused_at_submit(tmp_path: Path) -> None:
    settings = fast_settings(tmp_path / "data")
    async with running_relay(settings, resolver=_resolver) as live, live.client() as client:
        for url in UNSAFE_HOOKS:
            answer = (
                await client.post("/mj/submit/imagine", json={"prompt": "x", "notifyHook": url})
            ).json()
            assert answer["code"] == 4, (url, answer)
            assert answer["description"].startswith("notifyHook:"), answer
        assert (await client.get("/mj/task/list")).json() == []


async def test_callback_log_is_private_to_the_tenant(tmp_path: Path) -> None:
    settings = fast_settings(tmp_path / "data")
    async with running_relay(settings) as live, live.client() as client:
        task_id = (await client.post("/mj/submit/imagine", json={"prompt": "x"})).json()["result"]
        assert (await client.get(f"/mj/task/{task_id}/callbacks")).json()["result"] == []
        other = await live.new_key("other")
        async with live.client(other) as stranger:
            assert (await stranger.get(f"/mj/task/{task_id}/callbacks")).status_code == 404
