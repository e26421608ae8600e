"""The fake Discord server: REST (``/api/v9``), gateway WebSocket, uploads and CDN, on 127.0.0.1.

A real uvicorn server on an ephemeral port, so the engine talks HTTP and WebSocket over real
sockets. Accounts are keyed by user token (raw ``Authorization`` header, no prefix). Controls:
``rate_limit_next`` (answer the next N interactions with 429 + ``retry_after``), ``revoke(token)``
(close the gateway with 4004 and refuse the token from then on), ``gateway.request_reconnect``,
``gateway.invalidate``, ``gateway.controls`` and ``bot.controls``. Everything asked is recorded.
"""

from __future__ import annotations

import io
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from PIL import Image
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from tests.support.fake_discord.bot import FakeBot, snowflake
from tests.support.fake_discord.gateway import FakeGateway
from tests.support.live import serving_app


@dataclass
class Account:
    token: str
    user_id: str
    channel_id: str
    guild_id: str
    username: str = "tester"
    revoked: bool = False


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 30, 30)).save(buffer, "PNG")
    return buffer.getvalue()


class FakeDiscord:
    def __init__(self) -> None:
        self.accounts: dict[str, Account] = {}
        self.gateway = FakeGateway(self)
        self.bot = FakeBot(self)
        self.uploads: dict[str, bytes] = {}
        self.slots: dict[str, str] = {}
        self.interactions: list[dict[str, Any]] = []
        self.requests: list[tuple[str, str]] = []
        self.rate_limit_next = 0
        self.retry_after = 0.05
        self.rate_limited_at: list[float] = []
        self.inpaints: list[dict[str, Any]] = []
        self.png = _png()
        self.base_url = ""
        self.ws_url = ""

    def add_account(
        self, name: str = "acct", *, channel_id: str = "", guild_id: str = "1000"
    ) -> Account:
        account = Account(
            token=f"tok.{name}.{secrets.token_urlsafe(12)}",
            user_id=snowflake(),
            channel_id=channel_id or snowflake(),
            guild_id=guild_id,
            username=name,
        )
        self.accounts[account.token] = account
        return account

    def channel_options(self, account: Account, **extra: Any) -> dict[str, Any]:
        """The engine options of a ``[[channels]]`` entry pointed at this fake."""
        return {
            "guild_id": account.guild_id,
            "channel_id": account.channel_id,
            "user_token": account.token,
            "api_base_url": self.base_url,
            "gateway_url": self.ws_url,
            "inpaint_url": f"{self.base_url}/inpaint/api/submit-job",
            **extra,
        }

    async def revoke(self, account: Account) -> None:
        account.revoked = True
        await self.gateway.close_all(account.token, 4004)

    # ---- REST ------------------------------------------------------------------------------

    def _account(self, request: Request) -> Account | None:
        account = self.accounts.get(request.headers.get("authorization", ""))
        return None if account is None or account.revoked else account

    @staticmethod
    def _unauthorized() -> JSONResponse:
        return JSONResponse({"message": "401: Unauthorized", "code": 0}, status_code=401)

    async def interactions_route(self, request: Request) -> Response:
        self.requests.append(("POST", "/interactions"))
        account = self._account(request)
        if account is None:
            return self._unauthorized()
        if self.rate_limit_next > 0:
            self.rate_limit_next -= 1
            self.rate_limited_at.append(time.monotonic())
            return JSONResponse(
                {
                    "message": "You are being rate limited.",
                    "retry_after": self.retry_after,
                    "global": False,
                },
                status_code=429,
                headers={"Retry-After": "1"},
            )
        payload = await request.json()
        if (
            payload.get("channel_id") != account.channel_id
            or payload.get("guild_id") != account.guild_id
        ):
            return JSONResponse({"code": 50001, "message": "Missing Access"}, status_code=403)
        self.interactions.append(payload)
        status, body = await self.bot.interaction(account, payload)
        if status == 204:
            return Response(status_code=204)
        return JSONResponse(body, status_code=status)

    async def attachments_route(self, request: Request) -> Response:
        account = self._account(request)
        if account is None:
            return self._unauthorized()
        if request.path_params["channel"] != account.channel_id:
            return JSONResponse({"code": 50001, "message": "Missing Access"}, status_code=403)
        body = await request.json()
        answer = []
        for item in body.get("files") or []:
            key = secrets.token_hex(8)
            filename = f"{key}/{item['filename']}"
            self.slots[key] = filename
            answer.append(
                {
                    "id": item.get("id"),
                    "upload_url": f"{self.base_url}/upload/{key}",
                    "upload_filename": filename,
                }
            )
        return JSONResponse({"attachments": answer})

    async def upload_route(self, request: Request) -> Response:
        key = request.path_params["key"]
        filename = self.slots.pop(key, None)
        if filename is None:
            return Response(status_code=404)
        self.uploads[filename] = await request.body()
        return Response(status_code=200)

    async def messages_route(self, request: Request) -> Response:
        account = self._account(request)
        if account is None:
            return self._unauthorized()
        body = await request.json()
        attachments = []
        for att in body.get("attachments") or []:
            name = str(att.get("uploaded_filename"))
            if name not in self.uploads:
                return JSONResponse(
                    {"code": 50035, "message": "Invalid Form Body"}, status_code=400
                )
            attachments.append(
                {
                    "id": snowflake(),
                    "filename": att.get("filename"),
                    "url": f"{self.base_url}/uploads/{name}",
                }
            )
        message = {
            "id": snowflake(),
            "channel_id": account.channel_id,
            "content": body.get("content", ""),
            "attachments": attachments,
            "author": {"id": account.user_id},
        }
        return JSONResponse(message)

    async def cdn_route(self, request: Request) -> Response:
        name = request.path_params["path"]
        media = "image/webp" if name.endswith(".webp") else "image/png"
        return Response(self.png, media_type=media)

    async def uploaded_route(self, request: Request) -> Response:
        data = self.uploads.get(request.path_params["path"])
        if data is None:
            return Response(status_code=404)
        return Response(data, media_type="image/png")

    async def inpaint_route(self, request: Request) -> Response:
        payload = await request.json()
        self.inpaints.append(payload)
        status, body = await self.bot.inpaint(payload)
        return JSONResponse(body, status_code=status)

    async def gateway_route(self, ws: WebSocket) -> None:
        await self.gateway.serve(ws)

    def app(self) -> Starlette:
        routes = [
            Route("/api/v9/interactions", self.interactions_route, methods=["POST"]),
            Route(
                "/api/v9/channels/{channel}/attachments", self.attachments_route, methods=["POST"]
            ),
            Route("/api/v9/channels/{channel}/messages", self.messages_route, methods=["POST"]),
            Route("/upload/{key}", self.upload_route, methods=["PUT"]),
            Route("/attachments/{path:path}", self.cdn_route, methods=["GET"]),
            Route("/uploads/{path:path}", self.uploaded_route, methods=["GET"]),
            Route("/inpaint/api/submit-job", self.inpaint_route, methods=["POST"]),
            WebSocketRoute("/", self.gateway_route),
            WebSocketRoute("/resume", self.gateway_route),
            WebSocketRoute("/resume/", self.gateway_route),
        ]
        return Starlette(routes=routes)


@asynccontextmanager
async def running_fake_discord() -> AsyncIterator[FakeDiscord]:
    fake = FakeDiscord()
    app = fake.app()
    async with serving_app(
        app, lifespan="off", ws="websockets-sansio", what="fake Discord"
    ) as port:
        fake.base_url = f"http://127.0.0.1:{port}"
        fake.ws_url = f"ws://127.0.0.1:{port}"
        try:
            yield fake
        finally:
            for task in list(fake.bot.tasks):
                task.cancel()
