"""Channels and routing: one ``[[channels]]`` table per channel (or ``channels add``).

A channel is one place jobs can run: the local sandbox, another ``/mj`` relay, a Discord account.
The fields every engine shares are typed here; anything else in the table (``base_url``,
``secret``, a Discord ``token``...) is engine-specific and collected into ``engine_options()``,
which the engine kind validates with its own pydantic model (``engines/kinds.py``). That keeps
this module free of engine knowledge, so a new engine adds its fields without touching it.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

SpeedMode = Literal["fast", "relax", "turbo"]
ALL_MODES: tuple[SpeedMode, ...] = ("fast", "relax", "turbo")
CHANNEL_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"


class ChannelConfig(BaseModel):
    """One ``[[channels]]`` entry. Unknown keys are engine options (validated by the engine)."""

    model_config = ConfigDict(extra="allow")

    name: str = Field(
        pattern=CHANNEL_NAME_PATTERN,
        description="Unique name (letters, digits, _ . -; up to 64 characters); stored on each "
        "task to know where it runs.",
    )
    engine: str = Field(
        min_length=1, description='Engine kind running the jobs: "sandbox", "upstream", "discord".'
    )
    enabled: bool = Field(
        True,
        description="false: no new jobs go to this channel (`channels enable` cannot override "
        "it; `channels disable` pauses without editing the file).",
    )
    weight: int = Field(
        1,
        ge=0,
        le=1_000_000,
        description="Share of jobs among channels of equal priority, relative to their weights.",
    )
    priority: int = Field(
        0, description="Channels of higher priority are tried first; lower ones are failover."
    )
    modes: list[SpeedMode] = Field(
        default_factory=lambda: list(ALL_MODES),
        description="Speed modes (fast, relax, turbo) this channel takes jobs for.",
    )
    max_concurrency: int = Field(
        0, ge=0, description="Unfinished jobs at once on this channel; 0 = no limit."
    )
    options: dict[str, Any] = Field(
        default_factory=dict,
        description="Engine options, validated by the engine (may also be given at top level "
        "of the table).",
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


class ChannelSettings(BaseModel):
    """Top-level keys of channels and routing: where jobs run and how they fail over."""

    channels: list[ChannelConfig] = Field(
        default_factory=list,
        description="[[channels]]: where jobs run. Empty: one implicit sandbox channel (plus "
        "any added with `channels add`).",
    )
    channel_refresh_seconds: float = Field(
        5.0,
        gt=0,
        description="Seconds between re-reads of the channels in the database; changes made by "
        "the CLI or another instance apply this late.",
    )
    routing: RoutingSettings = Field(
        default_factory=RoutingSettings,
        description="[routing]: failover and circuit breaking, shared by all channels.",
    )

    @field_validator("channels")
    @classmethod
    def _unique_channels(cls, value: list[ChannelConfig]) -> list[ChannelConfig]:
        # Tasks, breakers and the database key channels by name: two with one name would merge.
        seen: set[str] = set()
        for channel in value:
            if channel.name in seen:
                raise ValueError(f"channels: duplicate channel name {channel.name!r}")
            seen.add(channel.name)
        return value
