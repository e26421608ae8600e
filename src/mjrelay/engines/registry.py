"""Which engines exist, and which one takes new jobs."""

from __future__ import annotations

from mjrelay.engines.base import Engine


class EngineRegistry:
    def __init__(self, engines: list[Engine], default: str) -> None:
        self._engines = {engine.name: engine for engine in engines}
        if default not in self._engines:
            raise ValueError(f"default engine {default!r} is not configured")
        self.default = default

    def get(self, name: str) -> Engine | None:
        return self._engines.get(name)

    def for_new_job(self) -> Engine:
        return self._engines[self.default]

    def all(self) -> list[Engine]:
        return list(self._engines.values())
