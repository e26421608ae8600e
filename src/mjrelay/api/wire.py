"""Request and response models of the ``/mj`` wire format (camelCase on the wire).

Request fields are loosely typed on purpose (``Any`` where clients send varied junk) so that the
service layer can answer every bad value with a code-4 error that names the field, instead of a
framework error page.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from mjrelay.domain.task import Task, WireModel

__all__ = ["Task"]


class SubmitCommon(WireModel):
    state: str | None = Field(None, description="Echoed back in the task's `state`.")
    notify_hook: str | None = Field(None, description="Callback URL for every state change.")
    bot_type: str | None = Field(None, description="MID_JOURNEY (default) or NIJI_JOURNEY.")
    account_filter: dict[str, Any] | None = None


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


class ListByConditionRequest(WireModel):
    ids: Any = None


class Envelope(WireModel):
    """The answer of every submit and every error: ``{code, description, result, properties}``."""

    code: int
    description: str
    result: Any = None
    properties: dict[str, Any] = Field(default_factory=dict)
