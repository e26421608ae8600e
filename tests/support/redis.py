"""The local Redis for cross-instance tests (127.0.0.1:6379), or a skip saying why."""

from __future__ import annotations

import os
import socket

import pytest

REDIS_URL = os.environ.get("MJRELAY_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def require_redis() -> str:
    """The Redis URL; skips when unreachable, unless ``MJRELAY_REQUIRE_REDIS=1`` (CI)."""
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            if sock.recv(16).startswith(b"+PONG"):
                return REDIS_URL
    except OSError as exc:
        reason = str(exc)
    else:
        reason = "no PONG"
    if os.environ.get("MJRELAY_REQUIRE_REDIS") == "1":
        raise AssertionError(f"Redis required but not reachable at 127.0.0.1:6379: {reason}")
    pytest.skip(f"Redis not reachable at 127.0.0.1:6379: {reason}")
