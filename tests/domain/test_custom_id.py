"""customId grammar: every Midjourney form round-trips, anything else is a CustomIdError."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mjrelay.domain.custom_id import (
    MAX_CUSTOM_ID_LENGTH,
    ButtonKind,
    CustomId,
    CustomIdError,
    build_custom_id,
    parse_custom_id,
)
from mjrelay.domain.task import TaskAction

H = "3785da15-4f70-4034-9128-f3ff1ac634fa"
SEED = Path(__file__).parents[1] / "data" / "seed-task-example.json"

VALID: list[tuple[str, CustomId]] = [
    *[(f"MJ::JOB::upsample::{i}::{H}", CustomId(ButtonKind.UPSAMPLE, i, H)) for i in range(1, 5)],
    *[(f"MJ::JOB::variation::{i}::{H}", CustomId(ButtonKind.VARIATION, i, H)) for i in range(1, 5)],
    (f"MJ::JOB::reroll::0::{H}::SOLO", CustomId(ButtonKind.REROLL, 0, H)),
    *[
        (
            f"MJ::JOB::upsample_{s}::1::{H}::SOLO",
            CustomId(ButtonKind.UPSAMPLE_STYLED, 1, H, s),
        )
        for s in ("v6_2x_subtle", "v6_2x_creative", "v5_2x", "v5_4x")
    ],
    (f"MJ::JOB::low_variation::1::{H}::SOLO", CustomId(ButtonKind.LOW_VARIATION, 1, H)),
    (f"MJ::JOB::high_variation::1::{H}::SOLO", CustomId(ButtonKind.HIGH_VARIATION, 1, H)),
    (f"MJ::Outpaint::50::1::{H}::SOLO", CustomId(ButtonKind.OUTPAINT, 1, H, "50")),
    (f"MJ::Outpaint::75::1::{H}::SOLO", CustomId(ButtonKind.OUTPAINT, 1, H, "75")),
    (f"MJ::CustomZoom::{H}", CustomId(ButtonKind.CUSTOM_ZOOM, 1, H)),
    *[
        (f"MJ::JOB::pan_{d}::1::{H}::SOLO", CustomId(ButtonKind.PAN, 1, H, d))
        for d in ("left", "right", "up", "down")
    ],
    (f"MJ::Inpaint::1::{H}::SOLO", CustomId(ButtonKind.INPAINT, 1, H)),
    *[(f"MJ::Job::PicReader::{i}", CustomId(ButtonKind.PIC_READER, i, None)) for i in range(1, 5)],
    *[
        (f"MJ::Job::PromptAnalyzer::{i}", CustomId(ButtonKind.PROMPT_ANALYZER, i, None))
        for i in range(1, 6)
    ],
    # Video: Animate on an image, pick one video of a batch, Extend a single video.
    *[
        (f"MJ::JOB::animate_{m}::1::{H}::SOLO", CustomId(ButtonKind.ANIMATE, 1, H, m))
        for m in ("high", "low")
    ],
    (f"MJ::JOB::animate_low::3::{H}::SOLO", CustomId(ButtonKind.ANIMATE, 3, H, "low")),
    *[
        (
            f"MJ::JOB::video_virtual_upscale::{i}::{H}",
            CustomId(ButtonKind.VIDEO_VIRTUAL_UPSCALE, i, H),
        )
        for i in range(1, 5)
    ],
    *[
        (f"MJ::JOB::animate_{m}_extend::1::{H}", CustomId(ButtonKind.ANIMATE_EXTEND, 1, H, m))
        for m in ("high", "low")
    ],
    (f"MJ::JOB::animate_high_extend::4::{H}", CustomId(ButtonKind.ANIMATE_EXTEND, 4, H, "high")),
    # Hashes from upstream relays need not be uuids.
    ("MJ::JOB::upsample::2::AbC-123", CustomId(ButtonKind.UPSAMPLE, 2, "AbC-123")),
    ("MJ::CustomZoom::1", CustomId(ButtonKind.CUSTOM_ZOOM, 1, "1")),
]


@pytest.mark.parametrize(("raw", "expected"), VALID, ids=[raw for raw, _ in VALID])
def test_every_form_round_trips(raw: str, expected: CustomId) -> None:
    assert parse_custom_id(raw) == expected
    assert build_custom_id(expected) == raw


@pytest.mark.parametrize(
    ("kind", "action", "modal"),
    [
        (ButtonKind.UPSAMPLE, TaskAction.UPSCALE, False),
        (ButtonKind.UPSAMPLE_STYLED, TaskAction.UPSCALE, False),
        (ButtonKind.VARIATION, TaskAction.VARIATION, False),
        (ButtonKind.REROLL, TaskAction.REROLL, False),
        (ButtonKind.LOW_VARIATION, TaskAction.LOW_VARIATION, False),
        (ButtonKind.HIGH_VARIATION, TaskAction.HIGH_VARIATION, False),
        (ButtonKind.OUTPAINT, TaskAction.ZOOM, False),
        (ButtonKind.CUSTOM_ZOOM, TaskAction.CUSTOM_ZOOM, True),
        (ButtonKind.PAN, TaskAction.PAN, False),
        (ButtonKind.INPAINT, TaskAction.INPAINT, True),
        (ButtonKind.PIC_READER, TaskAction.IMAGINE, True),
        (ButtonKind.PROMPT_ANALYZER, TaskAction.IMAGINE, True),
        (ButtonKind.ANIMATE, TaskAction.VIDEO, False),
        (ButtonKind.VIDEO_VIRTUAL_UPSCALE, TaskAction.UPSCALE, False),
        (ButtonKind.ANIMATE_EXTEND, TaskAction.VIDEO_EXTEND, False),
    ],
)
def test_action_and_modal(kind: ButtonKind, action: TaskAction, modal: bool) -> None:
    examples = [cid for _, cid in VALID if cid.kind is kind]
    assert examples, f"no example of {kind}"
    for cid in examples:
        assert cid.action is action
        assert cid.needs_modal is modal


def test_seed_example_custom_ids() -> None:
    seed: dict[str, Any] = json.loads(SEED.read_text(encoding="utf-8"))
    parsed = [parse_custom_id(b["customId"]) for b in seed["buttons"]]
    assert len(parsed) == 9
    assert [(c.kind, c.index) for c in parsed] == [
        *[(ButtonKind.UPSAMPLE, i) for i in range(1, 5)],
        (ButtonKind.REROLL, 0),
        *[(ButtonKind.VARIATION, i) for i in range(1, 5)],
    ]
    assert {c.job_hash for c in parsed} == {H}
    assert seed["imageUrl"].split("?")[0].endswith(f"_{H}.png")


MALFORMED: list[tuple[object, str]] = [
    (None, "must be a string"),
    (42, "must be a string"),
    (b"MJ::JOB::upsample::1::abc", "must be a string"),
    ("", "empty"),
    ("MJ::JOB::upsample::5::" + H, "index '5' out of range"),
    (f"MJ::JOB::animate_medium::1::{H}::SOLO", "unknown motion 'medium'"),
    (f"MJ::JOB::animate_high::1::{H}", "takes 6 parts"),
    (f"MJ::JOB::animate_low_extend::1::{H}::SOLO", "takes 5 parts"),
    (f"MJ::JOB::animate_high_extend::5::{H}", "index '5' out of range"),
    (f"MJ::JOB::video_virtual_upscale::0::{H}", "index '0' out of range"),
    ("MJ::JOB::upsample::0::" + H, "index '0' out of range"),
    ("MJ::JOB::upsample::01::" + H, "index '01' out of range"),
    ("MJ::JOB::upsample::١::" + H, "out of range"),
    ("MJ::JOB::reroll::1::" + H + "::SOLO", "index '1' out of range for reroll (expected 0)"),
    ("MJ::Job::PicReader::5", "expected 1-4"),
    ("MJ::Job::PromptAnalyzer::6", "expected 1-5"),
    ("MJ::Job::PromptAnalyzer::all", "out of range"),
    ("MJ::JOB::upsample::1", "takes 5 parts"),
    ("MJ::JOB::upsample::1::", "invalid job hash ''"),
    ("MJ::JOB::upsample::1::" + H + "::SOLO", "takes 5 parts"),
    ("MJ::JOB::reroll::0::" + H, "takes 6 parts"),
    ("MJ::JOB::reroll::0::" + H + "::solo", "expected '::SOLO'"),
    ("MJ::Inpaint::1::" + H + "::SOLO::x", "takes 5 parts"),
    ("MJ::CustomZoom::1::" + H, "takes 3 parts"),
    ("MJ::CustomZoom::", "invalid job hash"),
    ("mj::JOB::upsample::1::" + H, "must start with 'MJ::'"),
    ("MJ::job::upsample::1::" + H, "unknown button 'job'"),
    ("MJ::JOB::Upsample::1::" + H, "unknown button 'Upsample'"),
    ("MJ::JOB::foo::1::" + H, "unknown button 'foo'"),
    ("MJ::BOOKMARK::" + H, "unknown button 'BOOKMARK'"),
    ("MJ::Job::picreader::1", "unknown button 'picreader'"),
    ("MJ", "must start with 'MJ::'"),
    ("MJ::", "unknown button ''"),
    ("MJ::JOB", "missing the button name"),
    ("MJ::JOB::pan_sideways::1::" + H + "::SOLO", "unknown pan direction 'sideways'"),
    ("MJ::JOB::upsample_::1::" + H + "::SOLO", "invalid upscale style ''"),
    ("MJ::JOB::upsample_V6::1::" + H + "::SOLO", "invalid upscale style 'V6'"),
    ("MJ::Outpaint::60::1::" + H + "::SOLO", "unknown zoom '60'"),
    ("MJ::JOB::upsample::1::has space", "invalid job hash"),
    ("MJ::JOB::upsample::1::under_score", "invalid job hash"),
    ("MJ::JOB::upsample::1::" + "a" * 65, "invalid job hash"),
    ("MJ::JOB::upsample::1::ünï", "invalid job hash"),
    ("MJ::JOB::upsample::1::" + "a" * MAX_CUSTOM_ID_LENGTH, "too long"),
    (" MJ::JOB::upsample::1::" + H, "must start with 'MJ::'"),
    ("MJ::JOB::upsample::1::" + H + "\n", "invalid job hash"),
]


@pytest.mark.parametrize(("raw", "message"), MALFORMED, ids=[repr(r)[:60] for r, _ in MALFORMED])
def test_malformed_raise_useful_error(raw: object, message: str) -> None:
    with pytest.raises(CustomIdError) as info:
        parse_custom_id(raw)
    assert message in str(info.value)
    if isinstance(raw, str) and raw:
        assert str(info.value).startswith("customId '")


def test_error_is_a_value_error_and_message_is_short() -> None:
    with pytest.raises(ValueError, match="too long") as info:
        parse_custom_id("x" * 100_000)
    assert len(str(info.value)) < 200


def test_str_subclass_is_parsed_as_plain_text() -> None:
    class Weird(str):
        def split(self, *args: Any, **kwargs: Any) -> list[str]:
            raise RuntimeError("boom")

    assert parse_custom_id(Weird(f"MJ::CustomZoom::{H}")) == CustomId(ButtonKind.CUSTOM_ZOOM, 1, H)


@pytest.mark.parametrize(
    "cid",
    [
        CustomId(ButtonKind.UPSAMPLE, 5, H),
        CustomId(ButtonKind.UPSAMPLE, True, H),
        CustomId(ButtonKind.UPSAMPLE, 1, None),
        CustomId(ButtonKind.UPSAMPLE, 1, "bad hash"),
        CustomId(ButtonKind.UPSAMPLE, 1, H, "v6"),
        CustomId(ButtonKind.PAN, 1, H, "sideways"),
        CustomId(ButtonKind.PAN, 1, H),
        CustomId(ButtonKind.OUTPAINT, 1, H, "60"),
        CustomId(ButtonKind.UPSAMPLE_STYLED, 1, H, "V6"),
        CustomId(ButtonKind.UPSAMPLE_STYLED, 1, H, ""),
        CustomId(ButtonKind.PIC_READER, 1, H),
        CustomId(ButtonKind.PROMPT_ANALYZER, 0, None),
        CustomId(ButtonKind.CUSTOM_ZOOM, 2, H),
        CustomId(ButtonKind.ANIMATE, 1, H),
        CustomId(ButtonKind.ANIMATE, 1, H, "medium"),
        CustomId(ButtonKind.ANIMATE, 5, H, "high"),
        CustomId(ButtonKind.ANIMATE_EXTEND, 0, H, "low"),
        CustomId(ButtonKind.VIDEO_VIRTUAL_UPSCALE, 1, H, "high"),
        CustomId(ButtonKind.VIDEO_VIRTUAL_UPSCALE, 1, None),
    ],
    ids=repr,
)
def test_build_rejects_invalid(cid: CustomId) -> None:
    with pytest.raises(CustomIdError, match="cannot build customId"):
        build_custom_id(cid)


# --- properties ------------------------------------------------------------------------------

hashes = st.one_of(
    st.uuids().map(str),
    st.from_regex(r"[A-Za-z0-9-]{1,64}", fullmatch=True),
)


@st.composite
def custom_ids(draw: st.DrawFn) -> CustomId:
    kind = draw(st.sampled_from(ButtonKind))
    if kind in (ButtonKind.PIC_READER, ButtonKind.PROMPT_ANALYZER):
        top = 4 if kind is ButtonKind.PIC_READER else 5
        return CustomId(kind, draw(st.integers(1, top)), None)
    job_hash = draw(hashes)
    if kind in (ButtonKind.UPSAMPLE, ButtonKind.VARIATION, ButtonKind.VIDEO_VIRTUAL_UPSCALE):
        return CustomId(kind, draw(st.integers(1, 4)), job_hash)
    if kind in (ButtonKind.ANIMATE, ButtonKind.ANIMATE_EXTEND):
        motion = draw(st.sampled_from(["high", "low"]))
        return CustomId(kind, draw(st.integers(1, 4)), job_hash, motion)
    if kind is ButtonKind.REROLL:
        return CustomId(kind, 0, job_hash)
    variant = ""
    if kind is ButtonKind.UPSAMPLE_STYLED:
        variant = draw(st.from_regex(r"[a-z0-9_]{1,64}", fullmatch=True))
    elif kind is ButtonKind.PAN:
        variant = draw(st.sampled_from(["left", "right", "up", "down"]))
    elif kind is ButtonKind.OUTPAINT:
        variant = draw(st.sampled_from(["50", "75"]))
    return CustomId(kind, 1, job_hash, variant)


@given(st.one_of(st.text(), st.text(alphabet="MJ:Jobupsample_0123456789-SOLO", max_size=60)))
def test_parse_is_total_on_text(raw: str) -> None:
    try:
        cid = parse_custom_id(raw)
    except CustomIdError:
        return
    assert build_custom_id(cid) == raw


@given(
    st.one_of(
        st.none(),
        st.integers(),
        st.floats(),
        st.binary(),
        st.lists(st.text()),
        st.dictionaries(st.text(), st.text()),
    )
)
def test_parse_is_total_on_non_str(raw: object) -> None:
    with pytest.raises(CustomIdError, match="must be a string"):
        parse_custom_id(raw)


@given(custom_ids())
def test_build_then_parse_is_identity(cid: CustomId) -> None:
    raw = build_custom_id(cid)
    assert len(raw) <= MAX_CUSTOM_ID_LENGTH
    assert parse_custom_id(raw) == cid


@given(custom_ids())
def test_parse_then_build_is_identity_on_built_strings(cid: CustomId) -> None:
    raw = build_custom_id(cid)
    assert build_custom_id(parse_custom_id(raw)) == raw


@given(custom_ids(), st.sampled_from(["", "::", "::SOLO", "x", " "]), st.booleans())
def test_mutated_ids_never_crash(cid: CustomId, junk: str, prefix: bool) -> None:
    raw = build_custom_id(cid)
    mutated = junk + raw if prefix else raw + junk
    try:
        again = parse_custom_id(mutated)
    except CustomIdError:
        return
    assert build_custom_id(again) == mutated
