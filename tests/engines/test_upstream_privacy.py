"""Clients see only mjrelay ids: upstream ids, keys and hosts stay out of answers and logs."""

from __future__ import annotations

import base64
from pathlib import Path

import httpx
import pytest
from tests.support.fake_upstream import FakeUpstream
from tests.support.live import wait_for_status
from tests.support.upstream_env import relay_for, upstream_channel


async def test_nothing_upstream_leaks(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    bodies: list[str] = []

    async def keep(response: httpx.Response) -> None:
        await response.aread()
        bodies.append(response.text)

    async with (
        FakeUpstream(secret="primary-secret-xyz", image_host="127.0.0.1") as a,
        FakeUpstream(secret="backup-secret-xyz", auth="bearer", image_host="127.0.0.1") as b,
        relay_for(
            tmp_path / "d",
            [upstream_channel(a, "primary", priority=5), upstream_channel(b, "backup")],
        ) as live,
        httpx.AsyncClient(
            base_url=live.base_url,
            headers={"Authorization": f"Bearer {live.key}"},
            event_hooks={"response": [keep]},
        ) as client,
    ):
        a.faults.submit_http_status = 500  # its error text must not reach anyone
        b.fail_reason = "job {id} failed on {base}/mj/"
        ok = (await client.post("/mj/submit/imagine", json={"prompt": "a"})).json()
        done = await wait_for_status(client, ok["result"], {"SUCCESS"})
        action = (
            await client.post(
                "/mj/submit/action",
                json={"taskId": done["id"], "customId": done["buttons"][0]["customId"]},
            )
        ).json()
        await wait_for_status(client, action["result"], {"SUCCESS"})
        b.faults.fail_jobs = True
        bad = (await client.post("/mj/submit/imagine", json={"prompt": "b"})).json()
        failed = await wait_for_status(client, bad["result"], {"FAILURE"})
        assert failed["failReason"] == "job [upstream] failed on http://[upstream]/mj/"
        await client.get("/mj/task/list")
        await client.post("/mj/task/list-by-condition", json={"ids": [ok["result"]]})
        await client.get(f"/mj/task/{done['id']}/image-seed")
        a.faults.submit_http_status = None
        b.faults.submit_code = 9
        a.faults.submit_code = 9
        everything_failed = (await client.post("/mj/submit/imagine", json={"prompt": "c"})).json()
        assert everything_failed["code"] == 9

        ours = {ok["result"], action["result"], bad["result"]}
        upstream_ids = (set(a.tasks) | set(b.tasks)) - ours
        assert upstream_ids
        forbidden = [
            "primary-secret-xyz",
            "backup-secret-xyz",
            base64.b64encode(b"primary-secret-xyz").decode(),
            f"127.0.0.1:{a.port}",
            f"127.0.0.1:{b.port}",
            "upstream exploded",
            *upstream_ids,
        ]
        logs = capfd.readouterr()
        assert "submit attempt failed" in logs.out + logs.err  # the logs were captured
        for text in (*bodies, logs.out, logs.err):
            for secret in forbidden:
                assert secret not in text, (secret, text[:2000])
