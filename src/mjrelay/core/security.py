"""API keys: generated with a visible prefix, stored only as a SHA-256 hash.

Keys are 256-bit random tokens, so a fast unsalted hash is enough (nothing to brute-force), and
it lets the auth check find the key by its hash with one indexed lookup.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

KEY_PREFIX = "mjr_"


def generate_api_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def key_display_prefix(key: str) -> str:
    """What operators see in listings: enough to tell keys apart, useless to an attacker."""
    return key[: len(KEY_PREFIX) + 6]


def constant_time_equal(left: str, right: str) -> bool:
    return hmac.compare_digest(left.encode(), right.encode())
