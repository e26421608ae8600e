"""Image storage under the data dir, served by the relay at unguessable URLs.

A stored image is named ``<random token>[_<job hash>].<ext>``: the token (128 random bits) is
what makes the URL unguessable, so image URLs can be served without a key (clients hand them to
browsers), while the job hash at the end keeps Midjourney's file-name convention.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
from pathlib import Path

# Task JSON is stored with this marker in front of relay-hosted URLs; the API swaps in the
# public base URL when it serves the bytes, so stored JSON does not depend on the host name.
BASE_URL_MARKER = "mjrelay+base:"

_KEY = re.compile(r"^[A-Za-z0-9_-]{16,120}\.(png|jpg|jpeg|webp|gif)$")
_EXTENSIONS = {"png", "jpg", "jpeg", "webp", "gif"}


class MediaStore:
    def __init__(self, root: Path, url_path: str = "/mj/image/") -> None:
        self.root = root
        self.url_path = url_path

    def ensure_root(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)

    @staticmethod
    def is_valid_key(key: str) -> bool:
        return bool(_KEY.match(key))

    def path_of(self, key: str) -> Path | None:
        """The file of a key, or None for anything that is not a well-formed key."""
        if not self.is_valid_key(key):
            return None
        return self.root / key

    def url_of(self, key: str) -> str:
        return f"{BASE_URL_MARKER}{self.url_path}{key}"

    def key_of_url(self, url: str) -> str | None:
        prefix = f"{BASE_URL_MARKER}{self.url_path}"
        if url.startswith(prefix):
            key = url[len(prefix) :]
            return key if self.is_valid_key(key) else None
        return None

    async def save(self, data: bytes, ext: str, *, suffix: str = "") -> str:
        """Write ``data`` durably and return its key."""
        ext = ext.lower().lstrip(".")
        if ext not in _EXTENSIONS:
            raise ValueError(f"unsupported image extension {ext!r}")
        safe_suffix = re.sub(r"[^A-Za-z0-9-]", "", suffix)[:64]
        key = secrets.token_urlsafe(16) + (f"_{safe_suffix}" if safe_suffix else "") + f".{ext}"
        await asyncio.to_thread(self._write, self.root / key, data)
        return key

    async def read(self, key: str) -> bytes:
        path = self.path_of(key)
        if path is None:
            raise FileNotFoundError(key)
        return await asyncio.to_thread(path.read_bytes)

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
