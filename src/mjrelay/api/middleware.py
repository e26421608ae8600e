"""Plain ASGI middleware (cheap on the hot path): mode-prefixed aliases, a body size cap,
request bodies read as JSON whatever their label, and no NUL characters in URLs."""

from __future__ import annotations

import json

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mjrelay.api.errors import envelope
from mjrelay.core.errors import ReturnCode

MODE_PREFIXES = {"/mj-fast/mj": "fast", "/mj-relax/mj": "relax", "/mj-turbo/mj": "turbo"}


class ModePrefixMiddleware:
    """Serves ``/mj-fast/mj/...`` (and relax, turbo) as ``/mj/...`` with that speed mode."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            if path.startswith("/mj-"):
                for prefix, mode in MODE_PREFIXES.items():
                    if path.startswith(prefix + "/"):
                        scope = dict(scope)
                        scope["path"] = path[len(prefix) - 3 :]
                        scope["raw_path"] = scope["path"].encode()
                        scope["mjrelay.mode"] = mode
                        break
        await self.app(scope, receive, send)


class NulInURLMiddleware:
    """Refuses a NUL character in the path or query string with the 400 envelope.

    No task id, key, channel name or filter contains one, and PostgreSQL cannot even compare text
    with a NUL (the query fails), so such a request could only end as a server error. Checked
    here once for every route instead of in each lookup.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            query: bytes = scope.get("query_string", b"")
            if "\x00" in scope["path"] or b"%00" in query or b"\x00" in query:
                refusal = envelope(
                    int(ReturnCode.VALIDATION_ERROR),
                    "url: must not contain NUL characters",
                    status=400,
                )
                await refusal(scope, receive, send)
                return
        await self.app(scope, receive, send)


_JSON_CONTENT_TYPE = (b"content-type", b"application/json")
_METHODS_WITH_BODY = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _is_json_label(value: bytes) -> bool:
    media_type = value.split(b";", 1)[0].strip().lower()
    return media_type == b"application/json" or media_type.endswith(b"+json")


class JsonBodyMiddleware:
    """Every request body of this API is JSON, whatever its ``Content-Type`` says.

    ``curl -d`` labels a body ``application/x-www-form-urlencoded``, other clients send
    ``text/plain`` or no label at all, and FastAPI parses a body as JSON only when it is labelled
    so (anything else reaches the body model as raw bytes and fails as "not an object"). Relabelling
    the request here, in one place, makes every route parse its body as JSON; a body that is not
    JSON still gets the 400 envelope naming the body (``api.errors``). No route takes form data.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in _METHODS_WITH_BODY:
            headers: list[tuple[bytes, bytes]] = scope["headers"]
            labels = [value for name, value in headers if name == b"content-type"]
            if len(labels) != 1 or not _is_json_label(labels[0]):
                scope = dict(scope)
                scope["headers"] = [
                    *(item for item in headers if item[0] != b"content-type"),
                    _JSON_CONTENT_TYPE,
                ]
        await self.app(scope, receive, send)


class BodyLimitMiddleware:
    """Refuses request bodies over ``max_bytes`` with 413 before they are read into memory."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length":
                if not value.isdigit() or int(value) > self.max_bytes:
                    await self._reject(send)
                    return
                break
        received = 0

        async def limited_receive() -> Message:
            # Chunked bodies have no Content-Length: count as they arrive. The route's error
            # handler turns this into the 413 envelope.
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise HTTPException(413, self.description)
            return message

        await self.app(scope, limited_receive, send)

    @property
    def description(self) -> str:
        return f"body: larger than {self.max_bytes} bytes"

    async def _reject(self, send: Send) -> None:
        body = json.dumps(
            {"code": 4, "description": self.description, "result": None, "properties": {}}
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
