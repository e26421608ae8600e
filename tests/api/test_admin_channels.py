"""``/admin/channels``: listing without secrets, disable/enable through the CLI's service, audit."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from pydantic import SecretStr
from tests.api.test_admin import TOKEN, admin_client
from tests.services.channels.test_channel_routing_live import channel_of, sandbox_channel
from tests.support.fake_upstream import FakeUpstream
from tests.support.upstream_env import relay_for, upstream_channel
from typer.testing import CliRunner

from mjrelay.cli import app


async def test_channels_are_listed_switched_audited_and_route_accordingly(
    tmp_path: Path,
) -> None:
    async with FakeUpstream(secret="upstream-secret-xyz", job_seconds=60) as fake:
        channels = [
            sandbox_channel("sandbox", priority=10),
            upstream_channel(fake, "up", priority=0, max_concurrency=3, modes=["fast"]),
        ]
        async with (
            relay_for(tmp_path / "data", channels, admin_token=SecretStr(TOKEN)) as live,
            admin_client(live) as admin,
            live.client() as client,
        ):
            answer = await admin.get("/admin/channels")
            assert answer.status_code == 200
            text = answer.text
            for secret in (fake.secret, fake.base_url, f":{fake.port}"):
                assert secret not in text, secret
            assert "options" not in text
            listed = {channel["name"]: channel for channel in answer.json()["result"]}
            assert set(listed) == {"sandbox", "up"}
            up = listed["up"]
            assert (up["engine"], up["enabled"], up["paused"], up["status"]) == (
                "upstream",
                True,
                False,
                "active",
            )
            assert (up["priority"], up["weight"], up["modes"], up["maxConcurrency"]) == (
                0,
                1,
                ["fast"],
                3,
            )
            assert up["health"] == {"breaker": "closed", "consecutiveFailures": 0}
            assert (up["inFlight"], up["lastError"], up["source"]) == (0, "", "config")
            assert listed["sandbox"]["priority"] == 10
            assert up["running"] and listed["sandbox"]["running"]

            async def imagine() -> str:
                body = (await client.post("/mj/submit/imagine", json={"prompt": "cat"})).json()
                assert body["code"] == 1, body
                return str(body["result"])

            assert await channel_of(live, await imagine()) == "sandbox"

            off = await admin.post("/admin/channels/sandbox/disable")
            assert off.json()["result"] == {"name": "sandbox", "enabled": True, "paused": True}
            listed = {c["name"]: c for c in (await admin.get("/admin/channels")).json()["result"]}
            assert listed["sandbox"]["status"] == "paused"
            moved = await imagine()
            assert await channel_of(live, moved) == "up"
            assert len(fake.calls("imagine")) == 1
            # The upstream job runs for long: it is in flight on "up" for the rest of the test.
            listed = {c["name"]: c for c in (await admin.get("/admin/channels")).json()["result"]}
            assert listed["up"]["inFlight"] == 1
            metrics = (await admin.get("/metrics")).text
            assert 'mjrelay_channel_in_flight{channel="up"} 1.0' in metrics
            assert 'mjrelay_channel_breaker_open{channel="sandbox"} 0.0' in metrics

            on = await admin.post("/admin/channels/sandbox/enable")
            assert on.json()["result"]["paused"] is False
            assert await channel_of(live, await imagine()) == "sandbox"
            assert len(fake.calls("imagine")) == 1

            missing = await admin.post("/admin/channels/nope/disable")
            assert missing.json()["code"] == 3

            audit = (await admin.get("/admin/audit")).json()["result"]
            switches = [
                (e["action"], e["target"]) for e in audit if e["action"].startswith("channel.")
            ]
            assert sorted(switches) == [
                ("channel.disable", "channel:sandbox"),
                ("channel.enable", "channel:sandbox"),
            ]


async def test_wrong_token_cannot_list_or_switch_channels(tmp_path: Path) -> None:
    channels = [sandbox_channel("sandbox")]
    async with relay_for(tmp_path / "data", channels, admin_token=SecretStr(TOKEN)) as live:
        for token in ("nope", live.key):
            async with admin_client(live, token) as intruder:
                assert (await intruder.get("/admin/channels")).status_code == 401
                refused = await intruder.post("/admin/channels/sandbox/disable")
                assert refused.status_code == 401
        async with admin_client(live) as admin:
            listed = (await admin.get("/admin/channels")).json()["result"]
            assert [(c["name"], c["paused"]) for c in listed] == [("sandbox", False)]
            audit = (await admin.get("/admin/audit")).json()["result"]
            assert not [e for e in audit if e["action"].startswith("channel.")]


async def test_cli_and_http_switches_write_the_same_audit_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One service audits both paths: only the actor tells a CLI switch from an HTTP one."""
    data_dir = tmp_path / "data"
    monkeypatch.setenv("MJRELAY_DATA_DIR", str(data_dir))
    monkeypatch.delenv("MJRELAY_CONFIG", raising=False)
    channels = [sandbox_channel("sandbox"), sandbox_channel("spare")]
    config = tmp_path / "mjrelay.toml"
    config.write_text(
        '[[channels]]\nname = "sandbox"\nengine = "sandbox"\n'
        '[[channels]]\nname = "spare"\nengine = "sandbox"\n'
    )
    async with relay_for(data_dir, channels, admin_token=SecretStr(TOKEN)) as live:
        cli = await asyncio.to_thread(
            CliRunner().invoke, app, ["channels", "disable", "spare", "--config", str(config)]
        )
        assert cli.exit_code == 0, cli.output
        async with admin_client(live) as admin:
            assert (await admin.post("/admin/channels/sandbox/disable")).json()["code"] == 1
            audit = (await admin.get("/admin/audit")).json()["result"]
    switches = {e["target"]: e for e in audit if e["action"].startswith("channel.")}
    assert set(switches) == {"channel:spare", "channel:sandbox"}
    by_cli, by_http = switches["channel:spare"], switches["channel:sandbox"]
    assert (by_cli["actor"], by_http["actor"]) == ("cli", "admin-api")
    assert by_cli["action"] == by_http["action"] == "channel.disable"
    assert by_cli["details"] == by_http["details"]
    assert set(by_cli) == set(by_http)
