"""``kill -9`` of a relaying ``mjrelay serve`` mid-flight, then a restart: nothing is lost.

The relay runs as a real subprocess with a TOML config pointing at the fake upstream. While it
is dead the upstream finishes jobs and its callbacks bounce; after the restart the poller
catches every task up from the upstream.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from tests.support.fake_upstream import FakeUpstream
from tests.support.live import wait_for_status
from tests.support.server_process import ServerProcess, cli, free_port, relay_env
from tests.support.waiting import until


def config_for(tmp_path: Path, fake: FakeUpstream, port: int) -> Path:
    path = tmp_path / "mjrelay.toml"
    path.write_text(
        f"""
public_url = "http://127.0.0.1:{port}"

[[channels]]
name = "upstream-1"
engine = "upstream"
base_url = "{fake.base_url}"
secret = "{fake.secret}"
auth = "{fake.auth}"
poll_min_seconds = 0.2
poll_max_seconds = 1.0
mirror_allow_hosts = ["localhost"]
"""
    )
    return path


async def test_kill_9_mid_flight_then_restart_loses_nothing(tmp_path: Path) -> None:
    async with FakeUpstream(job_seconds=2.0, progress_steps=3) as fake:
        port = free_port()
        env = relay_env(tmp_path / "data", MJRELAY_CONFIG=str(config_for(tmp_path, fake, port)))
        created = await asyncio.to_thread(cli, env, "keys", "create", "--name", "t")
        assert created.returncode == 0, created.stderr
        headers = {"Authorization": f"Bearer {created.stdout.strip().splitlines()[-1]}"}
        server = ServerProcess(env, port, tmp_path / "serve.log")
        # Started from a thread: the fake upstream in this loop must keep answering meanwhile.
        await asyncio.to_thread(server.start)
        try:
            async with httpx.AsyncClient(base_url=server.base_url, headers=headers) as client:
                ids = []
                for i in range(6):
                    answer = (
                        await client.post("/mj/submit/imagine", json={"prompt": f"job {i}"})
                    ).json()
                    assert answer["code"] == 1, answer
                    ids.append(answer["result"])
                await wait_for_status(client, ids[0], {"IN_PROGRESS"})
            server.kill()

            # Dead: the upstream finishes the jobs and its callbacks to us bounce.
            await until(
                lambda: len(fake.completed_at) == 6 and fake.callback_failures > 0, within=20
            )

            await asyncio.to_thread(server.start)
            async with httpx.AsyncClient(base_url=server.base_url, headers=headers) as client:
                for task_id in ids:
                    task = await wait_for_status(client, task_id, {"SUCCESS", "FAILURE"})
                    assert task["status"] == "SUCCESS", task
                    assert len(task["buttons"]) == 9
                listed = (await client.get("/mj/task/list")).json()
                assert sorted(t["id"] for t in listed) == sorted(ids)
                # Still relaying after the restart: an action on a task from before the crash.
                parent = (await client.get(f"/mj/task/{ids[0]}/fetch")).json()
                action = (
                    await client.post(
                        "/mj/submit/action",
                        json={"taskId": ids[0], "customId": parent["buttons"][0]["customId"]},
                    )
                ).json()
                assert action["code"] == 1
                done = await wait_for_status(client, action["result"], {"SUCCESS", "FAILURE"})
                assert done["status"] == "SUCCESS"
        finally:
            server.stop()
