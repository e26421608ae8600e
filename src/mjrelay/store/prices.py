"""Operator price overrides set through the admin API (settings hold the defaults)."""

from __future__ import annotations

from sqlalchemy import delete, select

from mjrelay.core.ids import now_ms
from mjrelay.store.db import Database
from mjrelay.store.models import PriceRow


class PriceStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def all(self) -> dict[str, int]:
        async with self._db.engine.connect() as connection:
            rows = await connection.execute(select(PriceRow.item, PriceRow.units))
            return {str(item): int(units) for item, units in rows}

    async def put(self, items: dict[str, int | None]) -> None:
        """Set (or, with None, remove) overrides in one transaction."""
        async with self._db.sessions() as session, session.begin():
            for item, units in items.items():
                await session.execute(delete(PriceRow).where(PriceRow.item == item))
                if units is not None:
                    session.add(PriceRow(item=item, units=units, updated_ms=now_ms()))
