"""Request and response models of the ``/mj`` wire format (camelCase on the wire).

Request fields are loosely typed on purpose (``Any`` where clients send varied junk) so that the
service layer can answer every bad value with a code-4 error that names the field, instead of a
framework error page.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from mjrelay.domain.task import Task, WireModel

__all__ = ["Task"]


def _unstorable_text(value: object, depth: int = 0) -> str | None:
    """Why a string in ``value`` (searched through lists and dicts) cannot be stored, or None."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "not valid Unicode text (lone surrogate)"
        # PostgreSQL text cannot hold NUL (SQLite can): refuse it on every database alike.
        return "must not contain NUL characters" if "\x00" in value else None
    if depth > 32:
        return None
    if isinstance(value, list):
        items: list[object] = value
    elif isinstance(value, dict):
        items = [part for pair in value.items() for part in pair]
    else:
        return None
    for item in items:
        problem = _unstorable_text(item, depth + 1)
        if problem is not None:
            return problem
    return None


class RequestModel(WireModel):
    """Base of request bodies. JSON may spell lone UTF-16 surrogates (``"\\ud800"``), which no
    UTF-8 store or response can hold, and NUL characters (``"\\u0000"``), which PostgreSQL text
    cannot hold: refuse them up front (code 4 naming the field), instead of failing deep inside
    the service with a 500."""

    @field_validator("*", mode="before")
    @classmethod
    def _storable_text(cls, value: object) -> object:
        problem = _unstorable_text(value)
        if problem is not None:
            raise ValueError(problem)
        return value


class SubmitCommon(RequestModel):
    state: str | None = Field(None, description="Echoed back in the task's `state` (≤ 255).")
    notify_hook: str | None = Field(
        None, description="Callback URL for every state change (≤ 2,000 characters)."
    )
    bot_type: str | None = Field(None, description="MID_JOURNEY (default) or NIJI_JOURNEY.")
    account_filter: dict[str, Any] | None = None
    # Clients of the peers send the speed mode in the body too; the path prefix decides it.
    mode: Any = Field(None, description="FAST, RELAX or TURBO (accepted; the path prefix rules).")


class ImagineRequest(SubmitCommon):
    prompt: Any = Field(None, description="The prompt, with Midjourney parameters.")
    base64_array: Any = Field(None, description="Reference images as data URLs.")
    base64: Any = Field(None, description="Deprecated single reference image.")


class ActionRequest(SubmitCommon):
    task_id: Any = None
    custom_id: Any = None
    enable_remix: Any = None


class ModalRequest(SubmitCommon):
    task_id: Any = None
    prompt: Any = None
    mask_base64: Any = None


class BlendRequest(SubmitCommon):
    base64_array: Any = None
    dimensions: Any = Field(None, description="PORTRAIT, SQUARE (default) or LANDSCAPE.")


class DescribeRequest(SubmitCommon):
    base64: Any = None
    link: Any = None


class ShortenRequest(SubmitCommon):
    prompt: Any = None


class ChangeRequest(SubmitCommon):
    task_id: Any = None
    action: Any = None
    index: Any = None


class SimpleChangeRequest(SubmitCommon):
    content: Any = None


class UploadRequest(SubmitCommon):
    base64_array: Any = None


class VideoRequest(SubmitCommon):
    prompt: Any = Field(None, description="Motion prompt; may be empty for a plain animate.")
    image: Any = Field(None, description="Start frame: URL, data URL or bare base64.")
    base64: Any = Field(None, description="Alias of `image` some clients send.")
    end_image: Any = Field(None, description="Optional last frame (URL, data URL, base64).")
    loop: Any = Field(None, description="End on the start frame (default false).")
    motion: Any = Field(None, description="low (default) or high, any case.")
    video_type: Any = Field(None, description="vid_1.1_i2v_480 (SD, default) or vid_1.1_i2v_720.")
    batch_size: Any = Field(None, description="1, 2 or 4 videos (default 4).")
    action: Any = Field(None, description="Empty for a new video, `extend` to extend one.")
    task_id: Any = Field(None, description="With `extend`: the finished video task.")
    index: Any = Field(None, description="With `extend`: which video of the task (0-based).")


class EditRequest(SubmitCommon):
    prompt: Any = Field(None, description="What to change (required).")
    image: Any = Field(None, description="The image: URL, data URL or bare base64 (PNG).")
    mask_base64: Any = Field(None, description="Optional mask of the region to edit.")


class SwapFaceRequest(SubmitCommon):
    source_base64: Any = Field(None, description="The face, as a data URL or bare base64.")
    source_url: Any = Field(None, description="The face as a URL (instead of sourceBase64).")
    target_base64: Any = Field(None, description="The picture to put the face on.")
    target_url: Any = Field(None, description="The picture as a URL (instead of targetBase64).")


class ListByConditionRequest(RequestModel):
    ids: Any = None


class Envelope(WireModel):
    """The answer of every submit and every error: ``{code, description, result, properties}``."""

    code: int
    description: str
    result: Any = None
    properties: dict[str, Any] = Field(default_factory=dict)
