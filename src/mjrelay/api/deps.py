"""Request dependencies: the caller's identity, the speed mode, the base URL, and one narrow
typed dependency per service a route may use (``TasksDep``, ``AdminDep``, ``AccountDep``...).

Routes never receive the whole ``Relay`` (nor a store or the database): only this module reads
the relay off the app, and each route names exactly the services it uses.

They are ``async def`` on purpose: FastAPI runs a plain ``def`` dependency in a worker thread,
which costs more than everything else on the fetch path.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Annotated

from fastapi import Depends, Request
from starlette.types import Scope

from mjrelay.core.errors import Unauthorized
from mjrelay.core.settings import Settings
from mjrelay.media.store import MediaStore
from mjrelay.services.channels.admin import ChannelAdmin
from mjrelay.services.container import Services
from mjrelay.services.health import HealthCheck
from mjrelay.services.operator.account import AccountService
from mjrelay.services.operator.admin import AdminService
from mjrelay.services.operator.exporter import MetricsExporter
from mjrelay.services.operator.service import Operator
from mjrelay.services.streams.watch import TaskWatcher
from mjrelay.services.tasks.push import PushReceiver
from mjrelay.services.tasks.service import TaskService
from mjrelay.store.keys import KeyStore, Principal

AUTH_CACHE_LIMIT = 10_000


def relay_of(request: Request) -> Services:
    """The relay the app was built around (``api.app.create_app``); for this module only."""
    relay: Services = request.app.state.relay
    return relay


async def get_settings(request: Request) -> Settings:
    return relay_of(request).settings


async def get_tasks(request: Request) -> TaskService:
    return relay_of(request).tasks


async def get_admin(request: Request) -> AdminService:
    return relay_of(request).admin


async def get_channel_admin(request: Request) -> ChannelAdmin:
    return relay_of(request).channel_admin


async def get_account(request: Request) -> AccountService:
    return relay_of(request).account


async def get_metrics(request: Request) -> MetricsExporter:
    return relay_of(request).exporter


async def get_streams(request: Request) -> TaskWatcher:
    return relay_of(request).watcher


async def get_push(request: Request) -> PushReceiver:
    return relay_of(request).push


async def get_media(request: Request) -> MediaStore:
    return relay_of(request).media


async def get_health(request: Request) -> HealthCheck:
    return relay_of(request).health


class KeyCache:
    """Remembers recent key checks for a few seconds: auth runs on every poll, keys rarely change.

    Revoking a key therefore takes effect within ``auth_cache_seconds`` on every instance.
    """

    def __init__(self, ttl: float) -> None:
        self._ttl = ttl
        self._entries: dict[str, tuple[float, Principal | None]] = {}
        self._pending: dict[str, asyncio.Future[Principal | None]] = {}

    def get(self, key: str) -> tuple[bool, Principal | None]:
        entry = self._entries.get(key)
        if entry is None or entry[0] < time.monotonic():
            return False, None
        return True, entry[1]

    def put(self, key: str, principal: Principal | None) -> None:
        if len(self._entries) >= AUTH_CACHE_LIMIT:
            self._entries.clear()
        self._entries[key] = (time.monotonic() + self._ttl, principal)

    async def load(
        self, key: str, lookup: Callable[[str], Awaitable[Principal | None]]
    ) -> Principal | None:
        """Looks the key up once for all requests that miss meanwhile: when an entry expires
        under load, every in-flight poll with that key misses at the same moment."""
        pending = self._pending.get(key)
        if pending is None:
            pending = asyncio.ensure_future(lookup(key))
            self._pending[key] = pending
            pending.add_done_callback(partial(self._settle, key))
        return await asyncio.shield(pending)

    def _settle(self, key: str, done: asyncio.Future[Principal | None]) -> None:
        self._pending.pop(key, None)
        if not done.cancelled() and done.exception() is None:
            self.put(key, done.result())


def presented_key(authorization: str | None, secret: str | None) -> str | None:
    """The key from the ``Authorization`` or ``mj-api-secret`` header value (None if absent)."""
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
        if not value and authorization.strip():
            return authorization.strip()  # some clients send the bare key
    return secret.strip() if secret and secret.strip() else None


@dataclass(frozen=True, slots=True)
class KeyCheck:
    """What the auth check needs: the key store and the operator's per-request limits."""

    keys: KeyStore
    ops: Operator
    cache: KeyCache


async def resolve_principal(key: str | None, check: KeyCheck) -> Principal:
    """THE auth check, shared by the dependency and the fetch fast path (``api.fast_fetch``)."""
    if key is None:
        raise Unauthorized("missing API key: send 'Authorization: Bearer <key>' or 'mj-api-secret'")
    if len(key) > 200:
        raise Unauthorized("invalid API key")
    known, principal = check.cache.get(key)
    if not known:
        principal = await check.cache.load(key, check.keys.authenticate)
    if principal is None:
        raise Unauthorized("invalid API key")
    await check.ops.check_request(principal)
    return principal


async def authenticate(request: Request) -> Principal:
    """The one auth dependency: ``Authorization: Bearer <key>`` or ``mj-api-secret: <key>``."""
    headers = request.headers
    key = presented_key(headers.get("authorization"), headers.get("mj-api-secret"))
    return await resolve_principal(key, request.app.state.key_check)


async def speed_mode(request: Request) -> str:
    """The mode set by a ``/mj-fast``, ``/mj-relax`` or ``/mj-turbo`` path prefix ('' if none)."""
    return str(request.scope.get("mjrelay.mode", ""))


class BaseURLs:
    """The base URL a request was sent to (``public_url`` if configured), memoized per
    (scheme, Host, root path): Starlette computes it once per distinct key, later requests are a
    dict hit. Bounded, because the Host header is chosen by the client."""

    def __init__(self, public_url: str, limit: int = 256) -> None:
        self._public_url = public_url
        self._limit = limit
        self._known: dict[tuple[object, ...], str] = {}

    def of(self, scope: Scope) -> str:
        if self._public_url:
            return self._public_url
        host = None
        for name, value in scope["headers"]:
            if name == b"host":
                host = value
                break
        server = scope.get("server")
        key = (
            scope.get("scheme"),
            host,
            # ASGI allows any two-item iterable here; some servers and test clients send a list.
            None if server is None else tuple(server),
            scope.get("root_path"),
            scope.get("app_root_path"),
        )
        known = self._known.get(key)
        if known is None:
            known = str(Request(scope).base_url).rstrip("/")
            if len(self._known) >= self._limit:
                self._known.clear()
            self._known[key] = known
        return known


async def base_url(request: Request) -> str:
    urls: BaseURLs = request.app.state.base_urls
    return urls.of(request.scope)


CurrentPrincipal = Annotated[Principal, Depends(authenticate)]
Mode = Annotated[str, Depends(speed_mode)]
BaseURL = Annotated[str, Depends(base_url)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
TasksDep = Annotated[TaskService, Depends(get_tasks)]
AdminDep = Annotated[AdminService, Depends(get_admin)]
ChannelAdminDep = Annotated[ChannelAdmin, Depends(get_channel_admin)]
AccountDep = Annotated[AccountService, Depends(get_account)]
MetricsDep = Annotated[MetricsExporter, Depends(get_metrics)]
StreamsDep = Annotated[TaskWatcher, Depends(get_streams)]
PushDep = Annotated[PushReceiver, Depends(get_push)]
MediaDep = Annotated[MediaStore, Depends(get_media)]
HealthDep = Annotated[HealthCheck, Depends(get_health)]
