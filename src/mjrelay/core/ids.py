"""Identifiers: 16-digit task ids and job hashes."""

from __future__ import annotations

import secrets
import time
import uuid


def new_task_id(now_ms: int | None = None) -> str:
    """A task id as midjourney-proxy makes them: epoch milliseconds followed by 3 random digits.

    Collisions within one millisecond are possible (1 in 1000), so the store retries on a
    duplicate key instead of trusting this to be unique.
    """
    millis = now_ms if now_ms is not None else int(time.time() * 1000)
    return f"{millis}{secrets.randbelow(1000):03d}"


def new_job_hash() -> str:
    """The job uuid that Midjourney puts in button customIds and image file names."""
    return str(uuid.uuid4())


def now_ms() -> int:
    return int(time.time() * 1000)
