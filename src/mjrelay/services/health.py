"""``/healthz``: the relay answers and its database does too."""

from __future__ import annotations

from sqlalchemy import text

from mjrelay.store.db import Database


class HealthCheck:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def check(self) -> None:
        """Raises when the database cannot run a trivial query (the route then answers 500)."""
        async with self._db.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
