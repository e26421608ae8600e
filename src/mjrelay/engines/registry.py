"""Which channels exist, the engine running each, and how each is declared.

A channel's name is what a task records (``tasks.engine``), so a task's actions and status
sync always go back to the engine of the channel that made it.
"""

from __future__ import annotations

from mjrelay.domain.channel import ChannelSpec
from mjrelay.engines.base import Engine


class EngineRegistry:
    def __init__(
        self,
        engines: list[Engine] | None = None,
        default: str | None = None,
        specs: list[ChannelSpec] | None = None,
    ) -> None:
        self._engines: dict[str, Engine] = {}
        self._specs: dict[str, ChannelSpec] = {}
        engines = engines or []
        if default is not None and default not in {engine.name for engine in engines}:
            raise ValueError(f"default engine {default!r} is not configured")
        by_name = {spec.name: spec for spec in specs or []}
        for index, engine in enumerate(engines):
            spec = by_name.get(engine.name) or ChannelSpec(
                name=engine.name,
                engine=engine.name,
                # Injected engines: the first (or ``default``) is preferred, like before channels.
                priority=1 if engine.name == default else -index,
                source="code",
            )
            self.put(spec, engine)

    def put(self, spec: ChannelSpec, engine: Engine | None = None) -> None:
        """Add a channel or update its declaration (its engine is kept unless one is given)."""
        self._specs[spec.name] = spec
        if engine is not None:
            self._engines[spec.name] = engine

    def get(self, name: str) -> Engine | None:
        return self._engines.get(name)

    def spec(self, name: str) -> ChannelSpec | None:
        return self._specs.get(name)

    def specs(self) -> list[ChannelSpec]:
        return list(self._specs.values())

    @property
    def default(self) -> str:
        """The preferred active channel (highest priority); routing proper is ``ChannelRouter``."""
        active = [
            spec for spec in self._specs.values() if spec.active and spec.name in self._engines
        ]
        if not active:
            return next(iter(self._engines), "")
        return max(active, key=lambda spec: spec.priority).name

    def for_new_job(self) -> Engine:
        return self._engines[self.default]

    def all(self) -> list[Engine]:
        return list(self._engines.values())
