"""The admin dependency: a separate token (``MJRELAY_ADMIN_TOKEN``), compared in constant time.

With no token configured the admin API does not exist (404), so a forgotten setting never leaves
it open.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated

from fastapi import Depends, Request

from mjrelay.core.errors import AdminDisabled, Unauthorized
from mjrelay.wiring import Relay


def _digest(value: str) -> bytes:
    # Hashing first makes the comparison constant-time whatever the lengths.
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).digest()


def admin_token_matches(configured: str, presented: str) -> bool:
    return bool(configured) and hmac.compare_digest(_digest(configured), _digest(presented))


def presented_admin_token(request: Request) -> str:
    authorization = request.headers.get("authorization", "")
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.headers.get("x-admin-token", "").strip()


async def require_admin(request: Request) -> str:
    """Returns the actor name written to the audit log."""
    relay: Relay = request.app.state.relay
    configured = relay.settings.admin_token.get_secret_value()
    if not configured:
        raise AdminDisabled("not found")
    if not admin_token_matches(configured, presented_admin_token(request)):
        raise Unauthorized("invalid admin token")
    return "admin-api"


Admin = Annotated[str, Depends(require_admin)]
