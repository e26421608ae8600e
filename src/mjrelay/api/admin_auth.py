"""The admin dependency: a separate token (``MJRELAY_ADMIN_TOKEN``), compared in constant time.

With no token configured the admin API does not exist (404), so a forgotten setting never leaves
it open.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated

from fastapi import Depends, Request

from mjrelay.api.deps import SettingsDep
from mjrelay.core.errors import AdminDisabled, Unauthorized


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


def _check_admin_token(request: Request, configured: str) -> None:
    if not configured:
        raise AdminDisabled("not found")
    if not admin_token_matches(configured, presented_admin_token(request)):
        raise Unauthorized("invalid admin token")


async def require_admin(request: Request, settings: SettingsDep) -> str:
    """Returns the actor name written to the audit log."""
    _check_admin_token(request, settings.admin_token.get_secret_value())
    return "admin-api"


async def require_metrics_access(request: Request, settings: SettingsDep) -> None:
    """``/metrics`` reveals business volume: admin token unless ``metrics_public`` is set."""
    if not settings.metrics_public:
        _check_admin_token(request, settings.admin_token.get_secret_value())


Admin = Annotated[str, Depends(require_admin)]
MetricsAccess = Annotated[None, Depends(require_metrics_access)]
