"""A channel as the running relay sees it: the declared config plus runtime switches.

``enabled`` comes from the declaration (config file or ``channels add``); ``paused`` is the
operator's runtime switch (``channels disable``), kept apart so that restarting with the same
config file does not silently undo a ``channels disable``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mjrelay.core.settings.channels import ALL_MODES, ChannelConfig


@dataclass(frozen=True, slots=True)
class ChannelSpec:
    name: str
    engine: str
    enabled: bool = True
    paused: bool = False
    weight: int = 1
    priority: int = 0
    modes: frozenset[str] = frozenset(ALL_MODES)
    max_concurrency: int = 0
    options: dict[str, Any] = field(default_factory=dict)
    # "config" (TOML), "cli" (channels add), "default" (implicit sandbox), "code" (injected).
    source: str = "config"

    @property
    def active(self) -> bool:
        """Takes new jobs (health aside)."""
        return self.enabled and not self.paused

    def serves(self, mode: str) -> bool:
        """'' (no mode prefix) is served by every channel."""
        return not mode or mode in self.modes

    @classmethod
    def from_config(cls, config: ChannelConfig, *, source: str = "config") -> ChannelSpec:
        return cls(
            name=config.name,
            engine=config.engine,
            enabled=config.enabled,
            weight=config.weight,
            priority=config.priority,
            modes=frozenset(config.modes),
            max_concurrency=config.max_concurrency,
            options=config.engine_options(),
            source=source,
        )

    def describe(self) -> dict[str, Any]:
        """Loggable summary: never the options (they hold secrets and upstream hosts)."""
        return {
            "channel": self.name,
            "engine": self.engine,
            "active": self.active,
            "priority": self.priority,
            "weight": self.weight,
        }


@dataclass(frozen=True, slots=True)
class PendingTask:
    """An unfinished task of a channel, as a status-syncing engine needs it."""

    task_id: str
    status: str
    submit_ms: int
    engine_state: dict[str, Any]
