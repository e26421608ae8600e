"""Picking a channel for a new job.

Highest priority first; among channels of equal priority, a weighted random order (so load
spreads by ``weight`` and the rest are the failover order). Only active channels that serve the
requested mode, whose breaker lets jobs through and that are under ``max_concurrency`` qualify.
Unfinished jobs per channel are counted from lifecycle notifications (per instance).
"""

from __future__ import annotations

import random
from collections import defaultdict
from itertools import groupby

from mjrelay.domain.channel import ChannelSpec
from mjrelay.domain.record import TaskRecord
from mjrelay.engines.registry import EngineRegistry
from mjrelay.services.tasks.breaker import BreakerBoard


class ChannelRouter:
    def __init__(
        self,
        registry: EngineRegistry,
        breakers: BreakerBoard | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.registry = registry
        self.breakers = breakers or BreakerBoard()
        self._rng = rng or random.Random()
        self._channel_of: dict[str, str] = {}
        self._inflight: dict[str, int] = defaultdict(int)

    # ---- in-flight accounting --------------------------------------------------------------

    async def note(self, record: TaskRecord) -> None:
        """Lifecycle listener: track which unfinished task runs on which channel."""
        if record.task.status.is_final:
            self.forget(record.id)
            return
        current = self._channel_of.get(record.id)
        if current == record.engine:
            return
        if current is not None:
            self._inflight[current] -= 1
        self._channel_of[record.id] = record.engine
        self._inflight[record.engine] += 1

    def forget(self, task_id: str) -> None:
        channel = self._channel_of.pop(task_id, None)
        if channel is not None:
            self._inflight[channel] -= 1

    def inflight(self, channel: str) -> int:
        return self._inflight.get(channel, 0)

    # ---- routing -----------------------------------------------------------------------------

    def eligible(self, spec: ChannelSpec, mode: str) -> bool:
        engine = self.registry.get(spec.name)
        return (
            engine is not None
            and spec.active
            and spec.serves(mode)
            and self.breakers.of(spec.name).available()
            and (spec.max_concurrency == 0 or self.inflight(spec.name) < spec.max_concurrency)
            and engine.accepting()
        )

    def plan(self, mode: str) -> list[str]:
        """Channels to try for a new job, best first; empty when none can take it."""
        specs = sorted(
            (spec for spec in self.registry.specs() if self.eligible(spec, mode)),
            key=lambda spec: -spec.priority,
        )
        order: list[str] = []
        for _priority, group in groupby(specs, key=lambda spec: spec.priority):
            weighted = self._weighted_order(list(group))
            # Least busy first among equals (stable: weights still decide between equally busy
            # channels; engines that do not measure it report 0, idle).
            weighted.sort(key=lambda spec: (spec.weight == 0, self._occupancy(spec.name)))
            order.extend(spec.name for spec in weighted)
        return order

    def _occupancy(self, channel: str) -> float:
        engine = self.registry.get(channel)
        return 0.0 if engine is None else engine.occupancy()

    def _weighted_order(self, specs: list[ChannelSpec]) -> list[ChannelSpec]:
        """Weighted random permutation (Efraimidis-Spirakis keys); weight 0 goes last."""
        keyed = []
        for spec in specs:
            if spec.weight > 0:
                key = self._rng.random() ** (1.0 / spec.weight)
            else:
                key = -self._rng.random()
            keyed.append((key, spec))
        keyed.sort(key=lambda pair: pair[0], reverse=True)
        return [spec for _key, spec in keyed]
