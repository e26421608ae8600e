"""The Discord gateway connection of one user account.

Hello → identify (or resume with the stored session at ``resume_gateway_url``) → dispatches.
Heartbeats start after a random fraction of the interval (jitter) and each must be acknowledged
before the next one is due; a missed ack means a zombie connection, which is dropped and resumed.
Op 7 (reconnect) resumes, op 9 (invalid session) identifies again when not resumable. Frames are
zlib-stream compressed (one inflater per connection, a message ends with ``00 00 ff ff``).
Reconnects back off exponentially with jitter. Close codes that mean the token or account is
dead (4004 and friends) stop the client and are reported through ``on_dead``: retrying would only
hammer Discord with a dead token.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import orjson
import websockets
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from mjrelay.core.logging import get_logger
from mjrelay.core.netguard import UnsafeURLError, URLPolicy, check_outbound_url

log = get_logger("mjrelay.engines.discord.gateway")

ZLIB_SUFFIX = b"\x00\x00\xff\xff"
# Close codes after which reconnecting cannot help (Discord gateway docs).
FATAL_CLOSE = {
    4004: "authentication failed: the user token is invalid or revoked",
    4010: "invalid shard",
    4011: "sharding required",
    4012: "invalid API version",
    4013: "invalid intents",
    4014: "disallowed intents",
}
# The session cannot be resumed after these: identify again.
FRESH_SESSION_CLOSE = frozenset({4007, 4009})
MAX_FRAME = 8 * 1024 * 1024
HELLO_TIMEOUT = 30.0

Dispatch = Callable[[str, dict[str, Any]], Awaitable[None]]
DeadHandler = Callable[[str], Awaitable[None]]
SessionSaver = Callable[[dict[str, Any]], Awaitable[None]]


class _Reconnect(Exception):
    def __init__(self, why: str, *, resume: bool) -> None:
        super().__init__(why)
        self.resume = resume


@dataclass
class GatewaySession:
    """What a resume needs; persisted in the channel state so restarts can resume too."""

    session_id: str = ""
    resume_url: str = ""
    seq: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"session_id": self.session_id, "resume_url": self.resume_url, "seq": self.seq}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GatewaySession:
        seq = data.get("seq")
        return cls(
            session_id=str(data.get("session_id") or ""),
            resume_url=str(data.get("resume_url") or ""),
            seq=seq if isinstance(seq, int) else None,
        )


@dataclass
class GatewayStats:
    connects: int = 0
    resumes: int = 0
    identifies: int = 0
    missed_acks: int = 0
    reconnect_requests: int = 0
    invalid_sessions: int = 0
    events: int = 0
    close_codes: list[int] = field(default_factory=list)


class GatewayClient:
    def __init__(
        self,
        *,
        url: str,
        token: str,
        user_agent: str,
        on_dispatch: Dispatch,
        on_dead: DeadHandler,
        save_session: SessionSaver,
        session: GatewaySession | None = None,
        compress: bool = True,
        backoff_max: float = 60.0,
        backoff_base: float = 0.5,
        name: str = "",
    ) -> None:
        self._url = url
        self._token = token
        self._user_agent = user_agent
        self._on_dispatch = on_dispatch
        self._on_dead = on_dead
        self._save_session = save_session
        self.session = session or GatewaySession()
        self._compress = compress
        self._backoff_max = backoff_max
        self._backoff_base = backoff_base
        self._name = name
        self._host = (urlsplit(url).hostname or "").lower()
        self.ready = asyncio.Event()
        self.stats = GatewayStats()
        self._stopping = False
        self._ws: ClientConnection | None = None

    # ---- lifecycle -------------------------------------------------------------------------

    async def run(self) -> None:
        """Stay connected until ``stop`` or a fatal close; never raises."""
        failures = 0
        while not self._stopping:
            url = await self._connect_url()
            try:
                async with websockets.connect(
                    url,
                    user_agent_header=self._user_agent,
                    compression=None,
                    max_size=MAX_FRAME,
                    open_timeout=15,
                    ping_interval=None,
                ) as ws:
                    self._ws = ws
                    self.stats.connects += 1
                    await self._serve(ws)
            except _Reconnect as exc:
                log.info("gateway reconnecting", channel=self._name, why=str(exc))
                if not exc.resume:
                    self._forget_session()
                failures = 0
            except ConnectionClosed as exc:
                if self._stopping:
                    return
                code = exc.rcvd.code if exc.rcvd is not None else 1006
                self.stats.close_codes.append(code)
                if code in FATAL_CLOSE:
                    self.ready.clear()
                    reason = f"Discord closed the gateway with {code}: {FATAL_CLOSE[code]}"
                    log.error("gateway closed for good", channel=self._name, code=code)
                    await self._on_dead(reason)
                    return
                if code in FRESH_SESSION_CLOSE:
                    self._forget_session()
                log.warning("gateway closed", channel=self._name, code=code)
                failures += 1
            except (
                OSError,
                InvalidHandshake,
                TimeoutError,
                orjson.JSONDecodeError,
                zlib.error,
            ) as exc:
                log.warning("gateway connect failed", channel=self._name, error=type(exc).__name__)
                failures += 1
            finally:
                self._ws = None
                self.ready.clear()
            if self._stopping:
                return
            if failures:
                delay = min(self._backoff_max, self._backoff_base * 2 ** min(failures - 1, 10))
                await asyncio.sleep(delay * random.uniform(0.5, 1.0))

    async def stop(self) -> None:
        self._stopping = True
        ws = self._ws
        if ws is not None:
            with contextlib.suppress(Exception):
                await ws.close(4000, "client stopping")  # non-1000: the session stays resumable

    async def _connect_url(self) -> str:
        base = self._url
        if self.session.session_id and self.session.resume_url:
            base = self.session.resume_url
        query = "?v=9&encoding=json" + ("&compress=zlib-stream" if self._compress else "")
        return base.rstrip("/") + "/" + query

    def _forget_session(self) -> None:
        self.session = GatewaySession()

    # ---- one connection --------------------------------------------------------------------

    async def _serve(self, ws: ClientConnection) -> None:
        inflater = zlib.decompressobj()
        buffer = bytearray()
        hello = await asyncio.wait_for(self._next(ws, inflater, buffer), HELLO_TIMEOUT)
        if hello.get("op") != 10:
            raise _Reconnect("no hello", resume=True)
        interval = float(hello["d"]["heartbeat_interval"]) / 1000.0
        state = {"acked": True}
        if self.session.session_id and self.session.seq is not None:
            self.stats.resumes += 1
            await self._send(
                ws,
                {
                    "op": 6,
                    "d": {
                        "token": self._token,
                        "session_id": self.session.session_id,
                        "seq": self.session.seq,
                    },
                },
            )
        else:
            self.stats.identifies += 1
            await self._send(ws, {"op": 2, "d": self._identify()})
        beat = asyncio.create_task(self._heartbeat(ws, interval, state))
        try:
            while True:
                message = await self._next(ws, inflater, buffer)
                await self._handle(ws, message, state)
                if beat.done():
                    beat.result()
        finally:
            beat.cancel()
            with contextlib.suppress(asyncio.CancelledError, _Reconnect, Exception):
                await beat

    async def _heartbeat(
        self, ws: ClientConnection, interval: float, state: dict[str, bool]
    ) -> None:
        await asyncio.sleep(interval * random.random())
        while True:
            if not state["acked"]:
                self.stats.missed_acks += 1
                log.warning("gateway heartbeat not acknowledged", channel=self._name)
                await ws.close(4000, "zombie connection")
                return
            state["acked"] = False
            await self._send(ws, {"op": 1, "d": self.session.seq})
            await asyncio.sleep(interval)

    async def _handle(
        self, ws: ClientConnection, message: dict[str, Any], state: dict[str, bool]
    ) -> None:
        op = message.get("op")
        if op == 0:
            seq = message.get("s")
            if isinstance(seq, int):
                self.session.seq = seq
            event = str(message.get("t") or "")
            data = message.get("d") or {}
            if event == "READY":
                resume = str(data.get("resume_gateway_url") or "")
                self.session.session_id = str(data.get("session_id") or "")
                self.session.resume_url = await self._checked_resume_url(resume)
                await self._save_session(self.session.to_dict())
                self.ready.set()
                log.info("gateway ready", channel=self._name)
            elif event == "RESUMED":
                self.ready.set()
                log.info("gateway resumed", channel=self._name)
            if isinstance(data, dict):
                self.stats.events += 1
                await self._on_dispatch(event, data)
        elif op == 1:
            await self._send(ws, {"op": 1, "d": self.session.seq})
        elif op == 11:
            state["acked"] = True
        elif op == 7:
            self.stats.reconnect_requests += 1
            await ws.close(4000, "reconnect requested")
            raise _Reconnect("server asked to reconnect", resume=True)
        elif op == 9:
            self.stats.invalid_sessions += 1
            resumable = bool(message.get("d"))
            await ws.close(4000, "invalid session")
            # Discord asks clients to wait 1-5 s before identifying again.
            await asyncio.sleep(random.uniform(0.1, 0.5) if resumable else random.uniform(0.2, 1.0))
            raise _Reconnect("invalid session", resume=resumable)

    async def _checked_resume_url(self, url: str) -> str:
        """Only follow a resume URL that is a ws(s) URL and public or on the gateway's host."""
        if not url:
            return ""
        policy = URLPolicy(
            allowed_schemes=frozenset({"ws", "wss"}), allow_hosts=frozenset({self._host})
        )
        try:
            await check_outbound_url(url, policy, purpose="resume gateway URL")
        except UnsafeURLError as exc:
            log.warning("resume URL refused", channel=self._name, error=str(exc))
            return ""
        return url

    async def _next(self, ws: ClientConnection, inflater: Any, buffer: bytearray) -> dict[str, Any]:
        while True:
            frame = await ws.recv()
            if isinstance(frame, str):
                data: Any = orjson.loads(frame)
            else:
                buffer.extend(frame)
                if not buffer.endswith(ZLIB_SUFFIX):
                    continue
                raw = inflater.decompress(bytes(buffer))
                buffer.clear()
                data = orjson.loads(raw)
            if isinstance(data, dict):
                return data

    async def _send(self, ws: ClientConnection, payload: dict[str, Any]) -> None:
        await ws.send(orjson.dumps(payload).decode())

    def _identify(self) -> dict[str, Any]:
        return {
            "token": self._token,
            "capabilities": 16381,
            "compress": False,
            "presence": {"activities": [], "afk": False, "since": 0, "status": "online"},
            "properties": {
                "browser": "Chrome",
                "browser_user_agent": self._user_agent,
                "browser_version": "112.0.0.0",
                "client_build_number": 222963,
                "client_event_source": None,
                "device": "",
                "os": "Mac OS X",
                "referer": "https://www.midjourney.com",
                "referring_domain": "www.midjourney.com",
                "release_channel": "stable",
                "system_locale": "en-US",
            },
        }
