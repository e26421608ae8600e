"""``/healthz``: the relay answers and its database does too."""

from __future__ import annotations

from mjrelay.core.errors import InternalFailure
from mjrelay.core.logging import get_logger
from mjrelay.store.db import Database

log = get_logger("mjrelay.health")


class HealthCheck:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def check(self) -> None:
        """Raises a 503 failure when the database cannot run a trivial query, so a load balancer
        takes the instance out instead of seeing a server error."""
        try:
            await self._db.ping()
        except Exception as exc:  # whatever the driver raises, the instance is not healthy
            log.warning("health check failed", error=type(exc).__name__, detail=str(exc)[:200])
            raise InternalFailure("database: unavailable", http_status=503) from exc
