"""Every /mj action end to end through a Discord channel pointed at the fake Discord."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import httpx

from tests.support.discord_env import discord_channel, discord_relay, imagine_done, submit
from tests.support.fake_discord import FakeDiscord, running_fake_discord
from tests.support.live import wait_for_status


def _png_data_url(fake: FakeDiscord) -> str:
    return "data:image/png;base64," + base64.b64encode(fake.png).decode()


async def _action(client: httpx.AsyncClient, task: dict[str, Any], custom_id: str) -> dict[str, Any]:
    answer = await submit(client, "/mj/submit/action", {"taskId": task["id"], "customId": custom_id})
    assert answer["code"] == 1, answer
    return await wait_for_status(client, answer["result"], {"SUCCESS", "FAILURE"})


def _button(task: dict[str, Any], prefix: str) -> str:
    return next(b["customId"] for b in task["buttons"] if b["customId"].startswith(prefix))


async def test_imagine_then_every_button(tmp_path: Path) -> None:
    async with running_fake_discord() as fake:
        account = fake.add_account("alice")
        channel = discord_channel(fake, account, "acct-1")
        async with discord_relay(tmp_path / "d", [channel]) as live, live.client() as client:
            grid = await imagine_done(client, "a glass cat --v 6")
            assert grid["status"] == "SUCCESS", grid
            assert grid["imageUrl"].startswith(fake.base_url + "/attachments/")
            assert grid["progress"] == "100%"
            # Buttons exactly as the bot sent them: U1-U4, reroll, V1-V4 with the job hash.
            sent = [item["custom_id"] for row in fake.bot.messages[
                grid["properties"]["messageId"]]["components"] for item in row["components"]]
            assert [b["customId"] for b in grid["buttons"]] == sent
            image = await httpx.AsyncClient().get(grid["imageUrl"])
            assert image.content == fake.png

            upscale = await _action(client, grid, _button(grid, "MJ::JOB::upsample::2::"))
            assert upscale["status"] == "SUCCESS", upscale
            assert upscale["action"] == "UPSCALE"
            click = fake.interactions[-1]
            assert click["type"] == 3
            assert click["message_id"] == grid["properties"]["messageId"]
            assert click["message_flags"] == 0
            assert click["data"] == {"component_type": 2, "custom_id": _button(grid, "MJ::JOB::upsample::2::")}

            for prefix, action in (
                ("MJ::JOB::variation::1::", "VARIATION"),
                ("MJ::JOB::reroll::", "REROLL"),
            ):
                done = await _action(client, grid, _button(grid, prefix))
                assert (done["status"], done["action"]) == ("SUCCESS", action), done

            for prefix, action in (
                ("MJ::JOB::upsample_v6_2x_subtle::", "UPSCALE"),
                ("MJ::JOB::low_variation::", "LOW_VARIATION"),
                ("MJ::JOB::high_variation::", "HIGH_VARIATION"),
                ("MJ::Outpaint::50::", "ZOOM"),
                ("MJ::JOB::pan_left::", "PAN"),
            ):
                done = await _action(client, upscale, _button(upscale, prefix))
                assert (done["status"], done["action"]) == ("SUCCESS", action), (prefix, done)
