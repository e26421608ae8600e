"""Progress streams over real HTTP: order, end, isolation, heartbeats, disconnects."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from tests.support.live import LiveRelay, wait_for_status
from tests.support.paced import paced_relay
from tests.support.sse import collect_task_stream, sse_tasks
from tests.support.waiting import until

STATUS_ORDER = ["NOT_START", "SUBMITTED", "IN_PROGRESS", "SUCCESS"]


@pytest.fixture
async def slow_live(tmp_path: Path) -> AsyncIterator[LiveRelay]:
    """A relay whose jobs take long enough to show several progress steps."""
    async with paced_relay(
        tmp_path / "data", job_seconds=0.6, steps=3, stream_heartbeat_seconds=0.1
    ) as live:
        yield live


def _percent(task: dict[str, Any]) -> int:
    return int(task["progress"].rstrip("%") or 0)


async def test_task_stream_follows_the_task_to_its_end(slow_live: LiveRelay) -> None:
    async with slow_live.client() as client:
        submitted = (await client.post("/mj/submit/imagine", json={"prompt": "a fox"})).json()
        task_id = submitted["result"]
        seen = await collect_task_stream(client, task_id)
        fetched = (await client.get(f"/mj/task/{task_id}/fetch")).json()

    assert [task["id"] for task in seen] == [task_id] * len(seen)
    assert seen[-1] == fetched  # same JSON as fetch, base URL filled in
    assert seen[-1]["status"] == "SUCCESS" and seen[-1]["imageUrl"].startswith("http://127.0.0.1")
    ranks = [STATUS_ORDER.index(task["status"]) for task in seen]
    assert ranks == sorted(ranks)
    percents = [_percent(task) for task in seen]
    assert percents == sorted(percents)
    assert any(0 < p < 100 for p in percents), percents  # intermediate progress was pushed
    assert len(seen) == len({(t["status"], t["progress"]) for t in seen})  # no repeats


async def test_stream_of_a_finished_task_sends_it_once_and_ends(live: LiveRelay) -> None:
    async with live.client() as client:
        submitted = (await client.post("/mj/submit/imagine", json={"prompt": "a cat"})).json()
        done = await wait_for_status(client, submitted["result"], {"SUCCESS"})
        seen = await collect_task_stream(client, submitted["result"])
    assert seen == [done]


async def test_stream_uses_the_fetch_auth_and_isolation(live: LiveRelay) -> None:
    async with live.client() as owner:
        task_id = (await owner.post("/mj/submit/imagine", json={"prompt": "owl"})).json()["result"]
    other_key = await live.new_key("someone-else")
    async with live.client(other_key) as other:
        foreign = await other.get(f"/mj/task/{task_id}/stream")
        unknown = await other.get("/mj/task/1234567890123456/stream")
    async with live.client("mjr_not_a_key") as stranger:
        unauthorized = await stranger.get(f"/mj/task/{task_id}/stream")
    assert foreign.status_code == 404 and foreign.json()["code"] == 3
    assert foreign.json()["description"] == unknown.json()["description"].replace(
        "1234567890123456", task_id
    )
    assert unauthorized.status_code == 401
    async with live.client(header="mj-api-secret") as by_secret:
        assert len(await collect_task_stream(by_secret, task_id)) >= 1
    assert live.relay.streams.subscriber_count == 0


async def test_tenant_stream_shows_own_tasks_only(slow_live: LiveRelay) -> None:
    other_key = await slow_live.new_key("neighbour")
    finished: dict[str, dict[str, Any]] = {}
    async with slow_live.client() as mine, slow_live.client(other_key) as theirs:
        async with mine.stream("GET", "/mj/task/stream") as response:
            assert response.status_code == 200
            await until(lambda: slow_live.relay.streams.subscriber_count == 1)
            ids = set()
            for prompt in ("first", "second"):
                ids.add(
                    (await mine.post("/mj/submit/imagine", json={"prompt": prompt})).json()[
                        "result"
                    ]
                )
            foreign = (await theirs.post("/mj/submit/imagine", json={"prompt": "x"})).json()
            seen_ids: set[str] = set()

            async def read() -> None:
                async for task in sse_tasks(response):
                    seen_ids.add(task["id"])
                    if task["status"] == "SUCCESS":
                        finished[task["id"]] = task
                    if set(finished) == ids:
                        return

            await asyncio.wait_for(read(), 15)
        await wait_for_status(theirs, foreign["result"], {"SUCCESS"})
    assert seen_ids == ids
    assert foreign["result"] not in seen_ids
    await until(lambda: slow_live.relay.streams.subscriber_count == 0)


async def test_idle_stream_sends_heartbeats_and_disconnect_unsubscribes(
    slow_live: LiveRelay,
) -> None:
    async with slow_live.client() as client, client.stream("GET", "/mj/task/stream") as response:
        lines: list[str] = []

        async def read() -> None:
            async for line in response.aiter_lines():
                lines.append(line)
                if lines.count(": keep-alive") >= 3:
                    return

        started = time.monotonic()
        await asyncio.wait_for(read(), 5)
        assert time.monotonic() - started >= 0.2  # three beats 0.1 s apart
        assert slow_live.relay.streams.subscriber_count == 1
    # The client went away without reading more: the server notices and drops the subscriber.
    await until(lambda: slow_live.relay.streams.subscriber_count == 0)


async def test_a_client_that_stops_reading_does_not_hold_up_tasks(slow_live: LiveRelay) -> None:
    """A stream client that never reads its socket: every task still finishes on time."""
    host, port = slow_live.base_url.removeprefix("http://").split(":")
    stuck = socket.socket()
    stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)  # fills after a frame or two
    stuck.connect((host, int(port)))
    reader, writer = await asyncio.open_connection(sock=stuck)
    writer.write(
        f"GET /mj/task/stream HTTP/1.1\r\nHost: {host}\r\n"
        f"Authorization: Bearer {slow_live.key}\r\n\r\n".encode()
    )
    await writer.drain()
    try:
        await until(lambda: slow_live.relay.streams.subscriber_count == 1)
        async with slow_live.client() as client:
            ids = [
                (await client.post("/mj/submit/imagine", json={"prompt": f"p{n}"})).json()["result"]
                for n in range(12)
            ]
            for task_id in ids:
                await wait_for_status(client, task_id, {"SUCCESS"}, within=30)
    finally:
        writer.close()
    await until(lambda: slow_live.relay.streams.subscriber_count == 0, within=10)
    assert reader is not None
