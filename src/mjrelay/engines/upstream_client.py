"""HTTP client for one upstream ``/mj`` relay (midjourney-proxy, new-api, another mjrelay).

Every failure becomes an ``UpstreamError`` whose message names the kind of failure but never
the upstream's host, key or raw answer, because these messages end up in logs and, via
failover descriptions, in client responses. The transport is injectable (tests, benchmarks).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
import orjson

AuthStyle = Literal["bearer", "mj-api-secret"]


class UpstreamError(Exception):
    """The upstream could not be reached or answered something unusable."""


@dataclass(frozen=True, slots=True)
class SubmitAnswer:
    code: int
    description: str
    result: str | None
    properties: dict[str, Any] = field(default_factory=dict)


class UpstreamClient:
    def __init__(
        self,
        base_url: str,
        *,
        secret: str = "",
        auth: AuthStyle = "mj-api-secret",
        timeout: float = 15.0,
        transport: httpx.AsyncBaseTransport | None = None,
        instance_id: str = "",
    ) -> None:
        headers = {"Content-Type": "application/json"}
        if secret:
            if auth == "bearer":
                headers["Authorization"] = f"Bearer {secret}"
            else:
                headers["mj-api-secret"] = secret
        if instance_id:
            headers["X-Relay-Instance"] = instance_id
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers=headers,
            timeout=timeout,
            transport=transport,
            trust_env=False,
            follow_redirects=False,
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=32),
        )

    async def close(self) -> None:
        await self._client.aclose()

    async def _request(self, method: str, path: str, body: Any = None) -> Any:
        try:
            response = await self._client.request(
                method, path, content=None if body is None else orjson.dumps(body)
            )
        except httpx.TimeoutException:
            raise UpstreamError("the upstream timed out") from None
        except httpx.HTTPError as exc:
            raise UpstreamError(f"the upstream is unreachable ({type(exc).__name__})") from None
        if response.status_code in (401, 403):
            raise UpstreamError(
                f"the upstream refused our credentials (HTTP {response.status_code})"
            )
        if response.status_code >= 400:
            raise UpstreamError(f"the upstream answered HTTP {response.status_code}")
        if not response.content.strip():
            return None  # midjourney-proxy answers an unknown task id with an empty body
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise UpstreamError("the upstream answered malformed JSON") from None

    async def submit(self, path: str, body: dict[str, Any]) -> SubmitAnswer:
        data = await self._request("POST", path, body)
        if not isinstance(data, dict) or not isinstance(data.get("code"), int):
            raise UpstreamError("the upstream answered a submit without a code")
        result = data.get("result")
        properties = data.get("properties")
        return SubmitAnswer(
            code=data["code"],
            description=str(data.get("description") or ""),
            result=None if result is None else str(result),
            properties=properties if isinstance(properties, dict) else {},
        )

    async def fetch(self, upstream_id: str) -> dict[str, Any] | None:
        data = await self._request("GET", f"/mj/task/{upstream_id}/fetch")
        if data is None:
            return None
        if not isinstance(data, dict):
            raise UpstreamError("the upstream answered a fetch with something not a task")
        return data

    async def list_by_ids(self, upstream_ids: list[str]) -> list[dict[str, Any]]:
        data = await self._request("POST", "/mj/task/list-by-condition", {"ids": upstream_ids})
        if not isinstance(data, list):
            raise UpstreamError("the upstream answered list-by-condition with something not a list")
        return [item for item in data if isinstance(item, dict)]

    async def image_seed(self, upstream_id: str) -> str | None:
        data = await self._request("GET", f"/mj/task/{upstream_id}/image-seed")
        if isinstance(data, dict) and data.get("code") == 1 and data.get("result") is not None:
            return str(data["result"])
        return None
