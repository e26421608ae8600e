"""Shared fixtures: settings on a temp dir, and a real relay server on an ephemeral port."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from mjrelay.core.settings import SandboxSettings, Settings
from tests.support.live import LiveRelay, running_relay

# A copy of the contract's seed example (shared/wire/seed-task-example.json), kept in the repo so
# the tests need nothing outside it.
SEED_EXAMPLE = Path(__file__).resolve().parent / "data" / "seed-task-example.json"
POSTGRES_URL = os.environ.get(
    "MJRELAY_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)


def fast_settings(data_dir: Path, **overrides: object) -> Settings:
    """Settings for tests: a private data dir and a sandbox that finishes in a blink."""
    values: dict[str, object] = {
        "data_dir": data_dir,
        "sweep_interval_seconds": 0.2,
        "sandbox": SandboxSettings(job_seconds=0.05, progress_steps=1),
        "create_initial_key": False,
        "auth_cache_seconds": 0,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return fast_settings(tmp_path / "data")


@pytest.fixture
async def live(settings: Settings) -> AsyncIterator[LiveRelay]:
    async with running_relay(settings) as relay:
        yield relay


@pytest.fixture
async def client(live: LiveRelay) -> AsyncIterator[httpx.AsyncClient]:
    async with live.client() as http:
        yield http
