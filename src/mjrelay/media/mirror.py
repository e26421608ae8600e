"""Copying a finished job's images into our own media store.

Upstream (Discord CDN) links expire and many clients cannot reach them, so a relayed task ends
up served from mjrelay's own URL. Downloads go through the SSRF guard: private, loopback and
link-local addresses are refused except the hosts the operator chose (the channel's own host
and an explicit allowlist), and each image is capped at ``max_bytes``.
"""

from __future__ import annotations

import httpx

from mjrelay.core.netguard import GuardedTransport, URLPolicy
from mjrelay.media.fetch import ImageFetcher
from mjrelay.media.inputs import ImageInputError
from mjrelay.media.store import MediaStore

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpg"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
)


class MirrorError(Exception):
    """The image could not be mirrored; the message is safe to log (no URL in it)."""


def image_extension(data: bytes) -> str | None:
    for magic, ext in _MAGIC:
        if data.startswith(magic):
            return ext
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


class ImageMirror:
    def __init__(
        self,
        media: MediaStore,
        *,
        max_bytes: int,
        allow_hosts: frozenset[str] = frozenset(),
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 30.0,
    ) -> None:
        policy = URLPolicy(allow_hosts=allow_hosts)
        self._media = media
        self._fetcher = ImageFetcher(
            max_bytes=max_bytes,
            transport=GuardedTransport(policy, inner=transport, purpose="image URL"),
            timeout=timeout,
        )

    async def mirror(self, url: str, *, suffix: str = "") -> str:
        """Download ``url`` and store it; returns the media key."""
        try:
            data = await self._fetcher.fetch(url, purpose="image")
        except ImageInputError as exc:
            raise MirrorError(exc.reason) from None
        ext = image_extension(data)
        if ext is None:
            raise MirrorError("the download is not a PNG, JPEG, WebP or GIF image")
        return await self._media.save(data, ext, suffix=suffix)

    async def close(self) -> None:
        await self._fetcher.close()
