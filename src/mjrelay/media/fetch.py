"""Fetching images from client-given URLs, SSRF-checked and size-limited."""

from __future__ import annotations

import httpx

from mjrelay.core.netguard import GuardedTransport, UnsafeURLError, URLPolicy
from mjrelay.media.inputs import ImageInputError


class ImageFetcher:
    """Downloads at most ``max_bytes`` from public addresses only.

    The transport is injectable so tests can serve images from a fake without monkeypatching.
    """

    def __init__(
        self,
        *,
        max_bytes: int,
        policy: URLPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 15.0,
    ) -> None:
        self._max_bytes = max_bytes
        self._client = httpx.AsyncClient(
            transport=transport or GuardedTransport(policy or URLPolicy()),
            timeout=timeout,
            follow_redirects=True,
            trust_env=False,  # proxy env vars would route around the SSRF guard
            max_redirects=3,
        )

    async def fetch(self, url: str, *, purpose: str) -> bytes:
        try:
            async with self._client.stream("GET", url) as response:
                if response.status_code != 200:
                    raise ImageInputError(
                        purpose, f"fetching it answered HTTP {response.status_code}"
                    )
                declared = response.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > self._max_bytes:
                    raise ImageInputError(purpose, f"image larger than {self._max_bytes} bytes")
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > self._max_bytes:
                        raise ImageInputError(purpose, f"image larger than {self._max_bytes} bytes")
                    chunks.append(chunk)
                return b"".join(chunks)
        except UnsafeURLError as exc:
            raise ImageInputError(purpose, str(exc)) from exc
        except httpx.InvalidURL as exc:
            raise ImageInputError(purpose, f"not a valid URL ({exc})") from exc
        except httpx.HTTPError as exc:
            raise ImageInputError(purpose, f"could not be fetched ({type(exc).__name__})") from exc

    async def close(self) -> None:
        await self._client.aclose()
