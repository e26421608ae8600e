"""Task search for operators (admin API): by tenant, status, action, engine and time."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from mjrelay.store.db import Database
from mjrelay.store.models import TaskRow


@dataclass(frozen=True, slots=True)
class TaskQuery:
    tenant_id: int | None = None
    status: str | None = None
    action: str | None = None
    engine: str | None = None
    since_ms: int | None = None
    until_ms: int | None = None
    before_id: str | None = None
    limit: int = 100


@dataclass(frozen=True, slots=True)
class FoundTask:
    id: str
    tenant_id: int
    engine: str
    wire: bytes


async def search_tasks(db: Database, query: TaskQuery) -> list[FoundTask]:
    """Newest first; ``before_id`` is a keyset cursor (ids grow with submit time)."""
    statement = select(TaskRow.id, TaskRow.tenant_id, TaskRow.engine, TaskRow.wire)
    if query.tenant_id is not None:
        statement = statement.where(TaskRow.tenant_id == query.tenant_id)
    if query.status:
        statement = statement.where(TaskRow.status == query.status)
    if query.action:
        statement = statement.where(TaskRow.action == query.action)
    if query.engine:
        statement = statement.where(TaskRow.engine == query.engine)
    if query.since_ms is not None:
        statement = statement.where(TaskRow.submit_ms >= query.since_ms)
    if query.until_ms is not None:
        statement = statement.where(TaskRow.submit_ms < query.until_ms)
    if query.before_id:
        statement = statement.where(TaskRow.id < query.before_id)
    statement = statement.order_by(TaskRow.id.desc()).limit(query.limit)
    async with db.engine.connect() as connection:
        return [FoundTask(r[0], r[1], r[2], r[3]) for r in await connection.execute(statement)]
