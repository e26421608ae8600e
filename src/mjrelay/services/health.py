"""Probes for load balancers: ``/healthz`` (alive) and ``/readyz`` (send me traffic).

Liveness only asks whether the database answers. Readiness also asks whether the schema is the
one this code expects and whether the instance is shutting down: a load balancer should stop
routing to an instance that drains, without restarting it.
"""

from __future__ import annotations

from mjrelay.core.errors import InternalFailure
from mjrelay.core.logging import get_logger
from mjrelay.store.db import Database

log = get_logger("mjrelay.health")


class HealthCheck:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._draining = False

    def drain(self) -> None:
        """From now on the instance is not ready (it is stopping)."""
        self._draining = True

    async def check(self) -> None:
        """Raises a 503 failure when the database cannot run a trivial query, so a load balancer
        takes the instance out instead of seeing a server error."""
        try:
            await self._db.ping()
        except Exception as exc:  # whatever the driver raises, the instance is not healthy
            log.warning("health check failed", error=type(exc).__name__, detail=str(exc)[:200])
            raise InternalFailure("database: unavailable", http_status=503) from exc

    async def ready(self) -> None:
        """Raises a 503 failure unless the database answers, its schema is current and the
        instance is not draining."""
        if self._draining:
            raise InternalFailure("draining: this instance is shutting down", http_status=503)
        await self.check()
        try:
            current = await self._db.schema_is_current()
        except Exception as exc:
            log.warning("schema check failed", error=type(exc).__name__, detail=str(exc)[:200])
            raise InternalFailure("database: schema unreadable", http_status=503) from exc
        if not current:
            raise InternalFailure(
                "database: schema is not at this version's migration (run mjrelay migrate)",
                http_status=503,
            )
