"""Validating service URLs an operator configures (upstream relays, Discord endpoints).

These are trusted destinations, so no SSRF check here; only the shape: the expected scheme, a
host, and no credentials inside the URL (they would end up in logs; secrets have their own keys).
"""

from __future__ import annotations

from urllib.parse import urlsplit


def configured_url(value: str, schemes: tuple[str, ...] = ("http", "https"), hint: str = "") -> str:
    """``value`` without a trailing slash; ValueError naming what is wrong."""
    parts = urlsplit(value)
    if parts.scheme not in schemes or not parts.hostname:
        kind = "/".join(schemes)
        raise ValueError(f"must be a {kind} URL with a host")
    if parts.username or parts.password:
        raise ValueError("must not contain credentials" + (f"; {hint}" if hint else ""))
    return value.rstrip("/")
