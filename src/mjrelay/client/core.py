"""What the sync and async clients share: requests, retries, parsing. No I/O here.

Both clients build the same requests and read the same answers through these functions, so the
two differ only in how they send bytes and sleep.
"""

from __future__ import annotations

import base64
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx
from pydantic import ValidationError

from mjrelay.client.errors import AuthenticationError, RelayAPIError
from mjrelay.client.models import Button, Envelope, Task, TaskStatus

AuthStyle = Literal["bearer", "mj-api-secret"]
ImageInput = str | bytes | Path

ACCEPTED_CODES = frozenset({1, 21, 22})
MODAL_CODE = 21
RETRY_STATUSES = frozenset({429, 502, 503, 504})
MAX_DOWNLOAD_BYTES = 64 * 1024 * 1024
MODES = ("fast", "relax", "turbo")
BUTTON_ALIASES = {
    "reroll": "🔄",
    "r": "🔄",
    "left": "⬅️",
    "right": "➡️",
    "up": "⬆️",
    "down": "⬇️",
}
_MIME = {
    b"\x89PNG": "image/png",
    b"\xff\xd8\xff": "image/jpeg",
    b"GIF8": "image/gif",
}
_EXT = {"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "image/webp": "webp"}


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with jitter for transient failures (connect errors, 429, 50x).

    Submits are retried only when the request surely did not reach the relay (connect errors)
    or the relay said so (429/502/503/504), so a retry never creates a second job.
    """

    retries: int = 3
    backoff: float = 0.5
    max_backoff: float = 8.0

    def delay(self, attempt: int, response: httpx.Response | None = None) -> float:
        if response is not None:
            after = response.headers.get("retry-after", "")
            if after.isdigit():
                return min(float(after), self.max_backoff)
        base = min(self.backoff * (2**attempt), self.max_backoff)
        return float(base * (0.5 + random.random() / 2))

    def retry_status(self, attempt: int, response: httpx.Response) -> bool:
        return attempt < self.retries and response.status_code in RETRY_STATUSES

    def retry_error(self, attempt: int, method: str, error: Exception) -> bool:
        if attempt >= self.retries or not isinstance(error, httpx.TransportError):
            return False
        if method == "GET":
            return True
        return isinstance(error, httpx.ConnectError | httpx.ConnectTimeout)


def auth_headers(key: str, auth: AuthStyle) -> dict[str, str]:
    if auth == "bearer":
        return {"Authorization": f"Bearer {key}"}
    if auth == "mj-api-secret":
        return {"mj-api-secret": key}
    raise ValueError("auth must be 'bearer' or 'mj-api-secret'")


def mode_prefix(mode: str | None) -> str:
    """``/mj-fast`` (relax, turbo) in front of ``/mj`` paths; '' for the default mode."""
    if not mode:
        return ""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}")
    return f"/mj-{mode}"


def raise_for_error(response: httpx.Response) -> None:
    if response.status_code < 400:
        return
    code: int | None = None
    description = response.reason_phrase or "error"
    properties: dict[str, Any] = {}
    try:
        body = response.json()
        if isinstance(body, dict):
            code = body.get("code") if isinstance(body.get("code"), int) else None
            description = str(body.get("description") or body.get("detail") or description)
            properties = body.get("properties") or {}
    except ValueError:
        pass
    kind = AuthenticationError if response.status_code == 401 else RelayAPIError
    raise kind(description, status=response.status_code, code=code, properties=properties)


def parse_submission(response: httpx.Response) -> Envelope:
    """The submit envelope; codes other than 1, 21, 22 raise with the relay's description."""
    raise_for_error(response)
    try:
        envelope = Envelope.model_validate(_json_body(response, "a submit result"))
    except ValidationError:
        raise RelayAPIError(
            "the relay did not answer with a submit result", status=response.status_code
        ) from None
    if envelope.code not in ACCEPTED_CODES or not isinstance(envelope.result, str):
        raise RelayAPIError(
            envelope.description,
            status=response.status_code,
            code=envelope.code,
            properties=envelope.properties,
        )
    return envelope


def parse_task(response: httpx.Response) -> Task:
    raise_for_error(response)
    body = _json_body(response, "a task")
    if body is None:
        # midjourney-proxy answers a fetch of an unknown id with HTTP 200 and an empty body.
        raise RelayAPIError("task not found", status=response.status_code, code=3)
    return _task(body, response)


def parse_tasks(response: httpx.Response) -> list[Task]:
    raise_for_error(response)
    body = _json_body(response, "a task list")
    if not isinstance(body, list):
        raise RelayAPIError(
            "the relay did not answer with a task list", status=response.status_code
        )
    return [_task(item, response) for item in body]


def _json_body(response: httpx.Response, what: str) -> Any:
    """The decoded JSON body, ``None`` for an empty one; anything else is the relay's error."""
    if not response.content.strip():
        return None
    try:
        return response.json()
    except ValueError:
        raise RelayAPIError(
            f"the relay answered with something other than {what} (not JSON)",
            status=response.status_code,
        ) from None


def _task(value: Any, response: httpx.Response) -> Task:
    try:
        return Task.model_validate(value)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or 'task'}: {error['msg']}"
            for error in exc.errors()
        )
        raise RelayAPIError(
            f"the relay sent a task the SDK cannot read ({problems})", status=response.status_code
        ) from None


def stream_unsupported(response: httpx.Response) -> bool:
    """True when the relay has no stream endpoint (other /mj relays): the caller polls."""
    if response.status_code in (404, 405, 501):
        return True
    content_type = response.headers.get("content-type", "")
    return response.status_code < 400 and not content_type.startswith("text/event-stream")


def data_url(image: ImageInput) -> str:
    """A reference image as the data URL ``base64Array`` wants (path, bytes or data URL)."""
    if isinstance(image, str) and image.startswith("data:"):
        return image
    data = Path(image).read_bytes() if isinstance(image, str | Path) else image
    mime = next((m for magic, m in _MIME.items() if data.startswith(magic)), None)
    if mime is None and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        mime = "image/webp"
    if mime is None:
        raise ValueError("reference images must be PNG, JPEG, GIF or WebP")
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def imagine_body(
    prompt: str, images: Sequence[ImageInput], common: dict[str, Any]
) -> dict[str, Any]:
    body: dict[str, Any] = {"prompt": prompt, **common}
    if images:
        body["base64Array"] = [data_url(image) for image in images]
    return body


def common_fields(
    state: str | None, notify_hook: str | None, bot_type: str | None
) -> dict[str, Any]:
    fields = {"state": state, "notifyHook": notify_hook, "botType": bot_type}
    return {name: value for name, value in fields.items() if value}


def find_button(task: Task, button: str) -> Button:
    """A button of ``task`` by label (U1, V3, Zoom Out 2x...), emoji, alias or customId."""
    wanted = BUTTON_ALIASES.get(button.lower(), button)
    for candidate in task.buttons:
        if wanted in (candidate.custom_id, candidate.emoji):
            return candidate
        if candidate.label and candidate.label.lower() == wanted.lower():
            return candidate
    names = ", ".join(b.label or b.emoji for b in task.buttons) or "none"
    raise ValueError(f"task {task.id} has no button {button!r} (buttons: {names})")


def progress_percent(task: Task) -> int:
    if task.status == TaskStatus.SUCCESS:
        return 100
    digits = task.progress.rstrip("%").strip()
    return max(0, min(100, int(digits))) if digits.isdigit() else 0


def download_targets(task: Task, *, split: bool) -> list[tuple[str, str]]:
    """(url, file stem) pairs to save: the image, and with ``split`` the four panels."""
    targets = [(task.image_url, task.id)] if task.image_url else []
    if split:
        targets += [(url, f"{task.id}-{n}") for n, url in enumerate(task.image_urls, 1) if url]
    return targets


def file_name(stem: str, url: str, content_type: str) -> str:
    suffix = Path(urlsplit(url).path).suffix.lstrip(".").lower()
    ext = _EXT.get(content_type.split(";")[0].strip()) or (
        suffix if suffix in ("png", "jpg", "jpeg", "gif", "webp") else "png"
    )
    return f"{stem}.{ext}"


def same_origin(url: str, base_url: str) -> bool:
    """Whether ``url`` is on the relay itself: only then is the API key sent along."""
    a, b = urlsplit(url), urlsplit(base_url)
    return (a.scheme, a.netloc) == (b.scheme, b.netloc)


AUTH_HEADERS = ("authorization", "mj-api-secret")
