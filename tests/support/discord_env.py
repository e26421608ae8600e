"""Wiring mjrelay to the fake Discord for tests and benchmarks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from tests.support.fake_discord import Account, FakeDiscord
from tests.support.live import LiveRelay, running_relay, wait_for_status
from tests.support.settings import fast_settings


def discord_channel(
    fake: FakeDiscord, account: Account, name: str, **fields: Any
) -> dict[str, Any]:
    """A ``[[channels]]`` entry of engine discord pointed at ``fake``."""
    options = {k: v for k, v in fields.items() if k not in ("priority", "weight", "modes")}
    top = {k: v for k, v in fields.items() if k in ("priority", "weight", "modes")}
    return {"name": name, "engine": "discord", **top, **fake.channel_options(account, **options)}


@asynccontextmanager
async def discord_relay(
    data_dir: Path, channels: list[dict[str, Any]], **overrides: Any
) -> AsyncIterator[LiveRelay]:
    settings = fast_settings(data_dir, channels=channels, **overrides)
    async with running_relay(settings) as live:
        yield live


async def submit(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(path, json=body)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def imagine_done(client: httpx.AsyncClient, prompt: str) -> dict[str, Any]:
    answer = await submit(client, "/mj/submit/imagine", {"prompt": prompt})
    assert answer["code"] == 1, answer
    return await wait_for_status(client, answer["result"], {"SUCCESS", "FAILURE"})
