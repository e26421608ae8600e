"""Reading the Midjourney bot's messages: what kind of reply a message is, and its contents.

Pure functions over the gateway's message JSON, so every format quirk is unit-testable without a
connection. Formats follow the bot's messages as midjourney-proxy and the other relays parse them
(``**prompt** - <@user> (31%) (fast)``, ``Image #1``, ``Variations (Strong)``, error embeds).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from mjrelay.domain.task import Button

_PROMPT = re.compile(r"^\*\*(.*)\*\*\s+-\s+(.*)$", re.DOTALL)
_PERCENT = re.compile(r"\((\d{1,3})%\)")
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_NUMBERED = re.compile(r"^\s*\d\N{VARIATION SELECTOR-16}?\N{COMBINING ENCLOSING KEYCAP}.*$", re.M)
_URL = re.compile(r"<?https?://\S+?>?(?=\s|$)")
_PARAMS = re.compile(r"(?:^|\s)--[A-Za-z]+(?:\s+[^\s-][^\s]*)*")

RED = 16711680
WARNING_COLOURS = frozenset({16239475, 16776960})
ERROR_TITLES = (
    "Invalid prompt",
    "Invalid parameter",
    "Banned prompt detected",
    "Invalid link",
    "Request cancelled due to output filters",
    "Queue full",
    "Blocked",
    "Plan Cancelled",
    "Subscription required",
    "Subscription paused",
    "Credits exhausted",
    "Pending mod message",
)
CAPTCHA_TITLES = ("Action needed to continue", "Action required to continue")


@dataclass(frozen=True, slots=True)
class BotMessage:
    """The fields of a MESSAGE_CREATE/UPDATE/DELETE the engine uses."""

    event: str
    id: str
    channel_id: str
    nonce: str = ""
    content: str = ""
    flags: int = 0
    author_id: str = ""
    attachments: list[dict[str, Any]] = field(default_factory=list)
    components: list[dict[str, Any]] = field(default_factory=list)
    embeds: list[dict[str, Any]] = field(default_factory=list)
    interaction_id: str = ""
    interaction_name: str = ""
    reference_id: str = ""

    @classmethod
    def parse(cls, event: str, data: dict[str, Any]) -> BotMessage:
        meta = data.get("interaction_metadata") or data.get("interaction") or {}
        reference = data.get("message_reference") or {}
        referenced = data.get("referenced_message") or {}
        author = data.get("author") or {}
        return cls(
            event=event,
            id=str(data.get("id", "")),
            channel_id=str(data.get("channel_id", "")),
            nonce=str(data.get("nonce") or ""),
            content=str(data.get("content") or ""),
            flags=int(data.get("flags") or 0),
            author_id=str(author.get("id", "")),
            attachments=[a for a in data.get("attachments") or [] if isinstance(a, dict)],
            components=[c for c in data.get("components") or [] if isinstance(c, dict)],
            embeds=[e for e in data.get("embeds") or [] if isinstance(e, dict)],
            interaction_id=str(meta.get("id", "")) if isinstance(meta, dict) else "",
            interaction_name=str(meta.get("name", "")) if isinstance(meta, dict) else "",
            reference_id=str(reference.get("message_id") or (referenced or {}).get("id") or ""),
        )

    @property
    def image_url(self) -> str:
        return str(self.attachments[0].get("url", "")) if self.attachments else ""


# ---- content -----------------------------------------------------------------------------------


def prompt_of(content: str) -> str | None:
    """The (final) prompt between the ``**`` of a bot message, or None."""
    match = _PROMPT.match(content.strip())
    return match.group(1) if match else None


def tail_of(content: str) -> str:
    match = _PROMPT.match(content.strip())
    return match.group(2) if match else content


def percent_of(content: str) -> int | None:
    match = _PERCENT.search(tail_of(content))
    return min(100, int(match.group(1))) if match else None


def is_waiting(content: str) -> bool:
    return "(Waiting to start)" in content


def is_stopped(content: str) -> bool:
    return "(Stopped)" in content


class DoneKind(StrEnum):
    IMAGINE = "imagine"
    UPSCALE = "upscale"
    VARIATION = "variation"
    ZOOM = "zoom"
    PAN = "pan"
    REMIX = "remix"


def done_kind(content: str) -> DoneKind:
    """What a finished-image message is, from the words after the prompt."""
    tail = tail_of(content)
    if re.search(r"Image #\d|Upscaled", tail):
        return DoneKind.UPSCALE
    if tail.startswith("Variations") or "Variations (" in tail:
        return DoneKind.VARIATION
    if tail.startswith("Remix"):
        return DoneKind.REMIX
    if tail.startswith("Zoom Out") or tail.startswith("Zoom"):
        return DoneKind.ZOOM
    if tail.startswith("Pan "):
        return DoneKind.PAN
    return DoneKind.IMAGINE


def normalize_prompt(prompt: str) -> str:
    """Prompt text for fuzzy matching: no links, no ``--params``, no case or spacing."""
    text = _URL.sub(" ", prompt)
    text = _PARAMS.sub(" ", text)
    return " ".join(text.lower().split())


def image_hash(url: str) -> str | None:
    """The job hash (uuid) in a Midjourney attachment URL; query strings are ignored."""
    if not url:
        return None
    name = urlsplit(url).path.rsplit("/", 1)[-1]
    if name.endswith("_grid_0.webp"):
        return name[: -len("_grid_0.webp")] or None
    guids = _GUID.findall(name)
    if guids:
        return str(guids[-1])
    tail = name.rsplit("_", 1)[-1].split(".", 1)[0]
    return tail or None


def buttons_of(components: list[dict[str, Any]]) -> list[Button]:
    """Every button with a custom_id, exactly as the bot sent it, in order."""
    buttons: list[Button] = []
    for row in components:
        for item in row.get("components") or []:
            if not isinstance(item, dict) or not item.get("custom_id"):
                continue
            emoji = item.get("emoji") or {}
            buttons.append(
                Button(
                    custom_id=str(item["custom_id"]),
                    label=str(item.get("label") or ""),
                    emoji=str(emoji.get("name") or "") if isinstance(emoji, dict) else "",
                    type=int(item.get("type") or 2),
                    style=int(item.get("style") or 2),
                )
            )
    return buttons


def numbered_lines(description: str) -> list[str]:
    """``1️⃣ …`` lines of a describe/shorten embed."""
    return [line.strip() for line in _NUMBERED.findall(description)]


# ---- embeds ------------------------------------------------------------------------------------


class Verdict(StrEnum):
    FAIL = "fail"
    QUEUED = "queued"
    CAPTCHA = "captcha"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class EmbedNotice:
    verdict: Verdict
    title: str
    description: str

    @property
    def reason(self) -> str:
        text = f"{self.title}: {self.description}" if self.description else self.title
        return text.strip()[:500]


def notice_of(message: BotMessage) -> EmbedNotice | None:
    """An error/warning/queue/captcha embed (or ``Failed`` content), else None."""
    if message.content.startswith("Failed"):
        return EmbedNotice(Verdict.FAIL, "Failed", message.content)
    if not message.embeds:
        return None
    embed = message.embeds[0]
    title = str(embed.get("title") or "").strip()
    description = str(embed.get("description") or "").strip()
    colour = embed.get("color")
    if any(t.lower() in title.lower() for t in CAPTCHA_TITLES) or (
        "verify you're human" in description.lower()
    ):
        return EmbedNotice(Verdict.CAPTCHA, title or "Action needed to continue", description)
    if title == "Job queued" or "this job will start" in description.lower():
        return EmbedNotice(Verdict.QUEUED, title or "Job queued", description)
    if not title:
        return None
    lowered = title.lower()
    if (
        colour == RED
        or title in ERROR_TITLES
        or any(word in lowered for word in ("invalid", "error", "denied"))
    ):
        return EmbedNotice(Verdict.FAIL, title, description)
    if colour in WARNING_COLOURS:
        return EmbedNotice(Verdict.WARNING, title, description)
    return None


def is_banned(notice: EmbedNotice) -> bool:
    return "banned prompt" in notice.title.lower()


def embed_result(message: BotMessage) -> tuple[str, str] | None:
    """(description, image url) of a describe/shorten result embed, else None."""
    if not message.embeds:
        return None
    embed = message.embeds[0]
    description = str(embed.get("description") or "")
    if not numbered_lines(description):
        return None
    image = embed.get("image") or {}
    return description, str(image.get("url") or "") if isinstance(image, dict) else ""
