"""Wiring mjrelay to fake upstreams for tests and benchmarks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from tests.support.fake_upstream import FakeUpstream
from tests.support.live import LiveRelay, running_relay
from tests.support.server_process import free_port
from tests.support.settings import fast_settings


def upstream_channel(fake: FakeUpstream, name: str = "up", **fields: Any) -> dict[str, Any]:
    """A ``[[channels]]`` entry for ``fake``, polling fast enough for tests."""
    return {
        "name": name,
        "engine": "upstream",
        "base_url": fake.base_url,
        "secret": fake.secret,
        "auth": fake.auth,
        "mirror_allow_hosts": ["localhost"],
        "poll_min_seconds": 0.2,
        "poll_max_seconds": 1.0,
        "poll_ramp_seconds": 5.0,
        **fields,
    }


@asynccontextmanager
async def relay_for(
    data_dir: Path, channels: list[dict[str, Any]], **overrides: Any
) -> AsyncIterator[LiveRelay]:
    port = free_port()
    settings = fast_settings(
        data_dir, public_url=f"http://127.0.0.1:{port}", channels=channels, **overrides
    )
    async with running_relay(settings, port=port) as live:
        yield live
