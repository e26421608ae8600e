"""Midjourney button customIds: one total parser and its exact inverse.

Clients send a button's ``customId`` back to ``/mj/submit/action``; anything they send must end
up either as a :class:`CustomId` or as a :class:`CustomIdError` (a code-4 answer), never as a
crash. The builder is the exact inverse of the parser so the ids we hand out in ``buttons`` are,
byte for byte, what we accept back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from mjrelay.domain.task import TaskAction

__all__ = [
    "MAX_CUSTOM_ID_LENGTH",
    "ButtonKind",
    "CustomId",
    "CustomIdError",
    "build_custom_id",
    "parse_custom_id",
]

#: Inputs longer than this are rejected before any splitting (every valid id is far shorter).
MAX_CUSTOM_ID_LENGTH = 512

# A job hash is the job uuid; upstream relays may hand out other alphanumeric ids, so accept
# those too (but never ``:`` or ``_``, which would make the grammar ambiguous).
_HASH_RE = re.compile(r"[A-Za-z0-9-]{1,64}")
# The suffix of ``upsample_<suffix>`` buttons (v6_2x_subtle, v6_2x_creative, v5_2x, v5_4x, ...).
_STYLE_RE = re.compile(r"[a-z0-9_]{1,64}")

_SEP = "::"
_SOLO = "SOLO"
_PAN_DIRECTIONS = ("left", "right", "up", "down")
_OUTPAINT_VARIANTS = ("50", "75")
# ``animate_<motion>`` and ``animate_<motion>_extend``: the motion is the variant.
_MOTIONS = ("high", "low")
_EXTEND_SUFFIX = "_extend"


class CustomIdError(ValueError):
    """A customId that is not one Midjourney shows; the message says what is wrong."""


class ButtonKind(StrEnum):
    UPSAMPLE = "upsample"
    UPSAMPLE_STYLED = "upsample_styled"
    VARIATION = "variation"
    REROLL = "reroll"
    LOW_VARIATION = "low_variation"
    HIGH_VARIATION = "high_variation"
    OUTPAINT = "outpaint"
    CUSTOM_ZOOM = "custom_zoom"
    PAN = "pan"
    INPAINT = "inpaint"
    PIC_READER = "pic_reader"
    PROMPT_ANALYZER = "prompt_analyzer"
    # Video: Animate on an image, pick one video of a batch, Extend a single video.
    ANIMATE = "animate"
    VIDEO_VIRTUAL_UPSCALE = "video_virtual_upscale"
    ANIMATE_EXTEND = "animate_extend"


_ACTIONS: dict[ButtonKind, TaskAction] = {
    ButtonKind.UPSAMPLE: TaskAction.UPSCALE,
    ButtonKind.UPSAMPLE_STYLED: TaskAction.UPSCALE,
    ButtonKind.VARIATION: TaskAction.VARIATION,
    ButtonKind.REROLL: TaskAction.REROLL,
    ButtonKind.LOW_VARIATION: TaskAction.LOW_VARIATION,
    ButtonKind.HIGH_VARIATION: TaskAction.HIGH_VARIATION,
    ButtonKind.OUTPAINT: TaskAction.ZOOM,
    ButtonKind.CUSTOM_ZOOM: TaskAction.CUSTOM_ZOOM,
    ButtonKind.PAN: TaskAction.PAN,
    ButtonKind.INPAINT: TaskAction.INPAINT,
    ButtonKind.PIC_READER: TaskAction.IMAGINE,
    ButtonKind.PROMPT_ANALYZER: TaskAction.IMAGINE,
    ButtonKind.ANIMATE: TaskAction.VIDEO,
    # Singling out one video of a batch is the video counterpart of U1-U4.
    ButtonKind.VIDEO_VIRTUAL_UPSCALE: TaskAction.UPSCALE,
    ButtonKind.ANIMATE_EXTEND: TaskAction.VIDEO_EXTEND,
}

_MODAL_KINDS = frozenset(
    {
        ButtonKind.CUSTOM_ZOOM,
        ButtonKind.INPAINT,
        ButtonKind.PIC_READER,
        ButtonKind.PROMPT_ANALYZER,
    }
)

# Allowed indexes per kind, as the exact strings that appear on the wire (so "01", "+1" or
# non-ASCII digits never sneak in through int()).
_INDEXES: dict[ButtonKind, tuple[int, ...]] = {
    ButtonKind.UPSAMPLE: (1, 2, 3, 4),
    ButtonKind.VARIATION: (1, 2, 3, 4),
    ButtonKind.REROLL: (0,),
    ButtonKind.UPSAMPLE_STYLED: (1,),
    ButtonKind.LOW_VARIATION: (1,),
    ButtonKind.HIGH_VARIATION: (1,),
    ButtonKind.OUTPAINT: (1,),
    ButtonKind.CUSTOM_ZOOM: (1,),
    ButtonKind.PAN: (1,),
    ButtonKind.INPAINT: (1,),
    ButtonKind.PIC_READER: (1, 2, 3, 4),
    ButtonKind.PROMPT_ANALYZER: (1, 2, 3, 4, 5),
    # The fork puts Animate on each panel of a grid and extends video ``index + 1`` of a batch,
    # so all three video buttons take 1-4 (Midjourney itself shows 1 on a single image/video).
    ButtonKind.ANIMATE: (1, 2, 3, 4),
    ButtonKind.VIDEO_VIRTUAL_UPSCALE: (1, 2, 3, 4),
    ButtonKind.ANIMATE_EXTEND: (1, 2, 3, 4),
}

# ``MJ::JOB::<op>::...`` ops with a fixed name; ``upsample_<style>`` and ``pan_<dir>`` are
# handled separately because part of the op is the variant.
_JOB_OPS: dict[str, ButtonKind] = {
    "upsample": ButtonKind.UPSAMPLE,
    "variation": ButtonKind.VARIATION,
    "reroll": ButtonKind.REROLL,
    "low_variation": ButtonKind.LOW_VARIATION,
    "high_variation": ButtonKind.HIGH_VARIATION,
    "video_virtual_upscale": ButtonKind.VIDEO_VIRTUAL_UPSCALE,
}
# Grid buttons (U1-U4, V1-V4) and the buttons under a video (pick, extend) have no ``::SOLO``
# tail; every other JOB op has one (Animate included).
_NO_SOLO = frozenset(
    {
        ButtonKind.UPSAMPLE,
        ButtonKind.VARIATION,
        ButtonKind.VIDEO_VIRTUAL_UPSCALE,
        ButtonKind.ANIMATE_EXTEND,
    }
)


@dataclass(frozen=True, slots=True)
class CustomId:
    """A parsed button id; ``build_custom_id`` turns it back into the exact wire string."""

    kind: ButtonKind
    index: int
    job_hash: str | None
    variant: str = ""

    @property
    def action(self) -> TaskAction:
        """The task action pressing this button creates."""
        return _ACTIONS[self.kind]

    @property
    def needs_modal(self) -> bool:
        """Whether the button opens a modal (the task waits in ``MODAL`` for more input)."""
        return self.kind in _MODAL_KINDS


def _show(raw: str) -> str:
    """The input as quoted in error messages: repr'd and cut short so messages stay readable."""
    if len(raw) > 80:
        return repr(raw[:77] + "...")
    return repr(raw)


def _fail(raw: str, reason: str) -> CustomIdError:
    return CustomIdError(f"customId {_show(raw)}: {reason}")


def _parse_index(raw: str, kind: ButtonKind, text: str) -> int:
    allowed = _INDEXES[kind]
    for value in allowed:
        if text == str(value):
            return value
    expected = str(allowed[0]) if len(allowed) == 1 else f"{allowed[0]}-{allowed[-1]}"
    raise _fail(raw, f"index {_show(text)} out of range for {kind.value} (expected {expected})")


def _parse_hash(raw: str, text: str) -> str:
    if _HASH_RE.fullmatch(text) is None:
        raise _fail(raw, f"invalid job hash {_show(text)} (expected 1-64 of [A-Za-z0-9-])")
    return text


def _expect_parts(raw: str, parts: list[str], count: int, what: str) -> None:
    if len(parts) != count:
        raise _fail(
            raw,
            f"{what} takes {count} parts separated by '::', got {len(parts)}",
        )


def _expect_solo(raw: str, tail: str) -> None:
    if tail != _SOLO:
        raise _fail(raw, f"expected '::SOLO' at the end, got {_show(tail)}")


def _parse_job(raw: str, parts: list[str]) -> CustomId:
    """``MJ::JOB::<op>::<index>::<hash>[::SOLO]``."""
    if len(parts) < 3:
        raise _fail(raw, "missing the button name after 'MJ::JOB::'")
    op = parts[2]
    variant = ""
    if op in _JOB_OPS:
        kind = _JOB_OPS[op]
    elif op.startswith("upsample_"):
        kind = ButtonKind.UPSAMPLE_STYLED
        variant = op.removeprefix("upsample_")
        if _STYLE_RE.fullmatch(variant) is None:
            raise _fail(raw, f"invalid upscale style {_show(variant)}")
    elif op.startswith("pan_"):
        kind = ButtonKind.PAN
        variant = op.removeprefix("pan_")
        if variant not in _PAN_DIRECTIONS:
            raise _fail(raw, f"unknown pan direction {_show(variant)}")
    elif op.startswith("animate_"):
        variant = op.removeprefix("animate_")
        kind = ButtonKind.ANIMATE
        if variant.endswith(_EXTEND_SUFFIX):
            kind = ButtonKind.ANIMATE_EXTEND
            variant = variant.removesuffix(_EXTEND_SUFFIX)
        if variant not in _MOTIONS:
            raise _fail(raw, f"unknown motion {_show(variant)} (expected 'high' or 'low')")
    else:
        raise _fail(raw, f"unknown button {_show(op)}")
    solo = kind not in _NO_SOLO
    _expect_parts(raw, parts, 6 if solo else 5, f"MJ::JOB::{op}")
    index = _parse_index(raw, kind, parts[3])
    job_hash = _parse_hash(raw, parts[4])
    if solo:
        _expect_solo(raw, parts[5])
    return CustomId(kind, index, job_hash, variant)


def _parse_lower_job(raw: str, parts: list[str]) -> CustomId:
    """``MJ::Job::PicReader::<n>`` and ``MJ::Job::PromptAnalyzer::<n>`` (no job hash)."""
    if len(parts) < 3:
        raise _fail(raw, "missing the button name after 'MJ::Job::'")
    op = parts[2]
    if op == "PicReader":
        kind = ButtonKind.PIC_READER
    elif op == "PromptAnalyzer":
        kind = ButtonKind.PROMPT_ANALYZER
    else:
        raise _fail(raw, f"unknown button {_show(op)}")
    _expect_parts(raw, parts, 4, f"MJ::Job::{op}")
    return CustomId(kind, _parse_index(raw, kind, parts[3]), None)


def _parse_outpaint(raw: str, parts: list[str]) -> CustomId:
    """``MJ::Outpaint::<50|75>::1::<hash>::SOLO``."""
    _expect_parts(raw, parts, 6, "MJ::Outpaint")
    variant = parts[2]
    if variant not in _OUTPAINT_VARIANTS:
        raise _fail(raw, f"unknown zoom {_show(variant)} (expected '50' or '75')")
    index = _parse_index(raw, ButtonKind.OUTPAINT, parts[3])
    job_hash = _parse_hash(raw, parts[4])
    _expect_solo(raw, parts[5])
    return CustomId(ButtonKind.OUTPAINT, index, job_hash, variant)


def _parse_custom_zoom(raw: str, parts: list[str]) -> CustomId:
    """``MJ::CustomZoom::<hash>``."""
    _expect_parts(raw, parts, 3, "MJ::CustomZoom")
    return CustomId(ButtonKind.CUSTOM_ZOOM, 1, _parse_hash(raw, parts[2]))


def _parse_inpaint(raw: str, parts: list[str]) -> CustomId:
    """``MJ::Inpaint::1::<hash>::SOLO``."""
    _expect_parts(raw, parts, 5, "MJ::Inpaint")
    index = _parse_index(raw, ButtonKind.INPAINT, parts[2])
    job_hash = _parse_hash(raw, parts[3])
    _expect_solo(raw, parts[4])
    return CustomId(ButtonKind.INPAINT, index, job_hash)


def parse_custom_id(raw: object) -> CustomId:
    """Parse any input into a :class:`CustomId`; everything else is a :class:`CustomIdError`."""
    if not isinstance(raw, str):
        raise CustomIdError(f"customId must be a string, got {type(raw).__name__}")
    # A str subclass could override split/startswith; work on a plain str copy.
    text = str.__str__(raw)
    if not text:
        raise CustomIdError("customId is empty")
    if len(text) > MAX_CUSTOM_ID_LENGTH:
        raise _fail(text, f"too long ({len(text)} > {MAX_CUSTOM_ID_LENGTH} characters)")
    parts = text.split(_SEP)
    if parts[0] != "MJ" or len(parts) < 2:
        raise _fail(text, "must start with 'MJ::'")
    category = parts[1]
    if category == "JOB":
        return _parse_job(text, parts)
    if category == "Job":
        return _parse_lower_job(text, parts)
    if category == "Outpaint":
        return _parse_outpaint(text, parts)
    if category == "CustomZoom":
        return _parse_custom_zoom(text, parts)
    if category == "Inpaint":
        return _parse_inpaint(text, parts)
    raise _fail(text, f"unknown button {_show(category)}")


def _invalid(cid: CustomId, reason: str) -> CustomIdError:
    return CustomIdError(f"cannot build customId from {cid!r}: {reason}")


def _checked_hash(cid: CustomId) -> str:
    h = cid.job_hash
    if not isinstance(h, str) or _HASH_RE.fullmatch(h) is None:
        raise _invalid(cid, "job_hash must be 1-64 of [A-Za-z0-9-]")
    return h


def build_custom_id(cid: CustomId) -> str:
    """The wire string of ``cid``; the exact inverse of :func:`parse_custom_id`.

    Raises :class:`CustomIdError` for a ``CustomId`` the parser could never have produced, so a
    built id always parses back to an equal value.
    """
    kind = cid.kind
    if not isinstance(kind, ButtonKind):
        raise _invalid(cid, "kind must be a ButtonKind")
    index = cid.index
    # bool is an int subclass, but str(True) is "True": reject it explicitly.
    if type(index) is not int or index not in _INDEXES[kind]:
        raise _invalid(cid, f"index out of range for {kind.value}")
    variant = cid.variant
    if not isinstance(variant, str):
        raise _invalid(cid, "variant must be a string")
    if kind is ButtonKind.UPSAMPLE_STYLED:
        if _STYLE_RE.fullmatch(variant) is None:
            raise _invalid(cid, "variant must be an upscale style of [a-z0-9_]{1,64}")
    elif kind is ButtonKind.PAN:
        if variant not in _PAN_DIRECTIONS:
            raise _invalid(cid, "variant must be a pan direction")
    elif kind is ButtonKind.OUTPAINT:
        if variant not in _OUTPAINT_VARIANTS:
            raise _invalid(cid, "variant must be '50' or '75'")
    elif kind in (ButtonKind.ANIMATE, ButtonKind.ANIMATE_EXTEND):
        if variant not in _MOTIONS:
            raise _invalid(cid, "variant must be a motion, 'high' or 'low'")
    elif variant:
        raise _invalid(cid, f"{kind.value} takes no variant")

    if kind in (ButtonKind.PIC_READER, ButtonKind.PROMPT_ANALYZER):
        if cid.job_hash is not None:
            raise _invalid(cid, f"{kind.value} takes no job hash")
        op = "PicReader" if kind is ButtonKind.PIC_READER else "PromptAnalyzer"
        return f"MJ::Job::{op}::{index}"

    h = _checked_hash(cid)
    if kind is ButtonKind.UPSAMPLE:
        return f"MJ::JOB::upsample::{index}::{h}"
    if kind is ButtonKind.VARIATION:
        return f"MJ::JOB::variation::{index}::{h}"
    if kind is ButtonKind.UPSAMPLE_STYLED:
        return f"MJ::JOB::upsample_{variant}::{index}::{h}::SOLO"
    if kind is ButtonKind.PAN:
        return f"MJ::JOB::pan_{variant}::{index}::{h}::SOLO"
    if kind is ButtonKind.OUTPAINT:
        return f"MJ::Outpaint::{variant}::{index}::{h}::SOLO"
    if kind is ButtonKind.CUSTOM_ZOOM:
        return f"MJ::CustomZoom::{h}"
    if kind is ButtonKind.INPAINT:
        return f"MJ::Inpaint::{index}::{h}::SOLO"
    if kind is ButtonKind.ANIMATE:
        return f"MJ::JOB::animate_{variant}::{index}::{h}::SOLO"
    if kind is ButtonKind.ANIMATE_EXTEND:
        return f"MJ::JOB::animate_{variant}_extend::{index}::{h}"
    if kind is ButtonKind.VIDEO_VIRTUAL_UPSCALE:
        return f"MJ::JOB::video_virtual_upscale::{index}::{h}"
    # REROLL, LOW_VARIATION, HIGH_VARIATION: the op name is the kind's value.
    return f"MJ::JOB::{kind.value}::{index}::{h}::SOLO"
