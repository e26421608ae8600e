"""Two relays on one PostgreSQL database share an upstream channel without double work.

One instance at a time holds the channel's poll lease; the other takes over when the holder
goes away. Every task state is saved once, whichever instance hears about it first.
"""

from __future__ import annotations

from collections import Counter
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.support.databases import fresh_postgres_database
from tests.support.fake_upstream import FakeUpstream
from tests.support.live import LiveRelay, wait_for_status
from tests.support.upstream_env import relay_for, upstream_channel

from mjrelay.domain.record import TaskRecord
from mjrelay.engines.upstream import UpstreamEngine

pytestmark = pytest.mark.postgres


def poller_of(live: LiveRelay) -> Any:
    engine = live.relay.registry.get("shared")
    assert isinstance(engine, UpstreamEngine)
    return engine.poller


async def submit(client: httpx.AsyncClient, n: int) -> list[str]:
    ids = []
    for i in range(n):
        answer = (await client.post("/mj/submit/imagine", json={"prompt": f"p{i}"})).json()
        assert answer["code"] == 1, answer
        ids.append(answer["result"])
    return ids


@pytest.mark.parametrize("push", [False, True])
async def test_two_instances_share_polling_and_take_over(tmp_path: Path, push: bool) -> None:
    saved: list[tuple[str, str, str, str]] = []

    async def remember(record: TaskRecord) -> None:
        task = record.task
        saved.append((record.id, task.status.value, task.progress, task.image_url))

    async with fresh_postgres_database() as url, FakeUpstream(job_seconds=1.0) as fake:
        # Without push, status comes only from polling: double polling would show at once.
        channel = upstream_channel(fake, "shared", push=push, poll_max_seconds=0.6)
        shared_data = tmp_path / "shared-data"  # one media store (a shared volume in production)
        stacks = {"a": AsyncExitStack(), "b": AsyncExitStack()}
        relays: dict[str, LiveRelay] = {}
        try:
            for name, stack in stacks.items():  # one after the other: each runs migrations
                relays[name] = await stack.enter_async_context(
                    relay_for(shared_data, [channel], database_url=url)
                )
                relays[name].relay.lifecycle.add_listener(remember)
            first, second = relays["a"], relays["b"]
            async with first.client() as c1, second.client(second.key) as c2:
                ids = await submit(c1, 10) + await submit(c2, 10)
                for task_id in ids:
                    task = await wait_for_status(c1, task_id, {"SUCCESS", "FAILURE"})
                    assert task["status"] == "SUCCESS"
                    other = (await c2.get(f"/mj/task/{task_id}/fetch")).json()
                    assert other["status"] == "SUCCESS"
                    assert (await c2.get(other["imageUrl"])).status_code == 200
            holders = {name: poller_of(live).leased for name, live in relays.items()}
            assert sorted(holders.values()) == [False, True]
            assert len({r.instance for r in fake.calls("list-by-condition")}) == 1
            # Each state of each task was saved exactly once across both instances.
            dupes = [k for k, v in Counter(saved).items() if v > 1]
            assert not dupes, dupes
            assert {s[0] for s in saved} >= set(ids)

            # The lease holder goes away; the other instance takes the channel over.
            leader = next(name for name, held in holders.items() if held)
            survivor = relays["b" if leader == "a" else "a"]
            await stacks.pop(leader).aclose()
            calls_before = len(fake.calls("list-by-condition"))
            fake.faults.callbacks = False  # only polling can finish these
            async with survivor.client(survivor.key) as client:
                for task_id in await submit(client, 3):
                    task = await wait_for_status(client, task_id, {"SUCCESS", "FAILURE"}, 20)
                    assert task["status"] == "SUCCESS"
            assert poller_of(survivor).leased
            late = fake.calls("list-by-condition")[calls_before:]
            assert late and len({r.instance for r in late}) == 1
        finally:
            for stack in stacks.values():
                await stack.aclose()
