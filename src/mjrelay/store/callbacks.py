"""The callback outbox, its delivery log, task hooks and per-key signing secrets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import aliased

from mjrelay.core.ids import now_ms
from mjrelay.core.signing import new_secret
from mjrelay.store.db import Database
from mjrelay.store.models import ApiKeyRow, CallbackAttemptRow, CallbackRow, TaskHookRow

#: Outbox states that will never be attempted again.
FINISHED_STATES = ("delivered", "failed", "superseded")


@dataclass(frozen=True, slots=True)
class Hook:
    task_id: str
    key_id: int
    url: str
    base_url: str


@dataclass(frozen=True, slots=True)
class Pending:
    id: int
    task_id: str
    version: int
    key_id: int
    url: str
    body: bytes
    attempts: int
    give_up_ms: int


class CallbackStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    # ---- hooks ------------------------------------------------------------------------------

    @staticmethod
    async def add_hook(connection: AsyncConnection, hook: Hook) -> None:
        """Written in the transaction that inserts the task."""
        await connection.execute(
            insert(TaskHookRow).values(
                task_id=hook.task_id,
                key_id=hook.key_id,
                url=hook.url,
                base_url=hook.base_url,
                created_ms=now_ms(),
            )
        )

    @staticmethod
    async def hook_in(connection: AsyncConnection, task_id: str) -> Hook | None:
        """The task's hook, read inside the caller's transaction (the task save)."""
        statement = select(
            TaskHookRow.task_id, TaskHookRow.key_id, TaskHookRow.url, TaskHookRow.base_url
        ).where(TaskHookRow.task_id == task_id)
        row = (await connection.execute(statement)).first()
        return None if row is None else Hook(row[0], row[1], row[2], row[3])

    async def hook(self, task_id: str) -> Hook | None:
        async with self._db.sessions() as session:
            row = await session.get(TaskHookRow, task_id)
        return None if row is None else Hook(row.task_id, row.key_id, row.url, row.base_url)

    # ---- secrets ----------------------------------------------------------------------------

    async def secret(self, key_id: int) -> str | None:
        """The key's signing secret, created on first use (None: no such key)."""
        async with self._db.engine.begin() as connection:
            await connection.execute(
                update(ApiKeyRow)
                .where(ApiKeyRow.id == key_id, ApiKeyRow.callback_secret.is_(None))
                .values(callback_secret=new_secret())
            )
            row = (
                await connection.execute(
                    select(ApiKeyRow.callback_secret).where(ApiKeyRow.id == key_id)
                )
            ).first()
        return None if row is None else row[0]

    # ---- outbox -----------------------------------------------------------------------------

    @staticmethod
    async def enqueue_in(
        executor: AsyncConnection | AsyncSession,
        hook: Hook,
        *,
        version: int,
        status: str,
        body: bytes,
        give_up_ms: int,
    ) -> None:
        """Add one state to deliver inside the caller's transaction: the task insert or save.

        That transaction's optimistic version check makes (task, version) new, so the row cannot
        collide; if it ever did, the unique constraint fails the state change with it.
        """
        created = now_ms()
        await executor.execute(
            insert(CallbackRow).values(
                task_id=hook.task_id,
                version=version,
                key_id=hook.key_id,
                url=hook.url,
                task_status=status,
                body=body,
                state="pending",
                attempts=0,
                next_attempt_ms=created,
                lease_until_ms=0,
                give_up_ms=give_up_ms,
                created_ms=created,
            )
        )

    async def enqueue(
        self,
        hook: Hook,
        *,
        version: int,
        status: str,
        body: bytes,
        give_up_ms: int,
    ) -> bool:
        """Add one state to deliver in its own transaction; False if it was queued already."""
        try:
            async with self._db.engine.begin() as connection:
                await self.enqueue_in(
                    connection,
                    hook,
                    version=version,
                    status=status,
                    body=body,
                    give_up_ms=give_up_ms,
                )
        except IntegrityError:
            return False
        return True

    async def due(self, now: int, limit: int) -> list[Pending]:
        """Per task, its oldest pending state, if that one is due and not leased."""
        older = aliased(CallbackRow)
        first_pending = (
            select(func.min(older.version))
            .where(older.task_id == CallbackRow.task_id, older.state == "pending")
            .scalar_subquery()
        )
        statement = (
            select(CallbackRow)
            .where(
                CallbackRow.state == "pending",
                CallbackRow.next_attempt_ms <= now,
                CallbackRow.lease_until_ms < now,
                CallbackRow.version == first_pending,
            )
            .order_by(CallbackRow.next_attempt_ms, CallbackRow.id)
            .limit(limit)
        )
        async with self._db.sessions() as session:
            rows = (await session.scalars(statement)).all()
        return [
            Pending(
                row.id,
                row.task_id,
                row.version,
                row.key_id,
                row.url,
                row.body,
                row.attempts,
                row.give_up_ms,
            )
            for row in rows
        ]

    async def claim(self, callback_id: int, now: int, lease_ms: int) -> bool:
        """Lease a row so that one worker (of possibly several instances) delivers it."""
        async with self._db.engine.begin() as connection:
            result = await connection.execute(
                update(CallbackRow)
                .where(
                    CallbackRow.id == callback_id,
                    CallbackRow.state == "pending",
                    CallbackRow.lease_until_ms < now,
                )
                .values(lease_until_ms=now + lease_ms)
            )
        return int(result.rowcount) == 1

    async def newer_delivered(self, task_id: str, version: int) -> bool:
        statement = select(func.count()).where(
            CallbackRow.task_id == task_id,
            CallbackRow.version > version,
            CallbackRow.state == "delivered",
        )
        async with self._db.engine.connect() as connection:
            return bool((await connection.execute(statement)).scalar())

    async def finish(
        self,
        item: Pending,
        *,
        state: str,
        next_attempt_ms: int,
        at_ms: int,
        duration_ms: int,
        http_status: int | None,
        error: str,
        attempted: bool = True,
    ) -> None:
        """Record an attempt (unless none was made) and the row's new state."""
        attempts = item.attempts + (1 if attempted else 0)
        async with self._db.sessions() as session, session.begin():
            await session.execute(
                update(CallbackRow)
                .where(CallbackRow.id == item.id)
                .values(
                    state=state,
                    attempts=attempts,
                    next_attempt_ms=next_attempt_ms,
                    lease_until_ms=0,
                    finished_ms=None if state == "pending" else at_ms,
                )
            )
            if attempted:
                session.add(
                    CallbackAttemptRow(
                        callback_id=item.id,
                        task_id=item.task_id,
                        attempt=attempts,
                        at_ms=at_ms,
                        duration_ms=duration_ms,
                        http_status=http_status,
                        error=error[:300],
                    )
                )

    async def prune_finished(self, before_ms: int, *, batch: int = 1000) -> int:
        """Delete up to ``batch`` callbacks that finished (delivered, failed or superseded)
        before ``before_ms``, with their delivery log; returns how many went.

        Batched so one prune never holds a long write lock (SQLite) or a huge transaction;
        pending rows are never touched, whatever their age.
        """
        doomed = (
            select(CallbackRow.id)
            .where(
                CallbackRow.state.in_(FINISHED_STATES),
                CallbackRow.finished_ms.is_not(None),
                CallbackRow.finished_ms < before_ms,
            )
            .limit(batch)
        )
        async with self._db.sessions() as session, session.begin():
            ids = list((await session.execute(doomed)).scalars())
            if not ids:
                return 0
            await session.execute(
                delete(CallbackAttemptRow).where(CallbackAttemptRow.callback_id.in_(ids))
            )
            await session.execute(delete(CallbackRow).where(CallbackRow.id.in_(ids)))
        return len(ids)

    async def log(self, task_id: str) -> list[dict[str, Any]]:
        """The task's deliveries, oldest first, each with its attempts (the tenant's view)."""
        async with self._db.sessions() as session:
            rows = (
                await session.scalars(
                    select(CallbackRow)
                    .where(CallbackRow.task_id == task_id)
                    .order_by(CallbackRow.version)
                )
            ).all()
            attempts = (
                await session.scalars(
                    select(CallbackAttemptRow)
                    .where(CallbackAttemptRow.task_id == task_id)
                    .order_by(CallbackAttemptRow.id)
                )
            ).all()
        by_callback: dict[int, list[dict[str, Any]]] = {}
        for attempt in attempts:
            by_callback.setdefault(attempt.callback_id, []).append(
                {
                    "attempt": attempt.attempt,
                    "atMs": attempt.at_ms,
                    "durationMs": attempt.duration_ms,
                    "httpStatus": attempt.http_status,
                    "error": attempt.error,
                }
            )
        return [
            {
                "id": row.id,
                "version": row.version,
                "taskStatus": row.task_status,
                "state": row.state,
                "attempts": by_callback.get(row.id, []),
                "nextAttemptMs": row.next_attempt_ms if row.state == "pending" else None,
                "createdMs": row.created_ms,
                "finishedMs": row.finished_ms,
            }
            for row in rows
        ]

    async def counts(self) -> dict[str, int]:
        statement = select(CallbackRow.state, func.count()).group_by(CallbackRow.state)
        async with self._db.engine.connect() as connection:
            return {str(state): int(n) for state, n in await connection.execute(statement)}
