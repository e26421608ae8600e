"""Redis and the progress streams (SSE) that fan task changes out to clients."""

from __future__ import annotations

from pydantic import BaseModel, Field


class StreamSettings(BaseModel):
    """Top-level keys ``redis_*`` and ``stream_*``.

    With Redis set, rate limits are shared by all instances and every instance's progress
    streams see task changes made by the others.
    """

    redis_url: str = Field(
        "",
        description="Redis URL, e.g. redis://127.0.0.1:6379/0. Empty: limits and streams are "
        "per instance (fine for one instance).",
    )
    redis_prefix: str = Field(
        "mjrelay",
        description="Prefix of every Redis key the relay writes; change it when relays of "
        "different deployments share one Redis.",
    )
    redis_channel: str = Field(
        "mjrelay:tasks",
        description="Redis pub/sub channel carrying task changes between instances.",
    )
    stream_heartbeat_seconds: float = Field(
        15.0,
        gt=0,
        description="Seconds between keep-alive comments on idle progress streams; lower it "
        "when a proxy closes idle connections sooner.",
    )
    stream_max_clients: int = Field(
        1000, ge=1, description="Progress streams open at once per instance (refused beyond)."
    )
