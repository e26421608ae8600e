"""The SDK's own models of the ``/mj`` wire format: the task JSON and the submit envelope.

They are deliberately separate from the server's models: the SDK talks to any ``/mj`` relay
(midjourney-proxy, its plus edition, new-api gateways, mjrelay), so it must read what all of
them send, and it must be installable and importable without the server. Reading is lenient:

- unknown fields are kept (``Task.model_extra``) rather than rejected, so relay extensions survive
  a round trip through ``model_dump``;
- ``null`` where a string, list or map is expected reads as empty (midjourney-proxy serializes
  unset fields as ``null``: ``"failReason": null``, ``"progress": null`` before a task starts);
- numeric ids and codes are read as the types the SDK promises (``"id": 17...`` becomes a str);
- statuses and actions the SDK does not know yet (``VIDEO_EXTEND`` today, something new tomorrow)
  are kept as values of the enum instead of failing the whole task.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic.alias_generators import to_camel


class _OpenStrEnum(StrEnum):
    """A string enum that accepts values it does not list, as members of their own.

    Relays add actions and statuses over time; a client that refused a whole task because of one
    new word would break on every upgrade of the relay it talks to.
    """

    @classmethod
    def _missing_(cls, value: object) -> Any:
        if not isinstance(value, str) or not value:
            return None
        known = cls._value2member_map_.get(value.upper())
        if known is not None:  # "success" from a relay that lowercases its enums
            return known
        member = str.__new__(cls, value)
        member._name_ = value
        member._value_ = value
        return member


class TaskStatus(_OpenStrEnum):
    NOT_START = "NOT_START"
    SUBMITTED = "SUBMITTED"
    MODAL = "MODAL"
    IN_PROGRESS = "IN_PROGRESS"
    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"
    CANCEL = "CANCEL"

    @property
    def is_final(self) -> bool:
        """Whether the task has ended; a status the SDK does not know is taken as not final."""
        return self in _FINAL


_FINAL = frozenset({TaskStatus.SUCCESS, TaskStatus.FAILURE, TaskStatus.CANCEL})


class TaskAction(_OpenStrEnum):
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
    # Newer relays (video, editor, face swap); the gateway and the fork spell editing differently.
    VIDEO = "VIDEO"
    VIDEO_EXTEND = "VIDEO_EXTEND"
    EDIT = "EDIT"
    EDITS = "EDITS"
    RETEXTURE = "RETEXTURE"
    SWAP_FACE = "SWAP_FACE"


class WireModel(BaseModel):
    """camelCase on the wire, snake_case in Python; lenient about what other relays send."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        serialize_by_alias=True,
        coerce_numbers_to_str=True,
        extra="allow",
    )

    @field_validator("*", mode="before")
    @classmethod
    def _null_is_default(cls, value: Any, info: ValidationInfo) -> Any:
        """``null`` for a field that has a default reads as that default (Jackson writes nulls)."""
        if value is not None or info.field_name is None:
            return value
        field = cls.model_fields[info.field_name]
        if field.is_required() or field.default is None:
            return value
        return field.get_default(call_default_factory=True)


class Button(WireModel):
    custom_id: str
    emoji: str = ""
    label: str = ""
    type: int = 2
    style: int = 2


class Task(WireModel):
    """A task as ``GET /mj/task/{id}/fetch`` returns it, from mjrelay or any other relay."""

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
    properties: dict[str, Any] = Field(default_factory=dict)
    # Additive fields: the four panels of a grid, and the speed mode the job ran in. Fields of
    # newer relays (``videoUrl``, ``videoUrls``...) are kept as they came, in ``model_extra``.
    image_urls: list[str] = Field(default_factory=list)
    mode: str = ""

    @field_validator("image_urls", mode="before")
    @classmethod
    def _urls_of_links(cls, value: Any) -> Any:
        """Some relays list panels as ``{"url": ...}`` objects rather than plain URLs."""
        if isinstance(value, list):
            return [item.get("url") or "" if isinstance(item, dict) else item for item in value]
        return value


class Envelope(WireModel):
    """The answer of every submit and most errors: ``{code, description, result, properties}``."""

    code: int
    description: str = ""
    result: Any = None
    properties: dict[str, Any] = Field(default_factory=dict)
