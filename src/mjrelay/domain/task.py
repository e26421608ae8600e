"""The task as clients see it.

``Task`` is the single definition of the task JSON of the ``/mj`` wire format: field names are
camelCase aliases of the snake_case attributes, and every field of the contract's seed example is
always serialized (``None`` becomes ``null``). The store serializes a task once per change and
serves those bytes, so this model is used on writes, not on every read.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


class TaskStatus(StrEnum):
    NOT_START = "NOT_START"
    SUBMITTED = "SUBMITTED"
    MODAL = "MODAL"
    IN_PROGRESS = "IN_PROGRESS"
    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"
    CANCEL = "CANCEL"

    @property
    def is_final(self) -> bool:
        return self in _FINAL


_FINAL = frozenset({TaskStatus.SUCCESS, TaskStatus.FAILURE, TaskStatus.CANCEL})


class TaskAction(StrEnum):
    IMAGINE = "IMAGINE"
    UPSCALE = "UPSCALE"
    VARIATION = "VARIATION"
    REROLL = "REROLL"
    DESCRIBE = "DESCRIBE"
    BLEND = "BLEND"
    SHORTEN = "SHORTEN"
    ZOOM = "ZOOM"
    CUSTOM_ZOOM = "CUSTOM_ZOOM"
    PAN = "PAN"
    HIGH_VARIATION = "HIGH_VARIATION"
    LOW_VARIATION = "LOW_VARIATION"
    INPAINT = "INPAINT"
    UPLOAD = "UPLOAD"
    VIDEO = "VIDEO"
    VIDEO_EXTEND = "VIDEO_EXTEND"
    EDIT = "EDIT"
    RETEXTURE = "RETEXTURE"
    SWAP_FACE = "SWAP_FACE"

    @classmethod
    def _missing_(cls, value: object) -> TaskAction | None:
        # The best-known gateway names the editor action ``EDITS``; the fork (and we) emit
        # ``EDIT``. Accept both on input so tasks relayed from either side parse.
        if value == "EDITS":
            return cls.EDIT
        return None


# Actions that make videos, and the ones only Midjourney's web service (or InsightFace) runs:
# engines that cannot serve them decline them by these sets.
VIDEO_ACTIONS = frozenset({TaskAction.VIDEO, TaskAction.VIDEO_EXTEND})
WEB_ONLY_ACTIONS = frozenset({TaskAction.EDIT, TaskAction.RETEXTURE, TaskAction.SWAP_FACE})


class BotType(StrEnum):
    MID_JOURNEY = "MID_JOURNEY"
    NIJI_JOURNEY = "NIJI_JOURNEY"
    # Face swap runs on InsightFace, not on a Midjourney bot; peers name its tasks so.
    INSIGHT_FACE = "INSIGHT_FACE"


class SpeedMode(StrEnum):
    FAST = "fast"
    RELAX = "relax"
    TURBO = "turbo"


class WireModel(BaseModel):
    """Base of every wire model: camelCase on the wire, snake_case in Python."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        serialize_by_alias=True,
        extra="ignore",
    )


class Button(WireModel):
    custom_id: str
    emoji: str = ""
    label: str = ""
    type: int = 2
    style: int = 2


def _is_none(value: object) -> bool:
    return value is None


class VideoUrl(WireModel):
    """One video of a batch as peers serialize it: the mp4 and its still thumbnail."""

    url: str
    thumbnail: str = ""


class Task(WireModel):
    """A task exactly as ``GET /mj/task/{id}/fetch`` returns it."""

    id: str
    action: TaskAction
    custom_id: str = ""
    bot_type: str = ""
    prompt: str = ""
    prompt_en: str = ""
    description: str = ""
    state: str = ""
    submit_time: int | None = None
    start_time: int | None = None
    finish_time: int | None = None
    image_url: str = ""
    status: TaskStatus = TaskStatus.NOT_START
    progress: str = "0%"
    fail_reason: str = ""
    buttons: list[Button] = Field(default_factory=list)
    mask_base64: str = ""
    properties: dict[str, Any] = Field(
        default_factory=lambda: {"finalPrompt": "", "finalZhPrompt": ""}
    )
    # Additive fields: the four panels of a grid, and the speed mode the job ran in.
    image_urls: list[str] = Field(default_factory=list)
    mode: str = ""
    # Video tasks only: the first or chosen video, every video of the batch, and the clip
    # length. The fork shows them on video tasks; on every other task they are left out, so an
    # image task's JSON stays byte for byte what it was. ``image_url`` stays a still (the first
    # frame) so clients that only know images still show something.
    video_url: str | None = Field(default=None, exclude_if=_is_none)
    video_urls: list[VideoUrl] | None = Field(default=None, exclude_if=_is_none)
    video_duration: float | None = Field(default=None, exclude_if=_is_none)
    frame_count: int | None = Field(default=None, exclude_if=_is_none)

    def to_json(self) -> bytes:
        return self.__pydantic_serializer__.to_json(self, by_alias=True)
