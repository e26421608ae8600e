"""Reading an upstream's task JSON into a ``TaskUpdate`` for our task.

Only what a client may see crosses over: status, progress, buttons, images, failure reason and
(for describe/shorten/blend, whose text is produced upstream) the prompt. The upstream's id,
description (which names upstream ids), account ids and notify hook stay behind; strings are
scrubbed of the upstream's host and ids.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

from mjrelay.domain.task import Button, TaskAction, TaskStatus

STATUSES = {
    "NOT_START": TaskStatus.NOT_START,
    "SUBMITTED": TaskStatus.SUBMITTED,
    "MODAL": TaskStatus.SUBMITTED,  # we finish modals ourselves before the job counts as sent
    "IN_PROGRESS": TaskStatus.IN_PROGRESS,
    "SUCCESS": TaskStatus.SUCCESS,
    "FAILURE": TaskStatus.FAILURE,
    "CANCEL": TaskStatus.CANCEL,
}
TEXT_FROM_UPSTREAM = frozenset({TaskAction.DESCRIBE, TaskAction.SHORTEN, TaskAction.BLEND})
PUBLIC_PROPERTIES = ("finalPrompt", "finalZhPrompt")
_PROGRESS = re.compile(r"^\d{1,3}%$")
_MAX_TEXT = 20_000


@dataclass(frozen=True, slots=True)
class UpstreamView:
    """One upstream task as we understand it."""

    upstream_id: str
    status: TaskStatus
    progress: str | None
    image_url: str
    image_urls: list[str]
    buttons: list[Button] | None
    prompt: str | None
    fail_reason: str
    properties: dict[str, str]


class Scrubber:
    """Removes the upstream's host and ids from text we pass on."""

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        self.host = (parts.hostname or "").lower()
        self._netloc = parts.netloc.lower()

    def hides(self, url: str) -> bool:
        """True for URLs on the upstream's own host: those would reveal it."""
        return (urlsplit(url).hostname or "").lower() == self.host

    def text(self, value: str, *ids: str) -> str:
        out = value[:_MAX_TEXT]
        for secret in (self._netloc, self.host, *ids):
            if secret:
                out = re.sub(re.escape(secret), "[upstream]", out, flags=re.IGNORECASE)
        return out


def _urls(payload: dict[str, Any], base_url: str) -> tuple[str, list[str]]:
    image = payload.get("imageUrl")
    image_url = urljoin(base_url + "/", image) if isinstance(image, str) and image else ""
    urls: list[str] = []
    raw = payload.get("imageUrls")
    if isinstance(raw, list):
        for item in raw:
            url = item.get("url") if isinstance(item, dict) else item
            if isinstance(url, str) and url:
                urls.append(urljoin(base_url + "/", url))
    return image_url, urls[:16]


def _buttons(payload: dict[str, Any]) -> list[Button] | None:
    raw = payload.get("buttons")
    if not isinstance(raw, list):
        return None
    buttons = []
    for item in raw[:50]:
        if not isinstance(item, dict) or not isinstance(item.get("customId"), str):
            continue
        buttons.append(
            Button(
                custom_id=item["customId"][:200],
                emoji=str(item.get("emoji") or "")[:32],
                label=str(item.get("label") or "")[:80],
                type=item["type"] if isinstance(item.get("type"), int) else 2,
                style=item["style"] if isinstance(item.get("style"), int) else 2,
            )
        )
    return buttons


def marker_of(payload: dict[str, Any]) -> tuple[str, str | None] | None:
    """(status, progress) of a report, the way duplicates are recognised; None if unreadable."""
    status = STATUSES.get(str(payload.get("status") or ""))
    if status is None:
        return None
    progress = payload.get("progress")
    if status != TaskStatus.IN_PROGRESS or not isinstance(progress, str):
        return status.value, None  # progress only tells IN_PROGRESS reports apart
    return status.value, progress if _PROGRESS.match(progress) else None


def read_task(
    payload: dict[str, Any], *, action: TaskAction, base_url: str, scrubber: Scrubber
) -> UpstreamView | None:
    """None when the payload is not a task we can read (no id or unknown status)."""
    upstream_id = payload.get("id")
    status = STATUSES.get(str(payload.get("status") or ""))
    if upstream_id is None or status is None:
        return None
    uid = str(upstream_id)
    raw_progress = payload.get("progress")
    progress = (
        raw_progress if isinstance(raw_progress, str) and _PROGRESS.match(raw_progress) else None
    )
    image_url, image_urls = _urls(payload, base_url)
    prompt = None
    if action in TEXT_FROM_UPSTREAM and isinstance(payload.get("prompt"), str):
        prompt = scrubber.text(payload["prompt"], uid)
    raw_props = payload.get("properties")
    properties: dict[str, str] = {}
    if isinstance(raw_props, dict):
        for name in PUBLIC_PROPERTIES:
            value = raw_props.get(name)
            if isinstance(value, str) and value and action in TEXT_FROM_UPSTREAM:
                properties[name] = scrubber.text(value, uid)
    reason = payload.get("failReason")
    return UpstreamView(
        upstream_id=uid,
        status=status,
        progress=progress,
        image_url=image_url,
        image_urls=image_urls,
        buttons=_buttons(payload),
        prompt=prompt,
        fail_reason=scrubber.text(reason, uid) if isinstance(reason, str) else "",
        properties=properties,
    )
