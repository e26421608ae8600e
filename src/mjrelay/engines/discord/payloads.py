"""Interaction payloads exactly as Discord's web client (and midjourney-proxy) send them.

Type 2 = slash command (imagine, describe, blend, shorten), type 3 = a button on a bot message,
type 5 = a modal submit. Command ids and versions are Midjourney's current ones; Discord does
not check versions strictly, and the fake does not check them at all.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from typing import Any

MJ_APPLICATION_ID = "936929561302675456"
NIJI_APPLICATION_ID = "1022952195194359889"
APPLICATION_IDS = {"MID_JOURNEY": MJ_APPLICATION_ID, "NIJI_JOURNEY": NIJI_APPLICATION_ID}

# name -> (command id, version)
COMMANDS: dict[str, tuple[str, str]] = {
    "imagine": ("938956540159881230", "1237876415471554623"),
    "describe": ("1092492867185950852", "1237876415471554625"),
    "blend": ("1062880104792997970", "1237876415471554624"),
    "shorten": ("1121575372539039774", "1247736572414001223"),
}
DISCORD_EPOCH_MS = 1_420_070_400_000
_counter = itertools.count()


def new_nonce() -> str:
    """A Discord snowflake string (what the web client sends as ``nonce``); unique per process."""
    ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
    return str((ms << 22) | (next(_counter) & 0x3FFFFF))


@dataclass(frozen=True, slots=True)
class Target:
    """Where interactions go: the account's guild and channel, and which bot."""

    guild_id: str
    channel_id: str
    session_id: str
    application_id: str = MJ_APPLICATION_ID


@dataclass(frozen=True, slots=True)
class Upload:
    """An image already PUT to Discord's upload URL."""

    filename: str
    uploaded_filename: str


def _envelope(target: Target, kind: int, nonce: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": kind,
        "guild_id": target.guild_id,
        "channel_id": target.channel_id,
        "application_id": target.application_id,
        "session_id": target.session_id,
        "nonce": nonce,
        "data": data,
    }


def _command(
    name: str, options: list[dict[str, Any]], attachments: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    command_id, version = COMMANDS[name]
    data: dict[str, Any] = {
        "version": version,
        "id": command_id,
        "name": name,
        "type": 1,
        "options": options,
    }
    if attachments is not None:
        data["attachments"] = attachments
    return data


def imagine(target: Target, nonce: str, prompt: str) -> dict[str, Any]:
    options = [{"type": 3, "name": "prompt", "value": prompt}]
    return _envelope(target, 2, nonce, _command("imagine", options))


def shorten(target: Target, nonce: str, prompt: str) -> dict[str, Any]:
    options = [{"type": 3, "name": "prompt", "value": prompt}]
    return _envelope(target, 2, nonce, _command("shorten", options))


def _attachment(index: int, upload: Upload) -> dict[str, Any]:
    return {
        "id": str(index),
        "filename": upload.filename,
        "uploaded_filename": upload.uploaded_filename,
    }


def describe(target: Target, nonce: str, upload: Upload) -> dict[str, Any]:
    options = [{"type": 11, "name": "image", "value": 0}]
    return _envelope(target, 2, nonce, _command("describe", options, [_attachment(0, upload)]))


BLEND_RATIOS = {"PORTRAIT": "--ar 2:3", "SQUARE": "--ar 1:1", "LANDSCAPE": "--ar 3:2"}


def blend(target: Target, nonce: str, uploads: list[Upload], dimensions: str) -> dict[str, Any]:
    options: list[dict[str, Any]] = [
        {"type": 11, "name": f"image{i + 1}", "value": i} for i in range(len(uploads))
    ]
    options.append(
        {"type": 3, "name": "dimensions", "value": BLEND_RATIOS.get(dimensions, "--ar 1:1")}
    )
    attachments = [_attachment(i, upload) for i, upload in enumerate(uploads)]
    return _envelope(target, 2, nonce, _command("blend", options, attachments))


def button(
    target: Target, nonce: str, message_id: str, message_flags: int, custom_id: str
) -> dict[str, Any]:
    payload = _envelope(target, 3, nonce, {"component_type": 2, "custom_id": custom_id})
    payload["message_id"] = message_id
    payload["message_flags"] = message_flags
    return payload


def modal_submit(
    target: Target, nonce: str, modal_id: str, custom_id: str, field_id: str, value: str
) -> dict[str, Any]:
    data = {
        "id": modal_id,
        "custom_id": custom_id,
        "components": [
            {"type": 1, "components": [{"type": 4, "custom_id": field_id, "value": value}]}
        ],
    }
    return _envelope(target, 5, nonce, data)
