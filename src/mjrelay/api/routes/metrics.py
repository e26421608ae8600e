"""``/metrics`` in the Prometheus text format.

It reveals business volume, so it needs the admin token unless ``metrics_public`` is set; with
neither, it does not exist.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST

from mjrelay.api.admin_auth import admin_token_matches, presented_admin_token
from mjrelay.api.contract import errors
from mjrelay.api.deps import CurrentRelay
from mjrelay.core.errors import AdminDisabled, Unauthorized
from mjrelay.core.money import from_units
from mjrelay.services.tasks.breaker import BreakerState

router = APIRouter(tags=["service"])


@router.get("/metrics", response_class=Response, responses=errors(401, 404))
async def metrics(request: Request, relay: CurrentRelay) -> Response:
    settings = relay.settings
    if not settings.metrics_public:
        configured = settings.admin_token.get_secret_value()
        if not configured:
            raise AdminDisabled("not found")
        if not admin_token_matches(configured, presented_admin_token(request)):
            raise Unauthorized("invalid admin token")
    ops = relay.ops
    await ops.metrics.refresh_tasks(relay.db)
    for kind, units in (await ops.ledger.totals()).items():
        ops.metrics.ledger.labels(kind).set(float(from_units(units)))
    for state, count in (await ops.callbacks.counts()).items():
        ops.metrics.callback_outbox.labels(state).set(count)
    router = relay.dispatcher.router
    for spec in router.registry.specs():
        ops.metrics.channel_in_flight.labels(spec.name).set(router.inflight(spec.name))
        breaker = router.breakers.of(spec.name).state
        ops.metrics.channel_breaker_open.labels(spec.name).set(
            0 if breaker == BreakerState.CLOSED else 1
        )
    return Response(ops.metrics.render(), media_type=CONTENT_TYPE_LATEST)
