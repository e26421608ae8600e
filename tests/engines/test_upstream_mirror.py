"""Mirroring finished images into our media store, SSRF-guarded and size-limited."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
from tests.support.fake_upstream import FakeUpstream
from tests.support.live import LiveRelay, wait_for_status
from tests.support.upstream_env import relay_for, upstream_channel


async def finish_one(client: httpx.AsyncClient) -> dict[str, Any]:
    answer = (await client.post("/mj/submit/imagine", json={"prompt": "a gull"})).json()
    return await wait_for_status(client, answer["result"], {"SUCCESS", "FAILURE"})


async def settled(live: LiveRelay, client: httpx.AsyncClient, task_id: str) -> dict[str, Any]:
    """The task once its mirror is done or failed."""
    for _ in range(200):
        record = await live.relay.lifecycle.store.get(task_id)
        assert record is not None
        if record.engine_state.get("mirror") in ("done", "failed"):
            return (await client.get(f"/mj/task/{task_id}/fetch")).json()  # type: ignore[no-any-return]
        await asyncio.sleep(0.02)
    raise AssertionError("mirror never settled")


async def test_cdn_images_are_mirrored_and_then_served_by_us(tmp_path: Path) -> None:
    async with (
        FakeUpstream(image_host="localhost") as fake,
        relay_for(tmp_path / "d", [upstream_channel(fake)]) as live,
        live.client() as client,
    ):
        first = await finish_one(client)
        task = await settled(live, client, first["id"])
        assert task["imageUrl"].startswith(live.base_url + "/mj/image/")
        assert len(task["imageUrls"]) == 4
        for url in (task["imageUrl"], *task["imageUrls"]):
            image = await client.get(url)
            assert image.status_code == 200 and image.content == fake.image


async def test_images_on_the_upstream_host_are_never_shown_before_the_mirror(
    tmp_path: Path,
) -> None:
    async with (
        FakeUpstream(image_host="127.0.0.1") as fake,
        relay_for(tmp_path / "d", [upstream_channel(fake, mirror_allow_hosts=[])]) as live,
        live.client() as client,
    ):
        answer = (await client.post("/mj/submit/imagine", json={"prompt": "a gull"})).json()
        seen = []
        while True:
            task = (await client.get(f"/mj/task/{answer['result']}/fetch")).json()
            seen.append(task)
            if task["status"] == "SUCCESS":
                break
            await asyncio.sleep(0.01)
        assert all(f":{fake.port}" not in str(t) for t in seen)
        assert task["imageUrl"].startswith(live.base_url + "/mj/image/")  # mirrored at success
        assert (await client.get(task["imageUrl"])).content == fake.image


async def test_mirror_refuses_loopback_hosts_not_allowlisted(tmp_path: Path) -> None:
    # 127.0.0.2 is loopback but not the channel's address (127.0.0.1): refused.
    async with (
        FakeUpstream(image_host="127.0.0.2") as fake,
        relay_for(tmp_path / "d", [upstream_channel(fake, mirror_allow_hosts=[])]) as live,
        live.client() as client,
    ):
        first = await finish_one(client)
        task = await settled(live, client, first["id"])
        record = await live.relay.lifecycle.store.get(first["id"])
        assert record is not None and record.engine_state["mirror"] == "failed"
        assert task["imageUrl"].startswith(f"http://127.0.0.2:{fake.port}/cdn/")  # upstream's
        assert not list((tmp_path / "d" / "images").glob("*"))


async def test_mirror_is_size_limited(tmp_path: Path) -> None:
    async with (
        FakeUpstream(image_host="localhost", image_size=256) as fake,
        relay_for(tmp_path / "d", [upstream_channel(fake, mirror_max_bytes=300)]) as live,
        live.client() as client,
    ):
        assert len(fake.image) > 300
        first = await finish_one(client)
        await settled(live, client, first["id"])
        record = await live.relay.lifecycle.store.get(first["id"])
        assert record is not None and record.engine_state["mirror"] == "failed"
        assert not list((tmp_path / "d" / "images").glob("*"))


async def test_operator_allowlisted_hosts_are_mirrored(tmp_path: Path) -> None:
    async with (
        FakeUpstream(image_host="127.0.0.2") as fake,
        relay_for(
            tmp_path / "d", [upstream_channel(fake, mirror_allow_hosts=["127.0.0.2"])]
        ) as live,
        live.client() as client,
    ):
        first = await finish_one(client)
        task = await settled(live, client, first["id"])
        assert task["imageUrl"].startswith(live.base_url + "/mj/image/")
        assert (await client.get(task["imageUrl"])).content == fake.image


async def test_a_mirror_cut_short_by_a_restart_is_finished_after_it(tmp_path: Path) -> None:
    async with FakeUpstream(image_host="localhost") as fake:
        fake.faults.image_delay = 30  # the CDN hangs: the relay stops mid-mirror
        async with relay_for(tmp_path / "d", [upstream_channel(fake)]) as live:
            async with live.client() as client:
                first = await finish_one(client)
            record = await live.relay.lifecycle.store.get(first["id"])
            assert record is not None and record.engine_state["mirror"] == "pending"
        fake.faults.image_delay = 0
        async with (
            relay_for(tmp_path / "d", [upstream_channel(fake)]) as live,
            live.client() as client,
        ):
            task = await settled(live, client, first["id"])
            assert task["imageUrl"].startswith(live.base_url + "/mj/image/")
            assert (await client.get(task["imageUrl"])).content == fake.image
