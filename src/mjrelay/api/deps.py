"""Request dependencies: the relay, the caller's identity, the speed mode and the base URL."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import Depends, Request

from mjrelay.core.errors import Unauthorized
from mjrelay.services.relay import Relay
from mjrelay.store.keys import Principal

AUTH_CACHE_LIMIT = 10_000


def get_relay(request: Request) -> Relay:
    relay: Relay = request.app.state.relay
    return relay


class KeyCache:
    """Remembers recent key checks for a few seconds: auth runs on every poll, keys rarely change.

    Revoking a key therefore takes effect within ``auth_cache_seconds`` on every instance.
    """

    def __init__(self, ttl: float) -> None:
        self._ttl = ttl
        self._entries: dict[str, tuple[float, Principal | None]] = {}

    def get(self, key: str) -> tuple[bool, Principal | None]:
        entry = self._entries.get(key)
        if entry is None or entry[0] < time.monotonic():
            return False, None
        return True, entry[1]

    def put(self, key: str, principal: Principal | None) -> None:
        if len(self._entries) >= AUTH_CACHE_LIMIT:
            self._entries.clear()
        self._entries[key] = (time.monotonic() + self._ttl, principal)


def _presented_key(request: Request) -> str | None:
    authorization = request.headers.get("authorization")
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
        if not value and authorization.strip():
            return authorization.strip()  # some clients send the bare key
    secret = request.headers.get("mj-api-secret")
    return secret.strip() if secret and secret.strip() else None


async def authenticate(request: Request, relay: Annotated[Relay, Depends(get_relay)]) -> Principal:
    """The one auth dependency: ``Authorization: Bearer <key>`` or ``mj-api-secret: <key>``."""
    key = _presented_key(request)
    if key is None:
        raise Unauthorized("missing API key: send 'Authorization: Bearer <key>' or 'mj-api-secret'")
    if len(key) > 200:
        raise Unauthorized("invalid API key")
    cache: KeyCache = request.app.state.key_cache
    known, principal = cache.get(key)
    if not known:
        principal = await relay.keys.authenticate(key)
        cache.put(key, principal)
    if principal is None:
        raise Unauthorized("invalid API key")
    await relay.ops.check_request(principal)
    return principal


def speed_mode(request: Request) -> str:
    """The mode set by a ``/mj-fast``, ``/mj-relax`` or ``/mj-turbo`` path prefix ('' if none)."""
    return str(request.scope.get("mjrelay.mode", ""))


def base_url(request: Request) -> str:
    relay: Relay = request.app.state.relay
    if relay.settings.public_url:
        return relay.settings.public_url
    return str(request.base_url).rstrip("/")


CurrentPrincipal = Annotated[Principal, Depends(authenticate)]
CurrentRelay = Annotated[Relay, Depends(get_relay)]
Mode = Annotated[str, Depends(speed_mode)]
BaseURL = Annotated[str, Depends(base_url)]
