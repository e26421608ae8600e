"""The options of ``POST /mj/submit/video``, checked and turned into what an engine reads.

Clients of the peers send these loosely (``"Low"``, ``"HIGH"``, ``batchSize`` as a number,
``action`` as ``extend``, ``VIDEO`` or ``VIDEO_EXTEND``); every bad value is refused here with a
message naming the wire field, so the service answers code 4 instead of guessing.

The options travel to engines the way the fork writes them for Discord (``--video 1 --motion
low [--end loop] --bs 4`` after the prompt), which is also what the sandbox reads; only the
resolution has a field of its own (``EngineJob.video_type``), since Midjourney's prompt has none.
"""

from __future__ import annotations

from dataclasses import dataclass

from mjrelay.core.errors import ValidationFailed

__all__ = [
    "MOTIONS",
    "VIDEO_TYPES",
    "VideoOptions",
    "is_extend",
    "parse_extend_index",
    "parse_motion",
    "parse_video_options",
]

MOTIONS = ("low", "high")
# Midjourney's V1 video qualities as clients name them: SD (the default) and HD.
VIDEO_TYPES = ("vid_1.1_i2v_480", "vid_1.1_i2v_720")
BATCH_SIZES = (1, 2, 4)
# The public Python client defaults to 1, the fork to 4; Midjourney's own default is 4.
DEFAULT_BATCH_SIZE = 4
_NEW_VIDEO_ACTIONS = ("", "VIDEO")
_EXTEND_ACTIONS = ("EXTEND", "VIDEO_EXTEND")


@dataclass(frozen=True, slots=True)
class VideoOptions:
    motion: str = "low"
    video_type: str = VIDEO_TYPES[0]
    batch_size: int = DEFAULT_BATCH_SIZE
    loop: bool = False

    def prompt_suffix(self, *, end_url: str = "") -> str:
        """The Midjourney parameters of this video, as the bot expects them after the prompt."""
        parts = ["--video 1"]
        if self.loop:
            parts.append("--end loop")
        elif end_url:
            parts.append(f"--end {end_url}")
        parts.append(f"--motion {self.motion}")
        parts.append(f"--bs {self.batch_size}")
        return " ".join(parts)


def parse_motion(value: object) -> str:
    if value in (None, ""):
        return MOTIONS[0]
    if not isinstance(value, str) or value.lower() not in MOTIONS:
        raise ValidationFailed(f"motion: must be low or high, got {value!r}")
    return value.lower()


def parse_video_options(
    motion: object, video_type: object, batch_size: object, loop: object
) -> VideoOptions:
    if video_type in (None, ""):
        video_type = VIDEO_TYPES[0]
    if video_type not in VIDEO_TYPES:
        raise ValidationFailed(f"videoType: must be {' or '.join(VIDEO_TYPES)}, got {video_type!r}")
    if batch_size is None:
        batch_size = DEFAULT_BATCH_SIZE
    if (
        isinstance(batch_size, bool)
        or not isinstance(batch_size, int)
        or (batch_size not in BATCH_SIZES)
    ):
        raise ValidationFailed(f"batchSize: must be 1, 2 or 4, got {batch_size!r}")
    if loop is None:
        loop = False
    if not isinstance(loop, bool):
        raise ValidationFailed("loop: must be true or false")
    return VideoOptions(parse_motion(motion), str(video_type), batch_size, loop)


def is_extend(action: object) -> bool:
    """Whether ``action`` asks to extend (True) or to make a new video (False)."""
    if action is None:
        return False
    if not isinstance(action, str) or action.upper() not in (
        *_NEW_VIDEO_ACTIONS,
        *_EXTEND_ACTIONS,
    ):
        raise ValidationFailed(f"action: must be empty or extend, got {action!r}")
    return action.upper() in _EXTEND_ACTIONS


def parse_extend_index(index: object, video_count: int) -> int:
    """The 1-based number of the parent's video to extend.

    The fork's ``index`` is 0-based (0-3); a public client sends 1-based. Both agree on a
    single video (the common case: extending a video picked with ``U<i>``), so there 0 and 1
    both mean it; on a batch the fork's 0-based reading is the one documented.
    """
    if index is None:
        index = 0
    if isinstance(index, bool) or not isinstance(index, int):
        raise ValidationFailed("index: must be a whole number")
    if video_count == 1 and index in (0, 1):
        return 1
    if not 0 <= index < video_count:
        raise ValidationFailed(
            f"index: the parent task has {video_count} video(s), 0 to {video_count - 1}"
        )
    return index + 1
