"""Gateway resilience against the fake Discord: resume, re-identify, zombies, dead tokens."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from tests.support.discord_env import discord_channel, discord_relay, imagine_done, submit
from tests.support.fake_discord import running_fake_discord
from tests.support.live import LiveRelay, wait_for_status
from tests.support.waiting import until
from typer.testing import CliRunner

from mjrelay.cli import app
from mjrelay.engines.discord.engine import DiscordEngine


def _engine(live: LiveRelay, name: str) -> DiscordEngine:
    engine = live.relay.registry.get(name)
    assert isinstance(engine, DiscordEngine)
    return engine


async def test_reconnect_request_mid_job_resumes_without_losing_progress(tmp_path: Path) -> None:
    async with running_fake_discord() as fake:
        account = fake.add_account("kim")
        fake.bot.controls.progress_steps = 4
        fake.bot.controls.step_delay = 0.05
        fake.bot.controls.reconnect_mid_job = True
        channel = discord_channel(fake, account, "acct-1")
        async with discord_relay(tmp_path / "d", [channel]) as live, live.client() as client:
            task = await imagine_done(client, "a resumed cat")
            assert task["status"] == "SUCCESS", task
            stats = _engine(live, "acct-1").gateway.stats  # type: ignore[union-attr]
            assert stats.reconnect_requests == 1
            assert (fake.gateway.identifies, fake.gateway.resumes) == (1, 1)
            assert fake.gateway.paths == ["/", "/resume/"]  # resumed at resume_gateway_url
            # Every progress update reached the engine, including those sent during the gap.
            assert stats.events >= 1 + 2 + 1 + 4 + 2


async def test_invalid_session_mid_job_identifies_again_and_finishes(tmp_path: Path) -> None:
    async with running_fake_discord() as fake:
        account = fake.add_account("lou")
        fake.bot.controls.gate = asyncio.Event()
        fake.bot.controls.invalidate_mid_job = True
        channel = discord_channel(fake, account, "acct-1")
        async with discord_relay(tmp_path / "d", [channel]) as live, live.client() as client:
            answer = await submit(client, "/mj/submit/imagine", {"prompt": "a patient cat"})
            await until(lambda: fake.gateway.identifies == 2, within=10)
            await until(lambda: _engine(live, "acct-1").gateway.ready.is_set(), within=10)  # type: ignore[union-attr]
            fake.bot.controls.gate.set()
            task = await wait_for_status(client, answer["result"], {"SUCCESS", "FAILURE"})
            assert task["status"] == "SUCCESS", task
            assert _engine(live, "acct-1").gateway.stats.invalid_sessions == 1  # type: ignore[union-attr]


async def test_missed_heartbeat_ack_reconnects(tmp_path: Path) -> None:
    async with running_fake_discord() as fake:
        account = fake.add_account("max")
        fake.gateway.controls.heartbeat_interval_ms = 150
        fake.gateway.controls.ack_heartbeats = False
        channel = discord_channel(fake, account, "acct-1")
        async with discord_relay(tmp_path / "d", [channel]) as live, live.client() as client:
            gateway = _engine(live, "acct-1").gateway
            assert gateway is not None
            await until(
                lambda: gateway.stats.missed_acks >= 1 and fake.gateway.resumes >= 1, within=10
            )
            fake.gateway.controls.ack_heartbeats = True
            assert (await imagine_done(client, "an awake cat"))["status"] == "SUCCESS"
            assert fake.gateway.identifies == 1  # resumed, never re-identified


def _toml(channels: list[dict[str, Any]], data_dir: Path) -> str:
    lines = [f"data_dir = {json.dumps(str(data_dir))}", ""]
    for channel in channels:
        lines.append("[[channels]]")
        lines.extend(f"{key} = {json.dumps(value)}" for key, value in channel.items())
        lines.append("")
    return "\n".join(lines)


async def test_revoked_token_disables_account_and_moves_its_jobs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async with running_fake_discord() as fake:
        dead, spare = fake.add_account("ned"), fake.add_account("oli")
        fake.bot.controls.gate = asyncio.Event()
        channels = [
            discord_channel(fake, dead, "acct-dead", priority=10, core_size=1, queue_size=5),
            discord_channel(fake, spare, "acct-spare", core_size=3),
        ]
        data_dir = tmp_path / "d"
        async with discord_relay(data_dir, channels) as live, live.client() as client:
            running = await submit(client, "/mj/submit/imagine", {"prompt": "first cat"})
            queued = await submit(client, "/mj/submit/imagine", {"prompt": "second cat"})
            assert (running["code"], queued["code"]) == (1, 22)
            await wait_for_status(client, running["result"], {"IN_PROGRESS"})
            await fake.revoke(dead)
            await until(lambda: bool(_engine(live, "acct-dead").disabled_reason), within=10)
            fake.bot.controls.gate.set()
            for answer in (running, queued):
                task = await wait_for_status(client, answer["result"], {"SUCCESS", "FAILURE"})
                assert task["status"] == "SUCCESS", task
            by_channel = [p["channel_id"] for p in fake.interactions]
            assert by_channel.count(spare.channel_id) == 2
            # New jobs skip the dead account.
            assert (await imagine_done(client, "third cat"))["status"] == "SUCCESS"
            assert fake.interactions[-1]["channel_id"] == spare.channel_id
            state = await live.relay.channels._store.get_state("acct-dead")
            assert "4004" in state["disabled_reason"]
            assert dead.token not in json.dumps(state)

        logged = capsys.readouterr()
        assert "discord account disabled" in logged.out
        assert dead.token not in logged.out + logged.err
        assert spare.token not in logged.out + logged.err

        # Operators see the reason; nobody sees the token.
        config = tmp_path / "mjrelay.toml"
        config.write_text(_toml(channels, data_dir))
        monkeypatch.setenv("MJRELAY_CONFIG", str(config))
        monkeypatch.setenv("MJRELAY_DATA_DIR", str(data_dir))
        listing = await asyncio.to_thread(CliRunner().invoke, app, ["channels", "list"])
        assert listing.exit_code == 0, listing.output
        assert dead.token not in listing.output and spare.token not in listing.output
        rows = {line.split()[0]: line for line in listing.output.splitlines() if line.strip()}
        assert rows["acct-dead"].split()[2] == "dead"
        assert rows["acct-spare"].split()[2] == "active"
        assert "reason: Discord closed the gateway with 4004" in listing.output


async def test_revoked_token_without_spare_fails_jobs_clearly(tmp_path: Path) -> None:
    async with running_fake_discord() as fake:
        only = fake.add_account("pam")
        fake.bot.controls.gate = asyncio.Event()
        channel = discord_channel(fake, only, "acct-1")
        async with discord_relay(tmp_path / "d", [channel]) as live, live.client() as client:
            answer = await submit(client, "/mj/submit/imagine", {"prompt": "lonely cat"})
            await wait_for_status(client, answer["result"], {"IN_PROGRESS"})
            await fake.revoke(only)
            task = await wait_for_status(client, answer["result"], {"FAILURE"})
            assert task["failReason"].startswith(
                "Discord account acct-1 was disabled: Discord closed the gateway with 4004"
            )
            assert task["failReason"].endswith("no other channel could take the job")
            refused = await submit(client, "/mj/submit/imagine", {"prompt": "another"})
            assert refused["code"] == 3, refused


async def test_relay_restart_mid_job_resumes_the_session_and_finishes(tmp_path: Path) -> None:
    async with running_fake_discord() as fake:
        account = fake.add_account("quin")
        fake.bot.controls.gate = asyncio.Event()
        channel = discord_channel(fake, account, "acct-1")
        data_dir = tmp_path / "d"
        async with discord_relay(data_dir, [channel]) as live, live.client() as client:
            answer = await submit(client, "/mj/submit/imagine", {"prompt": "a restarted cat"})
            await wait_for_status(client, answer["result"], {"IN_PROGRESS"})
        # The relay is down; the bot finishes meanwhile (kept for the session's resume).
        fake.bot.controls.gate.set()
        await until(lambda: fake.bot.running == 0, within=10)
        async with discord_relay(data_dir, [channel]) as live, live.client() as client:
            task = await wait_for_status(client, answer["result"], {"SUCCESS", "FAILURE"})
            assert task["status"] == "SUCCESS", task
            assert fake.gateway.identifies == 1 and fake.gateway.resumes == 1
