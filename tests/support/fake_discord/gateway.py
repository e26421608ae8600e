"""The fake's gateway side: sessions with sequence numbers, resume replay, zlib-stream frames.

One ``Session`` per identify; dispatches sent while its client is disconnected are kept and
replayed on resume (``seq`` > the client's). Each connection has its own zlib context (one
Z_SYNC_FLUSH per message, like Discord) and a lock so compressed frames are never interleaved.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import zlib
from dataclasses import dataclass, field
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect


class Connection:
    def __init__(self, ws: WebSocket, compress: bool) -> None:
        self.ws = ws
        self.compress = compress
        self._zlib = zlib.compressobj()
        self._lock = asyncio.Lock()
        self.closed = False

    async def send(self, payload: dict[str, Any]) -> None:
        raw = json.dumps(payload).encode()
        async with self._lock:
            if self.closed:
                return
            try:
                if self.compress:
                    data = self._zlib.compress(raw) + self._zlib.flush(zlib.Z_SYNC_FLUSH)
                    await self.ws.send_bytes(data)
                else:
                    await self.ws.send_text(raw.decode())
            except Exception:
                self.closed = True

    async def close(self, code: int) -> None:
        async with self._lock:
            if self.closed:
                return
            self.closed = True
            with contextlib.suppress(Exception):
                await self.ws.close(code=code)


@dataclass
class Session:
    id: str
    token: str
    seq: int = 0
    log: list[dict[str, Any]] = field(default_factory=list)
    conn: Connection | None = None

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        self.seq += 1
        frame = {"op": 0, "s": self.seq, "t": event, "d": data}
        self.log.append(frame)
        if self.conn is not None:
            await self.conn.send(frame)


@dataclass
class GatewayControls:
    heartbeat_interval_ms: int = 1000
    ack_heartbeats: bool = True
    refuse_resume: bool = False


class FakeGateway:
    def __init__(self, fake: Any) -> None:
        self.fake = fake
        self.controls = GatewayControls()
        self.sessions: dict[str, Session] = {}
        self.identifies = 0
        self.resumes = 0
        self.heartbeats = 0
        self.received: list[dict[str, Any]] = []
        self.paths: list[str] = []  # the URL path of every gateway connection

    def live_sessions(self, token: str) -> list[Session]:
        return [s for s in self.sessions.values() if s.token == token and s.conn is not None]

    def session_of(self, token: str) -> Session | None:
        found = [s for s in self.sessions.values() if s.token == token]
        return found[-1] if found else None

    async def broadcast(self, token: str, event: str, data: dict[str, Any]) -> None:
        session = self.session_of(token)
        if session is not None:
            await session.dispatch(event, data)

    async def serve(self, ws: WebSocket) -> None:
        await ws.accept()
        self.paths.append(ws.url.path)
        compress = ws.query_params.get("compress", "").startswith("zlib-stream")
        conn = Connection(ws, compress)
        await conn.send(
            {"op": 10, "d": {"heartbeat_interval": self.controls.heartbeat_interval_ms}}
        )
        session: Session | None = None
        try:
            while True:
                message = json.loads(await ws.receive_text())
                self.received.append({"op": message.get("op")})
                op = message.get("op")
                if op == 1:
                    self.heartbeats += 1
                    if self.controls.ack_heartbeats:
                        await conn.send({"op": 11, "d": None})
                elif op == 2:
                    session = await self._identify(conn, message.get("d") or {})
                    if session is None:
                        return
                elif op == 6:
                    session = await self._resume(conn, message.get("d") or {})
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            conn.closed = True
            if session is not None and session.conn is conn:
                session.conn = None

    async def _identify(self, conn: Connection, data: dict[str, Any]) -> Session | None:
        token = str(data.get("token") or "")
        account = self.fake.accounts.get(token)
        self.identifies += 1
        if account is None or account.revoked:
            await conn.close(4004)
            return None
        session = Session(id=secrets.token_hex(16), token=token)
        self.sessions[session.id] = session
        session.conn = conn
        await session.dispatch(
            "READY",
            {
                "v": 9,
                "user": {"id": account.user_id, "username": account.username, "discriminator": "0"},
                "session_id": session.id,
                "resume_gateway_url": f"{self.fake.ws_url}/resume",
                "guilds": [],
                "private_channels": [],
            },
        )
        return session

    async def _resume(self, conn: Connection, data: dict[str, Any]) -> Session | None:
        self.resumes += 1
        session = self.sessions.get(str(data.get("session_id") or ""))
        token = str(data.get("token") or "")
        account = self.fake.accounts.get(token)
        if account is not None and account.revoked:
            await conn.close(4004)
            return None
        if session is None or session.token != token or self.controls.refuse_resume:
            await conn.send({"op": 9, "d": False})
            return None
        seq = int(data.get("seq") or 0)
        old = session.conn
        session.conn = conn
        if old is not None and old is not conn:
            await old.close(4000)
        for frame in [f for f in session.log if f["s"] > seq]:
            await conn.send(frame)
        await session.dispatch("RESUMED", {})
        return session

    async def request_reconnect(self, token: str) -> None:
        for session in self.live_sessions(token):
            if session.conn is not None:
                await session.conn.send({"op": 7, "d": None})

    async def invalidate(self, token: str) -> None:
        for session in self.live_sessions(token):
            if session.conn is not None:
                await session.conn.send({"op": 9, "d": False})
            self.sessions.pop(session.id, None)

    async def close_all(self, token: str, code: int) -> None:
        for session in self.live_sessions(token):
            if session.conn is not None:
                await session.conn.close(code)
