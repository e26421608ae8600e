"""Failover between upstream channels, the circuit breaker, and action affinity.

The relay's breakers run on a ``ManualClock``: a test lets an open period pass by advancing it,
never by sleeping.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from tests.support.clock import ManualClock
from tests.support.fake_upstream import FakeUpstream
from tests.support.live import LiveRelay, running_relay, wait_for_status
from tests.support.server_process import free_port
from tests.support.settings import fast_settings
from tests.support.upstream_env import upstream_channel


@asynccontextmanager
async def two_upstreams(
    tmp_path: Path, clock: ManualClock | None = None, **overrides: Any
) -> AsyncIterator[tuple[FakeUpstream, FakeUpstream, LiveRelay]]:
    async with FakeUpstream(secret="key-a") as a, FakeUpstream(secret="key-b", auth="bearer") as b:
        channels = [
            upstream_channel(a, "primary", priority=10),
            upstream_channel(b, "backup", priority=0),
        ]
        port = free_port()
        settings = fast_settings(
            tmp_path / "data",
            public_url=f"http://127.0.0.1:{port}",
            channels=channels,
            **overrides,
        )
        async with running_relay(settings, port=port, clock=clock or ManualClock()) as live:
            yield a, b, live


async def channel_and_attempts(live: LiveRelay, task_id: str) -> tuple[str, list[Any]]:
    record = await live.relay.lifecycle.store.get(task_id)
    assert record is not None
    return record.engine, [
        (x["channel"], x["code"]) for x in record.engine_state.get("attempts", [])
    ]


FAULTS = {
    "http 500": {"submit_http_status": 500},
    "code 3": {"submit_code": 3},
    "code 9": {"submit_code": 9},
    "code 23": {"submit_code": 23},
    "timeout": {"submit_delay": 3.0},
    "connection dropped": {"submit_drop_connection": True},
    "malformed json": {"submit_malformed": True},
    "bad credentials": {"secret": "rotated"},
}


@pytest.mark.parametrize("fault", list(FAULTS))
async def test_a_failing_submit_fails_over_without_the_client_noticing(
    tmp_path: Path, fault: str
) -> None:
    routing = {"submit_timeout_seconds": 1.0}
    async with two_upstreams(tmp_path, routing=routing) as (a, b, live), live.client() as client:
        for name, value in FAULTS[fault].items():
            if name == "secret":
                a.secret = value
            else:
                setattr(a.faults, name, value)
        answer = (await client.post("/mj/submit/imagine", json={"prompt": "a fox"})).json()
        assert answer["code"] == 1, answer
        channel, attempts = await channel_and_attempts(live, answer["result"])
        assert channel == "backup"
        expected_code = {"code 3": 3, "code 23": 23}.get(fault, 9)
        assert attempts == [("primary", expected_code)]
        assert len(a.calls("/mj/submit/imagine")) == 1
        assert len(b.calls("/mj/submit/imagine")) == 1
        task = await wait_for_status(client, answer["result"], {"SUCCESS", "FAILURE"})
        assert task["status"] == "SUCCESS"


async def test_banned_prompt_is_not_retried_elsewhere(tmp_path: Path) -> None:
    async with two_upstreams(tmp_path) as (a, b, live), live.client() as client:
        answer = (await client.post("/mj/submit/imagine", json={"prompt": "banned"})).json()
        assert answer["code"] == 24
        assert len(a.calls("/mj/submit/imagine")) == 1
        assert b.calls("/mj/submit/imagine") == []


async def test_every_channel_failing_is_reported_and_nothing_kept(tmp_path: Path) -> None:
    async with two_upstreams(tmp_path) as (a, b, live), live.client() as client:
        a.faults.submit_http_status = 502
        b.faults.submit_code = 9
        answer = (await client.post("/mj/submit/imagine", json={"prompt": "x"})).json()
        assert answer["code"] == 9
        assert "every channel (2 attempts)" in answer["description"]
        assert (await client.get("/mj/task/list")).json() == []
        a.faults.submit_http_status = None
        b.faults.submit_code = 23
        a.faults.submit_code = 23
        answer = (await client.post("/mj/submit/imagine", json={"prompt": "x"})).json()
        assert answer["code"] == 23


async def test_breaker_opens_after_repeated_failures_then_probes(tmp_path: Path) -> None:
    routing = {"breaker_failures": 2, "breaker_open_seconds": 30}
    clock = ManualClock()
    async with (
        two_upstreams(tmp_path, clock, routing=routing) as (a, _b, live),
        live.client() as client,
    ):
        a.faults.submit_http_status = 503
        for _ in range(2):
            answer = (await client.post("/mj/submit/imagine", json={"prompt": "x"})).json()
            assert (await channel_and_attempts(live, answer["result"]))[0] == "backup"
        assert len(a.calls("/mj/submit/imagine")) == 2
        # Open: the primary is not even asked.
        for _ in range(3):
            answer = (await client.post("/mj/submit/imagine", json={"prompt": "x"})).json()
            channel, attempts = await channel_and_attempts(live, answer["result"])
            assert (channel, attempts) == ("backup", [])
        assert len(a.calls("/mj/submit/imagine")) == 2

        clock.advance(29.9)  # still open just before the period ends
        answer = (await client.post("/mj/submit/imagine", json={"prompt": "x"})).json()
        assert (await channel_and_attempts(live, answer["result"])) == ("backup", [])
        assert len(a.calls("/mj/submit/imagine")) == 2

        clock.advance(0.1)
        a.faults.submit_http_status = None  # recovered: the probe succeeds and closes it
        answer = (await client.post("/mj/submit/imagine", json={"prompt": "x"})).json()
        assert (await channel_and_attempts(live, answer["result"]))[0] == "primary"
        answer = (await client.post("/mj/submit/imagine", json={"prompt": "x"})).json()
        assert (await channel_and_attempts(live, answer["result"]))[0] == "primary"
        assert len(a.calls("/mj/submit/imagine")) == 4


async def test_failed_probe_keeps_the_breaker_open(tmp_path: Path) -> None:
    routing = {"breaker_failures": 1, "breaker_open_seconds": 30}
    clock = ManualClock()
    async with (
        two_upstreams(tmp_path, clock, routing=routing) as (a, _b, live),
        live.client() as client,
    ):
        a.faults.submit_code = 9
        await client.post("/mj/submit/imagine", json={"prompt": "x"})
        clock.advance(30)
        answer = (await client.post("/mj/submit/imagine", json={"prompt": "x"})).json()
        channel, attempts = await channel_and_attempts(live, answer["result"])
        assert (channel, attempts) == ("backup", [("primary", 9)])  # the probe, failed
        answer = (await client.post("/mj/submit/imagine", json={"prompt": "x"})).json()
        assert (await channel_and_attempts(live, answer["result"])) == ("backup", [])
        assert len(a.calls("/mj/submit/imagine")) == 2


async def test_actions_go_to_the_parents_channel_even_when_it_fails(tmp_path: Path) -> None:
    async with two_upstreams(tmp_path) as (a, b, live), live.client() as client:
        answer = (await client.post("/mj/submit/imagine", json={"prompt": "x"})).json()
        parent = await wait_for_status(client, answer["result"], {"SUCCESS"})
        # Prefer the backup for new jobs from now on: the parent's actions still go to primary.
        a.faults.submit_code = 23
        fresh = (await client.post("/mj/submit/imagine", json={"prompt": "y"})).json()
        assert (await channel_and_attempts(live, fresh["result"]))[0] == "backup"
        a.faults.submit_code = None
        u1 = parent["buttons"][0]["customId"]
        action = (
            await client.post("/mj/submit/action", json={"taskId": parent["id"], "customId": u1})
        ).json()
        assert action["code"] == 1
        assert (await channel_and_attempts(live, action["result"]))[0] == "primary"
        assert len(a.calls("/mj/submit/action")) == 1

        a.faults.submit_code = 23  # the parent's channel is full: no failover for actions
        refused = (
            await client.post("/mj/submit/action", json={"taskId": parent["id"], "customId": u1})
        ).json()
        assert refused["code"] == 23
        assert b.calls("/mj/submit/action") == []
