"""The user CLI as a separate process against a real relay."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image
from tests.support.live import LiveRelay
from tests.support.paced import paced_relay


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[LiveRelay]:
    async with paced_relay(tmp_path / "data") as relay:
        yield relay


async def mjrelay(*args: str, env: dict[str, str] | None = None) -> Run:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("MJRELAY_")} | {
        "COLUMNS": "120",
        **(env or {}),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "mjrelay",
        *args,
        env=environment,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return Run(process.returncode, stdout.decode(), stderr.decode())


def _env(live: LiveRelay) -> dict[str, str]:
    return {"MJRELAY_BASE_URL": live.base_url, "MJRELAY_API_KEY": live.key}


async def test_imagine_wait_out_then_upscale(live: LiveRelay, tmp_path: Path) -> None:
    out = tmp_path / "images"
    made = await mjrelay(
        "imagine", "a lighthouse at dusk", "--wait", "--out", str(out), "--split", env=_env(live)
    )
    assert made.code == 0, made.stderr
    task_id = made.stdout.split()[0]
    assert f"{task_id}  SUCCESS  IMAGINE" in made.stdout
    assert "buttons: U1 U2 U3 U4 🔄 V1 V2 V3 V4" in made.stdout
    assert "100%" in made.stderr and "SUCCESS" in made.stderr  # the progress bar's last state
    saved = sorted(p.name for p in out.iterdir())
    assert saved == sorted([f"{task_id}.png"] + [f"{task_id}-{n}.png" for n in range(1, 5)])
    with Image.open(out / f"{task_id}.png") as grid:
        assert grid.size == (1024, 1024)

    upscaled = await mjrelay(
        "action",
        task_id,
        "U1",
        "--wait",
        "--out",
        str(out / "up"),
        "--base-url",
        live.base_url,
        "--key",
        live.key,
        "--auth",
        "mj-api-secret",
    )
    assert upscaled.code == 0, upscaled.stderr
    up_id = upscaled.stdout.split()[0]
    assert f"{up_id}  SUCCESS  UPSCALE" in upscaled.stdout
    assert (out / "up" / f"{up_id}.png").is_file()

    fetched = await mjrelay("fetch", up_id, env=_env(live))
    assert fetched.code == 0, fetched.stderr
    task = json.loads(fetched.stdout)
    async with live.client() as client:
        assert task == (await client.get(f"/mj/task/{up_id}/fetch")).json()

    listed = await mjrelay("ls", "--limit", "5", env=_env(live))
    assert listed.code == 0, listed.stderr
    rows = [line.split() for line in listed.stdout.splitlines()[1:]]
    assert [row[:3] for row in rows] == [
        [up_id, "UPSCALE", "SUCCESS"],
        [task_id, "IMAGINE", "SUCCESS"],
    ]


async def test_no_wait_prints_just_the_task_id(live: LiveRelay) -> None:
    run = await mjrelay("imagine", "a kite", env=_env(live))
    assert run.code == 0, run.stderr
    assert len(run.stdout.strip()) == 16 and run.stdout.strip().isdigit()


async def test_errors_are_one_line_and_exit_nonzero(live: LiveRelay, tmp_path: Path) -> None:
    wrong = await mjrelay("ls", env={**_env(live), "MJRELAY_API_KEY": "mjr_nope"})
    assert wrong.code == 1 and "error:" in wrong.stderr and "invalid API key" in wrong.stderr
    assert "Traceback" not in wrong.stderr

    missing = await mjrelay("ls", "--base-url", live.base_url)
    assert missing.code == 2 and "API key is required" in missing.stderr

    made = await mjrelay("imagine", "a boat", "--wait", env=_env(live))
    task_id = made.stdout.split()[0]
    bad_button = await mjrelay("action", task_id, "U7", env=_env(live))
    assert bad_button.code == 2 and "no button 'U7'" in bad_button.stderr

    banned = await mjrelay("imagine", "gore", env=_env(live))
    assert banned.code == 1 and "code 24" in banned.stderr

    unreachable = await mjrelay("fetch", "1", "--base-url", "http://127.0.0.1:9", "--key", "k")
    assert unreachable.code == 1 and "cannot reach http://127.0.0.1:9" in unreachable.stderr
