"""Parsing the Midjourney bot's messages (pure functions, no connection)."""

from __future__ import annotations

import pytest

from mjrelay.domain.channel import ChannelSpec
from mjrelay.domain.task import TaskAction
from mjrelay.engines.base import EngineJob
from mjrelay.engines.discord import discord_kind
from mjrelay.engines.discord import messages as m
from mjrelay.engines.discord.options import DiscordOptions
from mjrelay.engines.discord.tracker import Inflight, Tracker

H = "a7cb1552-f779-4094-9afe-2acf22dae280"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (f"https://cdn.discordapp.com/attachments/1/2/{H}_grid_0.webp", H),
        (f"https://cdn.discordapp.com/attachments/1/2/{H}_grid_0.webp?ex=6&is=6&hm=a.b&", H),
        (f"https://cdn.discordapp.com/attachments/1/2/Alex_Poloz_glass_{H}.png", H),
        (f"https://cdn.discordapp.com/attachments/1/2/Alex_glass_{H}.png?ex=1.2&hm=x", H),
        ("https://cdn.discordapp.com/attachments/1/2/user_cat_abc123.png", "abc123"),
        ("", None),
    ],
)
def test_image_hash(url: str, expected: str | None) -> None:
    assert m.image_hash(url) == expected


def test_content_parsing() -> None:
    progress = "**car --ar 3:2 --seed 29** - <@1323696991334694963> (75%) (fast)"
    assert m.prompt_of(progress) == "car --ar 3:2 --seed 29"
    assert m.percent_of(progress) == 75
    assert m.percent_of("**a (50%) b** - <@1> (Waiting to start)") is None
    assert m.is_waiting("**glass** - <@4391> (Waiting to start)")
    assert m.done_kind("**cat** - Image #1 <@1012983546824114217>") == m.DoneKind.UPSCALE
    assert m.done_kind("**cat** - Upscaled (Subtle) by <@1> (fast)") == m.DoneKind.UPSCALE
    assert m.done_kind("**cat** - Variations (Strong) by <@1> (relaxed)") == m.DoneKind.VARIATION
    assert m.done_kind("**cat** - Variations (Subtle) by <@1> (relaxed)") == m.DoneKind.VARIATION
    assert m.done_kind("**f --v 6.0** - Zoom Out by <@1> (relaxed)") == m.DoneKind.ZOOM
    assert m.done_kind("**landscape --v 7.0** - Pan Left by <@1> (fast)") == m.DoneKind.PAN
    assert m.done_kind("**cat** - <@1> (relaxed, stealth)") == m.DoneKind.IMAGINE
    assert m.normalize_prompt("<https://s.mj.run/x> A  Cat --ar 16:9 --v 6") == "a cat"


def _embed(title: str, colour: int, text: str = "why") -> m.BotMessage:
    return m.BotMessage.parse(
        "MESSAGE_CREATE",
        {
            "id": "1",
            "channel_id": "2",
            "embeds": [{"title": title, "description": text, "color": colour}],
        },
    )


def test_error_embeds() -> None:
    banned = m.notice_of(_embed("Banned prompt detected", 16711680))
    assert banned is not None and banned.verdict == m.Verdict.FAIL and m.is_banned(banned)
    assert banned.reason == "Banned prompt detected: why"
    invalid = m.notice_of(_embed("Invalid parameter", 0))
    assert invalid is not None and invalid.verdict == m.Verdict.FAIL
    queued = m.notice_of(_embed("Job queued", 0x5865F2))
    assert queued is not None and queued.verdict == m.Verdict.QUEUED
    captcha = m.notice_of(_embed("Action needed to continue", 16711680))
    assert captcha is not None and captcha.verdict == m.Verdict.CAPTCHA
    warning = m.notice_of(_embed("Careful", 16239475))
    assert warning is not None and warning.verdict == m.Verdict.WARNING
    assert m.notice_of(_embed("Something else", 65280)) is None
    failed = m.BotMessage.parse("MESSAGE_CREATE", {"id": "1", "content": "Failed to process"})
    assert m.notice_of(failed) is not None


def test_buttons_exactly_as_sent() -> None:
    rows = [
        {
            "type": 1,
            "components": [
                {"type": 2, "style": 2, "label": "U1", "custom_id": f"MJ::JOB::upsample::1::{H}"},
                {
                    "type": 2,
                    "style": 2,
                    "emoji": {"name": "🔄"},
                    "custom_id": f"MJ::JOB::reroll::0::{H}::SOLO",
                },
                {"type": 2, "style": 5, "label": "Web", "url": "https://www.midjourney.com/jobs/x"},
            ],
        }
    ]
    buttons = m.buttons_of(rows)
    assert [(b.custom_id, b.label, b.emoji) for b in buttons] == [
        (f"MJ::JOB::upsample::1::{H}", "U1", ""),
        (f"MJ::JOB::reroll::0::{H}::SOLO", "", "🔄"),
    ]


def test_tracker_order_nonce_then_message_then_hash_then_prompt() -> None:
    tracker = Tracker()
    a = Inflight(job=EngineJob("a", TaskAction.IMAGINE, "twin cat"), prompt_key="twin cat")
    b = Inflight(job=EngineJob("b", TaskAction.IMAGINE, "twin cat"), prompt_key="twin cat")
    a.nonces.add("n-a")
    b.nonces.add("n-b")
    tracker.add(a)
    tracker.add(b)
    first = m.BotMessage.parse(
        "MESSAGE_CREATE",
        {"id": "m-b", "nonce": "n-b", "content": "**twin cat** - <@1> (Waiting to start)"},
    )
    assert tracker.match(first) is b
    tracker.set_progress_message(b, "m-b")
    update = m.BotMessage.parse(
        "MESSAGE_UPDATE", {"id": "m-b", "content": "**twin cat** - <@1> (5%)"}
    )
    assert tracker.match(update) is b
    b.job_hash = H
    done = m.BotMessage.parse(
        "MESSAGE_CREATE",
        {
            "id": "m2",
            "content": "**twin cat** - <@1> (fast)",
            "attachments": [{"url": f"https://cdn/x/u_twin_cat_{H}.png"}],
        },
    )
    assert tracker.match(done, m.DoneKind.IMAGINE) is b
    other = m.BotMessage.parse(
        "MESSAGE_CREATE", {"id": "m3", "content": "**Twin  cat --v 6** - <@1> (fast)"}
    )
    assert tracker.match(other, m.DoneKind.IMAGINE) is b  # started first (has a progress message)
    tracker.remove("b")
    assert tracker.match(other, m.DoneKind.IMAGINE) is a
    assert tracker.match(other, m.DoneKind.UPSCALE) is None


def validate_options(options: dict[str, object]) -> DiscordOptions:
    spec = ChannelSpec(name="acct", engine="discord", options=dict(options))
    validated = discord_kind().validate(spec)
    assert isinstance(validated, DiscordOptions)
    return validated


def test_options_keep_the_token_secret() -> None:
    options = validate_options({"guild_id": 1, "channel_id": "2", "user_token": "secret.tok"})
    assert options.guild_id == "1"
    assert "secret.tok" not in repr(options)
    with pytest.raises(ValueError, match="unknown option") as excinfo:
        validate_options({"guild_id": "1", "channel_id": "2", "user_token": "secret.tok", "x": 1})
    assert "secret.tok" not in str(excinfo.value)
    with pytest.raises(ValueError, match="gateway_url"):
        validate_options(
            {"guild_id": "1", "channel_id": "2", "user_token": "t", "gateway_url": "http://x"}
        )
