"""The audit log: every change made through the admin API or the CLI, append-only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from mjrelay.core.ids import now_ms
from mjrelay.store.db import Database
from mjrelay.store.models import AuditRow


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at_ms: int
    actor: str
    action: str
    target: str
    details: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "atMs": self.at_ms,
            "actor": self.actor,
            "action": self.action,
            "target": self.target,
            "details": self.details,
        }


class AuditStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, actor: str, action: str, target: str, details: dict[str, Any]) -> None:
        async with self._db.sessions() as session, session.begin():
            session.add(
                AuditRow(
                    at_ms=now_ms(),
                    actor=actor[:40],
                    action=action[:40],
                    target=target[:100],
                    details=details,
                )
            )

    async def list(self, *, limit: int = 100, before_id: int | None = None) -> list[AuditEntry]:
        statement = select(AuditRow)
        if before_id is not None:
            statement = statement.where(AuditRow.id < before_id)
        statement = statement.order_by(AuditRow.id.desc()).limit(limit)
        async with self._db.sessions() as session:
            rows = (await session.scalars(statement)).all()
        return [
            AuditEntry(row.id, row.at_ms, row.actor, row.action, row.target, dict(row.details))
            for row in rows
        ]
