"""Channels end to end over real HTTP with sandbox channels: failover, affinity, modes, pausing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mjrelay.core.settings import Settings
from mjrelay.store.channels import ChannelStore
from tests.support.live import LiveRelay, running_relay, wait_for_status
from tests.support.settings import fast_settings


def sandbox_channel(name: str, **fields: Any) -> dict[str, Any]:
    return {"name": name, "engine": "sandbox", **fields}


def two_channel_settings(tmp_path: Path) -> Settings:
    return fast_settings(
        tmp_path / "data",
        channels=[
            sandbox_channel("a", priority=10, core_size=1, queue_size=0, job_seconds=0.6),
            sandbox_channel("b", priority=0, options={"job_seconds": 0.05, "progress_steps": 1}),
        ],
        channel_refresh_seconds=0.1,
    )


async def channel_of(live: LiveRelay, task_id: str) -> str:
    record = await live.relay.lifecycle.store.get(task_id)
    assert record is not None
    return record.engine


async def test_busy_channel_fails_over_and_actions_stay_on_their_parent_channel(
    tmp_path: Path,
) -> None:
    async with running_relay(two_channel_settings(tmp_path)) as live, live.client() as client:
        first = (await client.post("/mj/submit/imagine", json={"prompt": "one"})).json()
        second = (await client.post("/mj/submit/imagine", json={"prompt": "two"})).json()
        assert first["code"] == 1 and second["code"] == 1
        assert await channel_of(live, first["result"]) == "a"
        assert await channel_of(live, second["result"]) == "b"
        moved = await live.relay.lifecycle.store.get(second["result"])
        assert moved is not None
        assert [(a["channel"], a["code"]) for a in moved.engine_state["attempts"]] == [("a", 23)]
        # The wire task shows none of this.
        wire = (await client.get(f"/mj/task/{second['result']}/fetch")).json()
        assert "attempts" not in str(wire)

        done_b = await wait_for_status(client, second["result"], {"SUCCESS"})
        done_a = await wait_for_status(client, first["result"], {"SUCCESS"})
        for parent, expected in ((done_b, "b"), (done_a, "a")):
            action = (
                await client.post(
                    "/mj/submit/action",
                    json={"taskId": parent["id"], "customId": parent["buttons"][0]["customId"]},
                )
            ).json()
            assert action["code"] == 1, action
            assert await channel_of(live, action["result"]) == expected
            await wait_for_status(client, action["result"], {"SUCCESS"})


async def test_all_channels_full_is_code_23_and_nothing_is_kept(tmp_path: Path) -> None:
    settings = fast_settings(
        tmp_path / "data",
        channels=[
            sandbox_channel("a", core_size=1, queue_size=0, job_seconds=1),
            sandbox_channel("b", core_size=1, queue_size=0, job_seconds=1),
        ],
    )
    async with running_relay(settings) as live, live.client() as client:
        answers = [
            (await client.post("/mj/submit/imagine", json={"prompt": f"p{i}"})).json()
            for i in range(3)
        ]
        assert [a["code"] for a in answers] == [1, 1, 23]
        assert {await channel_of(live, a["result"]) for a in answers[:2]} == {"a", "b"}
        listed = (await client.get("/mj/task/list")).json()
        assert len(listed) == 2


async def test_mode_prefix_routes_to_channels_serving_that_mode(tmp_path: Path) -> None:
    settings = fast_settings(
        tmp_path / "data",
        channels=[
            sandbox_channel("fast1", modes=["fast", "turbo"], priority=5),
            sandbox_channel("relax1", modes=["relax"]),
        ],
    )
    async with running_relay(settings) as live, live.client() as client:
        relaxed = (await client.post("/mj-relax/mj/submit/imagine", json={"prompt": "x"})).json()
        fast = (await client.post("/mj-fast/mj/submit/imagine", json={"prompt": "x"})).json()
        plain = (await client.post("/mj/submit/imagine", json={"prompt": "x"})).json()
        assert await channel_of(live, relaxed["result"]) == "relax1"
        assert await channel_of(live, fast["result"]) == "fast1"
        assert await channel_of(live, plain["result"]) == "fast1"

    settings = fast_settings(
        tmp_path / "data2", channels=[sandbox_channel("fast1", modes=["fast"])]
    )
    async with running_relay(settings) as live, live.client() as client:
        answer = (await client.post("/mj-relax/mj/submit/imagine", json={"prompt": "x"})).json()
        assert answer["code"] == 3
        assert "relax" in answer["description"]


async def test_paused_channel_takes_no_new_jobs_and_refuses_actions(tmp_path: Path) -> None:
    async with running_relay(two_channel_settings(tmp_path)) as live, live.client() as client:
        first = (await client.post("/mj/submit/imagine", json={"prompt": "one"})).json()
        parent = await wait_for_status(client, first["result"], {"SUCCESS"})
        assert await channel_of(live, parent["id"]) == "a"

        await ChannelStore(live.relay.db).set_paused("a", True)
        await live.relay.channels.refresh()
        again = (await client.post("/mj/submit/imagine", json={"prompt": "two"})).json()
        assert await channel_of(live, again["result"]) == "b"
        action = (
            await client.post(
                "/mj/submit/action",
                json={"taskId": parent["id"], "customId": parent["buttons"][0]["customId"]},
            )
        ).json()
        assert action["code"] == 3
        assert parent["id"] in action["description"]


async def test_no_config_keeps_the_implicit_sandbox_channel(tmp_path: Path) -> None:
    async with running_relay(fast_settings(tmp_path / "data")) as live, live.client() as client:
        answer = (await client.post("/mj/submit/imagine", json={"prompt": "x"})).json()
        assert answer["code"] == 1
        assert await channel_of(live, answer["result"]) == "sandbox"
        specs = {spec.name: spec for spec in await ChannelStore(live.relay.db).all()}
        assert specs["sandbox"].source == "default"


async def test_a_channel_with_bad_options_is_skipped_not_fatal(tmp_path: Path) -> None:
    settings = fast_settings(
        tmp_path / "data",
        channels=[
            sandbox_channel("broken", priority=10, core_size="many"),
            sandbox_channel("fine"),
        ],
    )
    async with running_relay(settings) as live, live.client() as client:
        answer = (await client.post("/mj/submit/imagine", json={"prompt": "x"})).json()
        assert answer["code"] == 1
        assert await channel_of(live, answer["result"]) == "fine"
        assert live.relay.registry.get("broken") is None
