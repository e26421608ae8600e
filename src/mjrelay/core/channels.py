"""How a channel is declared: one ``[[channels]]`` table in the TOML config (or ``channels add``).

A channel is one place jobs can run: the local sandbox, another ``/mj`` relay, a Discord account.
The fields every engine shares are typed here; anything else in the table (``base_url``,
``secret``, a Discord ``token``...) is engine-specific and collected into ``engine_options()``,
which the engine kind validates with its own pydantic model (``engines/kinds.py``). That keeps
this module free of engine knowledge, so a new engine adds its fields without touching it.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SpeedMode = Literal["fast", "relax", "turbo"]
ALL_MODES: tuple[SpeedMode, ...] = ("fast", "relax", "turbo")
CHANNEL_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"


class ChannelConfig(BaseModel):
    """One ``[[channels]]`` entry. Unknown keys are engine options (validated by the engine)."""

    model_config = ConfigDict(extra="allow")

    name: str = Field(pattern=CHANNEL_NAME_PATTERN, description="Unique; stored on each task.")
    engine: str = Field(min_length=1, description='"sandbox", "upstream", "discord"...')
    enabled: bool = True
    weight: int = Field(1, ge=0, le=1_000_000, description="Share among equal priorities.")
    priority: int = Field(0, description="Higher priorities are tried first.")
    modes: list[SpeedMode] = Field(default_factory=lambda: list(ALL_MODES))
    max_concurrency: int = Field(0, ge=0, description="Unfinished jobs at once; 0 = no limit.")
    options: dict[str, Any] = Field(
        default_factory=dict, description="Engine options (may also be given at top level)."
    )

    def engine_options(self) -> dict[str, Any]:
        """Engine-specific settings: the ``options`` table plus unknown top-level keys."""
        return {**(self.model_extra or {}), **self.options}


class RoutingSettings(BaseModel):
    """Failover and circuit breaking, shared by all channels."""

    submit_timeout_seconds: float = Field(
        20.0, gt=0, description="A submit slower than this fails over to the next channel."
    )
    breaker_failures: int = Field(
        5, ge=1, description="Consecutive failures that open a channel's circuit."
    )
    breaker_open_seconds: float = Field(
        30.0, gt=0, description="How long an open circuit waits before one probe job."
    )
