"""How long tasks may take and how they are looked after."""

from __future__ import annotations

from pydantic import BaseModel, Field


class TaskSettings(BaseModel):
    """Top-level keys of the task lifecycle (``MJRELAY_TASK_TIMEOUT_SECONDS``...)."""

    task_timeout_seconds: float = Field(
        600.0,
        gt=0,
        description="Seconds after which an unfinished task fails (and is refunded). Raise it "
        "for slow relax-mode upstreams.",
    )
    sweep_interval_seconds: float = Field(
        5.0,
        gt=0,
        description="Seconds between sweeps for timed-out tasks; a timeout is noticed up to "
        "this late.",
    )
    fetch_cache_entries: int = Field(
        20_000,
        ge=0,
        description="Serialized tasks kept in memory to answer fetches without the database; "
        "0 disables the cache; raise it when fetches of many tasks hit the database.",
    )
