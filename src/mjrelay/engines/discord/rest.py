"""Discord's REST side: interactions, the attachment upload flow, channel messages.

Every call carries the raw user token (no ``Bearer``) and the account's User-Agent. A 429 is
retried after Discord's ``retry_after`` (body or header), bounded; 401/403 mean the token is
dead or the account locked out (``DiscordAuthError``). Upload URLs come from Discord's answer,
so the PUT goes through the SSRF guard, allowing only Discord's own host and the operator's list.
Error messages never contain the token.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson

from mjrelay.core.logging import get_logger
from mjrelay.core.netguard import GuardedTransport, URLPolicy
from mjrelay.engines.discord.payloads import Upload

log = get_logger("mjrelay.engines.discord.rest")

Sleeper = Callable[[float], Awaitable[None]]


class DiscordRequestError(Exception):
    """Discord refused a request; ``status`` is the HTTP status, the message is safe to show."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class DiscordAuthError(DiscordRequestError):
    """401/403: the token is invalid or the account may no longer act."""


@dataclass(frozen=True, slots=True)
class RestConfig:
    api_base_url: str
    token: str
    user_agent: str
    channel_id: str
    upload_allow_hosts: frozenset[str] = frozenset()
    max_rate_limit_wait: float = 60.0
    timeout: float = 20.0


def _error_text(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    if isinstance(body, dict) and body.get("message"):
        code = body.get("code")
        suffix = f" (code {code})" if code is not None else ""
        return f"HTTP {response.status_code}: {str(body['message'])[:200]}{suffix}"
    return f"HTTP {response.status_code}"


def _retry_after(response: httpx.Response) -> float:
    try:
        body = response.json()
        if isinstance(body, dict) and isinstance(body.get("retry_after"), int | float):
            return float(body["retry_after"])
    except ValueError:
        pass
    header = response.headers.get("retry-after")
    try:
        return float(header) if header else 1.0
    except ValueError:
        return 1.0


class DiscordRest:
    def __init__(
        self,
        config: RestConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Sleeper = asyncio.sleep,
    ) -> None:
        self._config = config
        self._sleep = sleep
        headers = {"Authorization": config.token, "User-Agent": config.user_agent}
        self._api = httpx.AsyncClient(
            base_url=config.api_base_url + "/api/v9",
            headers=headers,
            timeout=config.timeout,
            transport=transport,
            trust_env=False,
            follow_redirects=False,
        )
        api_host = urlsplit(config.api_base_url).hostname or ""
        policy = URLPolicy(allow_hosts=frozenset({api_host, *config.upload_allow_hosts}))
        self._uploads = httpx.AsyncClient(
            headers={"User-Agent": config.user_agent},
            timeout=config.timeout,
            transport=GuardedTransport(policy, inner=transport, purpose="Discord upload URL"),
            trust_env=False,
            follow_redirects=False,
        )
        self.rate_limited = 0

    async def close(self) -> None:
        await self._api.aclose()
        await self._uploads.aclose()

    async def _send(self, method: str, path: str, body: Any) -> httpx.Response:
        """One request, repeating after 429 ``retry_after`` until the wait budget is spent."""
        waited = 0.0
        while True:
            try:
                response = await self._api.request(
                    method,
                    path,
                    content=orjson.dumps(body),
                    headers={"Content-Type": "application/json"},
                )
            except httpx.HTTPError as exc:
                raise DiscordRequestError(0, f"Discord unreachable: {type(exc).__name__}") from None
            if response.status_code != 429:
                break
            delay = max(0.0, _retry_after(response))
            self.rate_limited += 1
            if waited + delay > self._config.max_rate_limit_wait:
                raise DiscordRequestError(429, "rate limited by Discord for too long")
            log.warning("discord rate limit", path=path.split("?")[0], retry_after=delay)
            waited += delay
            await self._sleep(delay)
        if response.status_code in (401, 403):
            raise DiscordAuthError(response.status_code, _error_text(response))
        return response

    async def interact(self, payload: dict[str, Any]) -> None:
        """POST /interactions; Discord answers 204 when it accepted the interaction."""
        response = await self._send("POST", "/interactions", payload)
        if response.status_code != 204:
            raise DiscordRequestError(response.status_code, _error_text(response))

    async def upload(self, filename: str, data: bytes, mime: str) -> Upload:
        """Reserve an attachment slot, PUT the bytes to its upload URL; returns the reference."""
        channel = self._config.channel_id
        response = await self._send(
            "POST",
            f"/channels/{channel}/attachments",
            {"files": [{"filename": filename, "file_size": len(data), "id": "0"}]},
        )
        if response.status_code != 200:
            raise DiscordRequestError(response.status_code, _error_text(response))
        try:
            slot = response.json()["attachments"][0]
            upload_url, uploaded = str(slot["upload_url"]), str(slot["upload_filename"])
        except (ValueError, KeyError, IndexError, TypeError):
            raise DiscordRequestError(
                200, "Discord answered the upload slot without a URL"
            ) from None
        try:
            put = await self._uploads.put(upload_url, content=data, headers={"Content-Type": mime})
        except (httpx.HTTPError, ValueError) as exc:
            raise DiscordRequestError(0, f"upload failed: {exc}") from None
        if put.status_code >= 400:
            raise DiscordRequestError(put.status_code, f"upload refused (HTTP {put.status_code})")
        return Upload(filename=filename, uploaded_filename=uploaded)

    async def post_image_message(self, upload: Upload) -> str:
        """Post an uploaded image to the channel; returns its CDN URL (for prompt images)."""
        channel = self._config.channel_id
        body = {
            "content": "",
            "channel_id": channel,
            "type": 0,
            "sticker_ids": [],
            "attachments": [
                {
                    "id": "0",
                    "filename": upload.filename,
                    "uploaded_filename": upload.uploaded_filename,
                }
            ],
        }
        response = await self._send("POST", f"/channels/{channel}/messages", body)
        if response.status_code != 200:
            raise DiscordRequestError(response.status_code, _error_text(response))
        try:
            return str(response.json()["attachments"][0]["url"])
        except (ValueError, KeyError, IndexError, TypeError):
            raise DiscordRequestError(200, "Discord answered the message without a URL") from None

    async def post_json(self, url: str, body: dict[str, Any]) -> None:
        """POST to the bot's web app (vary-region submit); guarded like upload URLs."""
        try:
            response = await self._uploads.post(
                url,
                content=orjson.dumps(body),
                headers={"Content-Type": "application/json", "Authorization": self._config.token},
            )
        except (httpx.HTTPError, ValueError) as exc:
            raise DiscordRequestError(0, f"request failed: {type(exc).__name__}") from None
        if response.status_code >= 400:
            raise DiscordRequestError(response.status_code, _error_text(response))
