"""Signed per-task callback URLs handed to an upstream as its ``notifyHook``.

The URL is ``{public_url}/mj/upstream/notify/{channel}/{task_id}/{signature}``; the signature
is an HMAC of the channel and task id under a key derived from the channel's secrets: only the
upstream we gave the URL to can update that task, the route needs no API key, and a leaked URL
cannot touch any other task. Instances sharing a config derive the same key, so a callback may
land on any of them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

NOTIFY_PATH = "/mj/upstream/notify"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


class CallbackSigner:
    def __init__(self, channel: str, key_material: str) -> None:
        # Without any configured secret the key is per process: callbacks that land on another
        # instance fail verification and the poller catches those tasks up instead.
        material = key_material or secrets.token_hex(32)
        self._channel = channel
        self._key = hashlib.sha256(f"mjrelay-notify\x00{channel}\x00{material}".encode()).digest()
        self.shared = bool(key_material)

    def signature(self, task_id: str) -> str:
        mac = hmac.new(self._key, f"{self._channel}\x00{task_id}".encode(), hashlib.sha256)
        return _b64(mac.digest()[:24])

    def verify(self, task_id: str, signature: str) -> bool:
        return hmac.compare_digest(self.signature(task_id), signature)

    def url(self, public_url: str, task_id: str) -> str:
        return (
            f"{public_url.rstrip('/')}{NOTIFY_PATH}/{self._channel}/{task_id}/"
            f"{self.signature(task_id)}"
        )
