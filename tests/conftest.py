"""Shared fixtures: settings on a temp dir, and a real relay server on an ephemeral port.

Only fixtures live here; helpers that tests import are in ``tests/support/``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from mjrelay.core.settings import Settings
from tests.support.live import LiveRelay, running_relay
from tests.support.settings import fast_settings


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
