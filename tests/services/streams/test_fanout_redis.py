"""Two relay instances, one PostgreSQL database, one Redis: a stream on either sees every task."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from mjrelay.core.settings import SandboxSettings
from tests.support.databases import fresh_postgres_database
from tests.support.live import running_relay
from tests.support.redis import require_redis
from tests.support.settings import fast_settings
from tests.support.sse import collect_task_stream, sse_tasks


async def test_a_stream_on_one_instance_follows_a_task_run_by_another(tmp_path: Path) -> None:
    redis_url = require_redis()
    channel = f"mjrelay-test:{uuid.uuid4().hex}"
    async with fresh_postgres_database() as database_url:

        def settings(name: str) -> Any:
            return fast_settings(
                tmp_path / name,
                database_url=database_url,
                redis_url=redis_url,
                redis_channel=channel,
                sandbox=SandboxSettings(job_seconds=0.6, progress_steps=3),
            )

        async with (
            running_relay(settings("a")) as a,
            running_relay(settings("b")) as b,
            a.client() as on_a,
            b.client() as on_b,
            on_b.stream("GET", "/mj/task/stream") as tenant_stream,
        ):
            submitted = await on_a.post("/mj/submit/imagine", json={"prompt": "a heron"})
            task_id = submitted.json()["result"]
            followed = await collect_task_stream(on_b, task_id)

            async def tenant_until_success() -> list[dict[str, Any]]:
                seen = []
                async for task in sse_tasks(tenant_stream):
                    seen.append(task)
                    if task["status"] == "SUCCESS":
                        return seen
                return seen

            from_tenant_stream = await asyncio.wait_for(tenant_until_success(), 10)

    # Instance b never ran the job: everything after its snapshot came through Redis.
    assert followed[-1]["status"] == "SUCCESS"
    assert followed[-1]["imageUrl"].startswith(b.base_url)  # b's own base URL swapped in
    assert any(0 < int(t["progress"].rstrip("%") or 0) < 100 for t in followed[1:]), followed
    assert [t["id"] for t in from_tenant_stream] == [task_id] * len(from_tenant_stream)
    assert {t["status"] for t in from_tenant_stream} >= {"IN_PROGRESS", "SUCCESS"}


async def test_malformed_messages_on_the_channel_are_ignored(tmp_path: Path) -> None:
    redis_url = require_redis()
    channel = f"mjrelay-test:{uuid.uuid4().hex}"
    settings = fast_settings(tmp_path / "data", redis_url=redis_url, redis_channel=channel)
    async with running_relay(settings) as live:
        publisher = aioredis.Redis.from_url(redis_url)
        try:
            for junk in (b"not json", b"[]", b'{"i": "x", "t": "one"}'):
                await publisher.publish(channel, junk)
        finally:
            await publisher.aclose()
        async with live.client() as client:
            task_id = (await client.post("/mj/submit/imagine", json={"prompt": "ok"})).json()[
                "result"
            ]
            seen = await collect_task_stream(client, task_id)
    assert seen[-1]["status"] == "SUCCESS"
