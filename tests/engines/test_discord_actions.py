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


async def _action(
    client: httpx.AsyncClient, task: dict[str, Any], custom_id: str
) -> dict[str, Any]:
    answer = await submit(
        client, "/mj/submit/action", {"taskId": task["id"], "customId": custom_id}
    )
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
            sent = [
                item["custom_id"]
                for row in fake.bot.messages[grid["properties"]["messageId"]]["components"]
                for item in row["components"]
            ]
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
            assert click["data"] == {
                "component_type": 2,
                "custom_id": _button(grid, "MJ::JOB::upsample::2::"),
            }

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


async def _modal(
    client: httpx.AsyncClient, task: dict[str, Any], custom_id: str, **body: Any
) -> dict[str, Any]:
    answer = await submit(
        client,
        "/mj/submit/action",
        {"taskId": task["id"], "customId": custom_id, **body.pop("action", {})},
    )
    assert answer["code"] == 21, answer  # waiting for the modal
    done = await submit(client, "/mj/submit/modal", {"taskId": answer["result"], **body})
    assert done["code"] == 1, done
    return await wait_for_status(client, answer["result"], {"SUCCESS", "FAILURE"})


async def test_modal_flows(tmp_path: Path) -> None:
    async with running_fake_discord() as fake:
        account = fake.add_account("bob")
        channel = discord_channel(fake, account, "acct-1")
        async with discord_relay(tmp_path / "d", [channel]) as live, live.client() as client:
            grid = await imagine_done(client, "a lighthouse at dusk")
            upscale = await _action(client, grid, _button(grid, "MJ::JOB::upsample::1::"))

            zoom = await _modal(
                client,
                upscale,
                _button(upscale, "MJ::CustomZoom::"),
                prompt="a lighthouse at dusk --zoom 1.5",
            )
            assert (zoom["status"], zoom["action"]) == ("SUCCESS", "CUSTOM_ZOOM"), zoom
            submit_payload = fake.interactions[-1]
            assert submit_payload["type"] == 5
            assert submit_payload["data"]["custom_id"].startswith("MJ::OutpaintCustomZoomModal::")
            field = submit_payload["data"]["components"][0]["components"][0]
            assert field == {
                "type": 4,
                "custom_id": "MJ::OutpaintCustomZoomModal::prompt",
                "value": "a lighthouse at dusk --zoom 1.5",
            }

            region = await _modal(
                client,
                upscale,
                _button(upscale, "MJ::Inpaint::"),
                prompt="a lighthouse with a red roof",
                maskBase64=_png_data_url(fake),
            )
            assert (region["status"], region["action"]) == ("SUCCESS", "INPAINT"), region
            assert base64.b64decode(fake.inpaints[-1]["mask"]) == fake.png
            assert fake.inpaints[-1]["prompt"] == "a lighthouse with a red roof"

            fake.bot.controls.remix = True
            remix = await _modal(
                client,
                grid,
                _button(grid, "MJ::JOB::variation::3::"),
                prompt="a lighthouse in a storm",
                action={"enableRemix": True},
            )
            assert (remix["status"], remix["action"]) == ("SUCCESS", "VARIATION"), remix
            assert fake.interactions[-1]["data"]["components"][0]["components"][0] == {
                "type": 4,
                "custom_id": "MJ::RemixModal::new_prompt",
                "value": "a lighthouse in a storm",
            }


async def test_describe_and_blend_upload_then_imagine(tmp_path: Path) -> None:
    async with running_fake_discord() as fake:
        account = fake.add_account("carol")
        channel = discord_channel(fake, account, "acct-1")
        async with discord_relay(tmp_path / "d", [channel]) as live, live.client() as client:
            answer = await submit(client, "/mj/submit/describe", {"base64": _png_data_url(fake)})
            assert answer["code"] == 1, answer
            described = await wait_for_status(client, answer["result"], {"SUCCESS", "FAILURE"})
            assert described["status"] == "SUCCESS", described
            assert "1\N{VARIATION SELECTOR-16}\N{COMBINING ENCLOSING KEYCAP}" in described["prompt"]
            # The image went through the upload flow: slot, PUT, then referenced by name.
            payload = next(p for p in fake.interactions if p["data"].get("name") == "describe")
            uploaded = payload["data"]["attachments"][0]["uploaded_filename"]
            assert fake.uploads[uploaded] == fake.png
            assert described["imageUrl"].endswith(uploaded)

            picked = await _modal(client, described, "MJ::Job::PicReader::2", prompt="")
            assert (picked["status"], picked["action"]) == ("SUCCESS", "IMAGINE"), picked
            assert fake.interactions[-1]["data"]["custom_id"] == "MJ::Picreader::Modal::2"
            value = fake.interactions[-1]["data"]["components"][0]["components"][0]["value"]
            assert value == "flat colour field, bauhaus poster --ar 1:1"

            answer = await submit(
                client,
                "/mj/submit/blend",
                {"base64Array": [_png_data_url(fake)] * 2, "dimensions": "PORTRAIT"},
            )
            blended = await wait_for_status(client, answer["result"], {"SUCCESS", "FAILURE"})
            assert (blended["status"], blended["action"]) == ("SUCCESS", "BLEND"), blended
            blend = next(p for p in fake.interactions if p["data"].get("name") == "blend")
            assert [o["name"] for o in blend["data"]["options"]] == [
                "image1",
                "image2",
                "dimensions",
            ]
            assert blend["data"]["options"][-1]["value"] == "--ar 2:3"
            assert len(blend["data"]["attachments"]) == 2

            # Reference image in imagine: uploaded, posted, and its CDN URL put in the prompt.
            answer = await submit(
                client,
                "/mj/submit/imagine",
                {"prompt": "in this style", "base64Array": [_png_data_url(fake)]},
            )
            referenced = await wait_for_status(client, answer["result"], {"SUCCESS", "FAILURE"})
            assert referenced["status"] == "SUCCESS", referenced
            sent = fake.interactions[-1]["data"]["options"][0]["value"]
            assert sent.startswith(fake.base_url + "/uploads/") and sent.endswith(" in this style")


async def test_shorten_then_imagine_and_niji(tmp_path: Path) -> None:
    async with running_fake_discord() as fake:
        account = fake.add_account("dave")
        channel = discord_channel(fake, account, "acct-1")
        async with discord_relay(tmp_path / "d", [channel]) as live, live.client() as client:
            answer = await submit(
                client, "/mj/submit/shorten", {"prompt": "a very long and detailed castle prompt"}
            )
            short = await wait_for_status(client, answer["result"], {"SUCCESS", "FAILURE"})
            assert (short["status"], short["action"]) == ("SUCCESS", "SHORTEN"), short
            assert [b["customId"] for b in short["buttons"]] == [
                f"MJ::Job::PromptAnalyzer::{i}" for i in range(1, 6)
            ]
            picked = await _modal(client, short, "MJ::Job::PromptAnalyzer::3", prompt="")
            assert picked["status"] == "SUCCESS", picked
            assert fake.interactions[-1]["data"]["components"][0]["components"][0] == {
                "type": 4,
                "custom_id": "MJ::ImagineModal::new_prompt",
                "value": "a very long and detailed",
            }

            answer = await submit(
                client, "/mj/submit/imagine", {"prompt": "anime fox", "botType": "NIJI_JOURNEY"}
            )
            niji = await wait_for_status(client, answer["result"], {"SUCCESS", "FAILURE"})
            assert niji["status"] == "SUCCESS", niji
            assert fake.interactions[-1]["application_id"] == "1022952195194359889"


async def test_remix_requested_but_remix_mode_off_still_runs(tmp_path: Path) -> None:
    async with running_fake_discord() as fake:
        account = fake.add_account("tim")
        channel = discord_channel(fake, account, "acct-1", modal_timeout_seconds=5)
        async with discord_relay(tmp_path / "d", [channel]) as live, live.client() as client:
            grid = await imagine_done(client, "a harbour")
            assert fake.bot.controls.remix is False  # the bot answers the button directly
            varied = await _modal(
                client,
                grid,
                _button(grid, "MJ::JOB::variation::2::"),
                prompt="a harbour at night",
                action={"enableRemix": True},
            )
            assert (varied["status"], varied["action"]) == ("SUCCESS", "VARIATION"), varied
            assert fake.interactions[-1]["type"] == 3  # no form was submitted
