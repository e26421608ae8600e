"""``mjrelay channels`` against a real database, and seen by a running server."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from tests.support.live import running_relay
from tests.support.settings import fast_settings
from tests.support.waiting import until
from typer.testing import CliRunner

from mjrelay.cli import app


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    # Environment only (settings come from MJRELAY_* by design); no code is patched.
    monkeypatch.setenv("MJRELAY_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("MJRELAY_CONFIG", raising=False)
    return CliRunner()


def test_add_list_disable_enable(runner: CliRunner) -> None:
    added = runner.invoke(
        app,
        [
            "channels",
            "add",
            "extra",
            "--engine",
            "sandbox",
            "-o",
            "job_seconds=0.1",
            "--priority",
            "5",
            "--mode",
            "relax",
            "--max-concurrency",
            "3",
        ],
    )
    assert added.exit_code == 0, added.output
    listing = runner.invoke(app, ["channels", "list"])
    assert listing.exit_code == 0, listing.output
    lines = {line.split()[0]: line.split() for line in listing.output.splitlines()[1:]}
    assert lines["extra"][1:7] == ["sandbox", "active", "5", "1", "3", "relax"]
    assert lines["sandbox"][2] == "active"  # the implicit channel, synced on list

    assert runner.invoke(app, ["channels", "disable", "extra"]).exit_code == 0
    listing = runner.invoke(app, ["channels", "list"])
    assert "paused" in next(line for line in listing.output.splitlines() if "extra" in line)
    assert runner.invoke(app, ["channels", "enable", "extra"]).exit_code == 0
    listing = runner.invoke(app, ["channels", "list"])
    assert "active" in next(line for line in listing.output.splitlines() if "extra" in line)

    again = runner.invoke(app, ["channels", "add", "extra", "--engine", "sandbox"])
    assert again.exit_code == 1
    assert "already exists" in again.output
    missing = runner.invoke(app, ["channels", "disable", "nope"])
    assert missing.exit_code == 1
    assert "no channel named" in missing.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--engine", "warp"], "unknown engine 'warp'"),
        (
            ["--engine", "sandbox", "-o", "job_secs=1"],
            "unknown option(s) for engine sandbox: job_secs",
        ),
        (["--engine", "sandbox", "-o", "core_size=0"], "core_size"),
        (["--engine", "sandbox", "--mode", "ludicrous"], "modes"),
        (["--engine", "sandbox", "-o", "novalue"], "key=value"),
    ],
)
def test_add_refuses_bad_channels_with_the_field_named(
    runner: CliRunner, args: list[str], message: str
) -> None:
    result = runner.invoke(app, ["channels", "add", "bad", *args])
    assert result.exit_code != 0
    assert message in result.output
    assert "bad" not in runner.invoke(app, ["channels", "list"]).output.split()


async def test_running_server_picks_up_added_and_disabled_channels(
    runner: CliRunner, tmp_path: Path
) -> None:
    settings = fast_settings(tmp_path / "data", channel_refresh_seconds=0.1)
    async with running_relay(settings) as live, live.client() as client:
        result = await asyncio.to_thread(
            runner.invoke, app, ["channels", "add", "vip", "--engine", "sandbox", "--priority", "9"]
        )
        assert result.exit_code == 0, result.output
        registry = live.relay.dispatcher.router.registry
        # The server's periodic refresh (every 0.1 s here) builds the new channel's engine.
        await until(lambda: registry.get("vip") is not None)
        answer = (await client.post("/mj/submit/imagine", json={"prompt": "x"})).json()
        record = await live.relay.lifecycle.store.get(answer["result"])
        assert record is not None and record.engine == "vip"

        result = await asyncio.to_thread(runner.invoke, app, ["channels", "disable", "vip"])
        assert result.exit_code == 0, result.output

        def vip_paused() -> bool:
            spec = registry.spec("vip")
            return spec is not None and spec.paused

        await until(vip_paused)
        answer = (await client.post("/mj/submit/imagine", json={"prompt": "y"})).json()
        record = await live.relay.lifecycle.store.get(answer["result"])
        assert record is not None and record.engine == "sandbox"
