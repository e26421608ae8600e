"""The Discord engine declines what the bot cannot run; with no other channel, code 4 says so."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.support.discord_env import discord_channel, discord_relay, submit
from tests.support.fake_discord import running_fake_discord
from tests.support.wire import png_data_url

CASES = [
    ("/mj/submit/edits", {"image": png_data_url(), "prompt": "a hat"}, "EDIT"),
    ("/mj/submit/retexture", {"image": png_data_url(), "prompt": "gold"}, "RETEXTURE"),
    (
        "/mj/insight-face/swap",
        {"sourceBase64": png_data_url(), "targetBase64": png_data_url()},
        "SWAP_FACE",
    ),
    ("/mj/submit/video", {"image": png_data_url(), "batchSize": 1}, "VIDEO"),
]


@pytest.mark.parametrize(("path", "body", "action"), CASES, ids=[c[2] for c in CASES])
async def test_discord_declines_web_only_and_video_jobs(
    tmp_path: Path, path: str, body: dict[str, object], action: str
) -> None:
    async with running_fake_discord() as fake:
        account = fake.add_account("dora")
        channel = discord_channel(fake, account, "acct-1")
        async with discord_relay(tmp_path / "d", [channel]) as live, live.client() as client:
            answer = await submit(client, path, body)
            assert answer["code"] == 4, answer
            assert answer["description"].startswith(f"action: no channel can run {action}")
            # Declining is not a failure: the account still takes what the bot can run.
            imagine = await submit(client, "/mj/submit/imagine", {"prompt": "a cat"})
            assert imagine["code"] == 1, imagine
