"""The button sets a finished task carries, exactly as Midjourney shows them.

Clients render these buttons and send their ``customId`` back, so labels, emoji and order follow
Midjourney (and the contract's seed example) and every id comes from ``build_custom_id``.
"""

from __future__ import annotations

from mjrelay.domain.custom_id import ButtonKind, CustomId, build_custom_id
from mjrelay.domain.task import Button

__all__ = [
    "animate_buttons",
    "describe_buttons",
    "grid_buttons",
    "shorten_buttons",
    "single_video_buttons",
    "upscale_buttons",
    "video_batch_buttons",
]

_ANIMATE_EMOJI = "🎞️"
_MOTION_LABELS = (("high", "High motion"), ("low", "Low motion"))


def _button(cid: CustomId, label: str = "", emoji: str = "") -> Button:
    return Button(custom_id=build_custom_id(cid), emoji=emoji, label=label, type=2, style=2)


def grid_buttons(job_hash: str) -> list[Button]:
    """U1-U4, reroll, V1-V4: the buttons under a four-image grid (imagine, variation, reroll)."""
    buttons = [_button(CustomId(ButtonKind.UPSAMPLE, i, job_hash), f"U{i}") for i in range(1, 5)]
    buttons.append(_button(CustomId(ButtonKind.REROLL, 0, job_hash), emoji="🔄"))
    buttons.extend(
        _button(CustomId(ButtonKind.VARIATION, i, job_hash), f"V{i}") for i in range(1, 5)
    )
    return buttons


def upscale_buttons(job_hash: str) -> list[Button]:
    """The buttons under a single upscaled image: upscale, vary, zoom, pan, then animate."""
    styled = ButtonKind.UPSAMPLE_STYLED
    pans = (("left", "⬅️"), ("right", "➡️"), ("up", "⬆️"), ("down", "⬇️"))
    return [
        _button(CustomId(styled, 1, job_hash, "v6_2x_subtle"), "Upscale (Subtle)"),
        _button(CustomId(styled, 1, job_hash, "v6_2x_creative"), "Upscale (Creative)"),
        _button(CustomId(ButtonKind.LOW_VARIATION, 1, job_hash), "Vary (Subtle)", "🪄"),
        _button(CustomId(ButtonKind.HIGH_VARIATION, 1, job_hash), "Vary (Strong)", "🪄"),
        _button(CustomId(ButtonKind.INPAINT, 1, job_hash), "Vary (Region)", "🖌️"),
        _button(CustomId(ButtonKind.OUTPAINT, 1, job_hash, "50"), "Zoom Out 2x", "🔍"),
        _button(CustomId(ButtonKind.OUTPAINT, 1, job_hash, "75"), "Zoom Out 1.5x", "🔍"),
        _button(CustomId(ButtonKind.CUSTOM_ZOOM, 1, job_hash), "Custom Zoom", "🔍"),
        *(_button(CustomId(ButtonKind.PAN, 1, job_hash, d), emoji=e) for d, e in pans),
        *animate_buttons(job_hash),
    ]


def animate_buttons(job_hash: str) -> list[Button]:
    """Animate (High/Low motion) under an upscaled image: each makes a VIDEO task.

    The last two of :func:`upscale_buttons`; kept callable alone for engines and tests that
    need just these.
    """
    return [
        _button(CustomId(ButtonKind.ANIMATE, 1, job_hash, m), f"Animate ({label})", _ANIMATE_EMOJI)
        for m, label in _MOTION_LABELS
    ]


def video_batch_buttons(job_hash: str, count: int) -> list[Button]:
    """U1-U<count> (each singles out one video of the batch), then reroll."""
    if count not in (1, 2, 3, 4):
        raise ValueError(f"a video batch holds 1-4 videos, not {count}")
    buttons = [
        _button(CustomId(ButtonKind.VIDEO_VIRTUAL_UPSCALE, i, job_hash), f"U{i}")
        for i in range(1, count + 1)
    ]
    buttons.append(_button(CustomId(ButtonKind.REROLL, 0, job_hash), emoji="🔄"))
    return buttons


def single_video_buttons(job_hash: str) -> list[Button]:
    """Extend (High/Low motion) under a single video: each makes a VIDEO_EXTEND task."""
    return [
        _button(
            CustomId(ButtonKind.ANIMATE_EXTEND, 1, job_hash, m), f"Extend ({label})", _ANIMATE_EMOJI
        )
        for m, label in _MOTION_LABELS
    ]


def describe_buttons() -> list[Button]:
    """Buttons 1-4 under a describe result: each imagines one of the four prompts."""
    return [_button(CustomId(ButtonKind.PIC_READER, i, None), str(i)) for i in range(1, 5)]


def shorten_buttons() -> list[Button]:
    """Buttons 1-5 under a shorten result: each imagines one of the five shortened prompts."""
    return [_button(CustomId(ButtonKind.PROMPT_ANALYZER, i, None), str(i)) for i in range(1, 6)]
