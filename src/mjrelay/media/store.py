"""Image storage (data dir or S3-compatible bucket), served by the relay at unguessable URLs.

A stored image is named ``<random token>[_<job hash>].<ext>``: the token (128 random bits) is
what makes the URL unguessable, so image URLs can be served without a key (clients hand them to
browsers), while the job hash at the end keeps Midjourney's file-name convention. Where the
bytes live is a ``MediaBackend`` (``media/backends.py``); keys and URLs are the same for every
backend.
"""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import AsyncGenerator, Iterator
from dataclasses import dataclass
from pathlib import Path

from mjrelay.media.backends import LocalBackend, MediaBackend, content_type_of

# Task JSON is stored with this marker in front of relay-hosted URLs; the API swaps in the
# public base URL when it serves the bytes, so stored JSON does not depend on the host name.
BASE_URL_MARKER = "mjrelay+base:"

_KEY = re.compile(r"^[A-Za-z0-9_-]{16,120}\.(png|jpg|jpeg|webp|gif|mp4)$")
# mp4: the sandbox's videos (issue 11) are stored and served like images.
_EXTENSIONS = {"png", "jpg", "jpeg", "webp", "gif", "mp4"}


@dataclass(frozen=True)
class MediaObject:
    """A stored image opened for streaming."""

    size: int
    content_type: str
    chunks: AsyncGenerator[bytes, None]


class MediaStore:
    def __init__(
        self,
        root: Path,
        url_path: str = "/mj/image/",
        *,
        backend: MediaBackend | None = None,
    ) -> None:
        self.root = root
        self.url_path = url_path
        self.backend: MediaBackend = backend if backend is not None else LocalBackend(root)

    def ensure_root(self) -> None:
        """Make the storage usable (local: create the dir; S3: check the bucket is reachable)."""
        self.backend.prepare()

    @staticmethod
    def is_valid_key(key: str) -> bool:
        return bool(_KEY.match(key))

    def path_of(self, key: str) -> Path | None:
        """The local file of a key (local backend only), or None for a malformed key."""
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
        await asyncio.to_thread(self.backend.put, key, data)
        return key

    async def read(self, key: str) -> bytes:
        """The bytes of ``key``; FileNotFoundError for unknown or malformed keys."""
        return await asyncio.to_thread(self.read_blocking, key)

    def read_blocking(self, key: str) -> bytes:
        """``read`` for code that already runs in a worker thread (the sandbox renderer)."""
        data = self.backend.get(key) if self.is_valid_key(key) else None
        if data is None:
            raise FileNotFoundError(key)
        return data

    async def exists(self, key: str) -> bool:
        opened = await self.open(key)
        if opened is None:
            return False
        await opened.chunks.aclose()
        return True

    async def open(self, key: str) -> MediaObject | None:
        """``key`` opened for streaming, or None for unknown or malformed keys."""
        if not self.is_valid_key(key):
            return None
        opened = await asyncio.to_thread(self.backend.open, key)
        if opened is None:
            return None
        size, chunks = opened
        return MediaObject(size, content_type_of(key), _in_threads(chunks))


async def _in_threads(chunks: Iterator[bytes]) -> AsyncGenerator[bytes, None]:
    """Pull a blocking chunk iterator from worker threads, closing it however streaming ends."""
    try:
        while (chunk := await asyncio.to_thread(next, chunks, None)) is not None:
            yield chunk
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            await asyncio.to_thread(close)
