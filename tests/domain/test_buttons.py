"""Button sets: the grid matches the contract's seed example, and every button parses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mjrelay.domain.buttons import (
    animate_buttons,
    describe_buttons,
    grid_buttons,
    shorten_buttons,
    single_video_buttons,
    upscale_buttons,
    video_batch_buttons,
)
from mjrelay.domain.custom_id import ButtonKind, parse_custom_id
from mjrelay.domain.task import Button, TaskAction

SEED = Path(__file__).parents[1] / "data" / "seed-task-example.json"
H = "3785da15-4f70-4034-9128-f3ff1ac634fa"


def _dump(buttons: list[Button]) -> list[dict[str, Any]]:
    return [b.model_dump(by_alias=True) for b in buttons]


def test_grid_buttons_match_seed_example() -> None:
    seed: dict[str, Any] = json.loads(SEED.read_text(encoding="utf-8"))
    job_hash = parse_custom_id(seed["buttons"][0]["customId"]).job_hash
    assert job_hash is not None
    assert _dump(grid_buttons(job_hash)) == seed["buttons"]
    # And the serialized JSON is identical too (key order included).
    assert json.dumps(_dump(grid_buttons(job_hash)), ensure_ascii=False) == json.dumps(
        seed["buttons"], ensure_ascii=False
    )


def test_grid_buttons_shape() -> None:
    buttons = grid_buttons(H)
    assert [b.label for b in buttons] == ["U1", "U2", "U3", "U4", "", "V1", "V2", "V3", "V4"]
    assert [b.emoji for b in buttons] == ["", "", "", "", "🔄", "", "", "", ""]
    assert [parse_custom_id(b.custom_id).action for b in buttons] == [
        *[TaskAction.UPSCALE] * 4,
        TaskAction.REROLL,
        *[TaskAction.VARIATION] * 4,
    ]


def test_upscale_buttons() -> None:
    got = [(b.label, b.emoji, b.custom_id) for b in upscale_buttons(H)]
    assert got == [
        ("Upscale (Subtle)", "", f"MJ::JOB::upsample_v6_2x_subtle::1::{H}::SOLO"),
        ("Upscale (Creative)", "", f"MJ::JOB::upsample_v6_2x_creative::1::{H}::SOLO"),
        ("Vary (Subtle)", "🪄", f"MJ::JOB::low_variation::1::{H}::SOLO"),
        ("Vary (Strong)", "🪄", f"MJ::JOB::high_variation::1::{H}::SOLO"),
        ("Vary (Region)", "🖌️", f"MJ::Inpaint::1::{H}::SOLO"),
        ("Zoom Out 2x", "🔍", f"MJ::Outpaint::50::1::{H}::SOLO"),
        ("Zoom Out 1.5x", "🔍", f"MJ::Outpaint::75::1::{H}::SOLO"),
        ("Custom Zoom", "🔍", f"MJ::CustomZoom::{H}"),
        ("", "⬅️", f"MJ::JOB::pan_left::1::{H}::SOLO"),
        ("", "➡️", f"MJ::JOB::pan_right::1::{H}::SOLO"),
        ("", "⬆️", f"MJ::JOB::pan_up::1::{H}::SOLO"),
        ("", "⬇️", f"MJ::JOB::pan_down::1::{H}::SOLO"),
        ("Animate (High motion)", "🎞️", f"MJ::JOB::animate_high::1::{H}::SOLO"),
        ("Animate (Low motion)", "🎞️", f"MJ::JOB::animate_low::1::{H}::SOLO"),
    ]
    assert [parse_custom_id(b.custom_id).action for b in upscale_buttons(H)] == [
        TaskAction.UPSCALE,
        TaskAction.UPSCALE,
        TaskAction.LOW_VARIATION,
        TaskAction.HIGH_VARIATION,
        TaskAction.INPAINT,
        TaskAction.ZOOM,
        TaskAction.ZOOM,
        TaskAction.CUSTOM_ZOOM,
        *[TaskAction.PAN] * 4,
        *[TaskAction.VIDEO] * 2,
    ]


def test_animate_buttons() -> None:
    got = [(b.label, b.emoji, b.custom_id) for b in animate_buttons(H)]
    assert got == [
        ("Animate (High motion)", "🎞️", f"MJ::JOB::animate_high::1::{H}::SOLO"),
        ("Animate (Low motion)", "🎞️", f"MJ::JOB::animate_low::1::{H}::SOLO"),
    ]
    assert [parse_custom_id(b.custom_id).action for b in animate_buttons(H)] == [
        TaskAction.VIDEO
    ] * 2


def test_video_batch_buttons() -> None:
    got = [(b.label, b.emoji, b.custom_id) for b in video_batch_buttons(H, 4)]
    assert got == [
        *[(f"U{i}", "", f"MJ::JOB::video_virtual_upscale::{i}::{H}") for i in range(1, 5)],
        ("", "🔄", f"MJ::JOB::reroll::0::{H}::SOLO"),
    ]
    assert [b.label for b in video_batch_buttons(H, 2)] == ["U1", "U2", ""]
    assert [parse_custom_id(b.custom_id).action for b in video_batch_buttons(H, 1)] == [
        TaskAction.UPSCALE,
        TaskAction.REROLL,
    ]
    with pytest.raises(ValueError, match="1-4 videos"):
        video_batch_buttons(H, 5)


def test_single_video_buttons() -> None:
    got = [(b.label, b.emoji, b.custom_id) for b in single_video_buttons(H)]
    assert got == [
        ("Extend (High motion)", "🎞️", f"MJ::JOB::animate_high_extend::1::{H}"),
        ("Extend (Low motion)", "🎞️", f"MJ::JOB::animate_low_extend::1::{H}"),
    ]
    cids = [parse_custom_id(b.custom_id) for b in single_video_buttons(H)]
    assert [(c.action, c.variant) for c in cids] == [
        (TaskAction.VIDEO_EXTEND, "high"),
        (TaskAction.VIDEO_EXTEND, "low"),
    ]


def test_describe_and_shorten_buttons() -> None:
    describe = describe_buttons()
    assert [(b.label, b.custom_id) for b in describe] == [
        (str(i), f"MJ::Job::PicReader::{i}") for i in range(1, 5)
    ]
    shorten = shorten_buttons()
    assert [(b.label, b.custom_id) for b in shorten] == [
        (str(i), f"MJ::Job::PromptAnalyzer::{i}") for i in range(1, 6)
    ]
    for b in describe:
        assert parse_custom_id(b.custom_id).kind is ButtonKind.PIC_READER
    for b in shorten:
        assert parse_custom_id(b.custom_id).kind is ButtonKind.PROMPT_ANALYZER
    for b in [*describe, *shorten]:
        cid = parse_custom_id(b.custom_id)
        assert cid.action is TaskAction.IMAGINE
        assert cid.needs_modal
        assert cid.job_hash is None


@pytest.mark.parametrize(
    "buttons",
    [
        grid_buttons(H),
        upscale_buttons(H),
        animate_buttons(H),
        describe_buttons(),
        shorten_buttons(),
        video_batch_buttons(H, 4),
        single_video_buttons(H),
    ],
    ids=["grid", "upscale", "animate", "describe", "shorten", "video-batch", "single-video"],
)
def test_every_button_parses_and_is_type_2_style_2(buttons: list[Button]) -> None:
    assert buttons
    ids = [b.custom_id for b in buttons]
    assert len(set(ids)) == len(ids)
    for b in buttons:
        assert (b.type, b.style) == (2, 2)
        cid = parse_custom_id(b.custom_id)
        assert cid.job_hash in (H, None)
