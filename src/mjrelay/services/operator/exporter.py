"""The ``/metrics`` page: gauges read fresh from the database and the router, then rendered.

Counters (requests, ledger moves...) are kept as things happen; what is a *level* (tasks per
status, ledger totals, outbox states, channel load and breakers) is read at scrape time, so every
instance reports the shared truth without a background loop.
"""

from __future__ import annotations

from mjrelay.core.money import from_units
from mjrelay.services.operator.callbacks import CallbackService
from mjrelay.services.operator.metrics import Metrics
from mjrelay.services.tasks.breaker import BreakerState
from mjrelay.services.tasks.router import ChannelRouter
from mjrelay.store.db import Database
from mjrelay.store.ledger import LedgerStore


class MetricsExporter:
    def __init__(
        self,
        metrics: Metrics,
        db: Database,
        ledger: LedgerStore,
        callbacks: CallbackService,
        router: ChannelRouter,
    ) -> None:
        self._metrics = metrics
        self._db = db
        self._ledger = ledger
        self._callbacks = callbacks
        self._router = router

    async def render(self) -> bytes:
        """The Prometheus text exposition, with every gauge refreshed first."""
        metrics = self._metrics
        await metrics.refresh_tasks(self._db)
        for kind, units in (await self._ledger.totals()).items():
            metrics.ledger.labels(kind).set(float(from_units(units)))
        for state, count in (await self._callbacks.counts()).items():
            metrics.callback_outbox.labels(state).set(count)
        router = self._router
        for spec in router.registry.specs():
            metrics.channel_in_flight.labels(spec.name).set(router.inflight(spec.name))
            breaker = router.breakers.of(spec.name).state
            metrics.channel_breaker_open.labels(spec.name).set(
                0 if breaker == BreakerState.CLOSED else 1
            )
        return metrics.render()
