"""Task persistence. Every save re-serializes the wire JSON so reads serve stored bytes."""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from typing import cast

from sqlalchemy import Table, bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from mjrelay.core.ids import now_ms
from mjrelay.domain.channel import PendingTask
from mjrelay.domain.record import TaskRecord
from mjrelay.domain.task import Task, TaskStatus
from mjrelay.store.db import Database
from mjrelay.store.models import TaskRow

# Extra writes that must commit or fail together with a new task row (its reservation, its hook).
# They get the transaction's Core connection: the submit path issues plain statements, no ORM
# unit of work (its flush bookkeeping was a measurable part of a submit's cost).
InsertHook = Callable[[AsyncConnection], Awaitable[None]]
# Extra writes that must commit or fail together with a task's state change (its callback outbox
# row): called with the save's connection and the record as saved (new version and wire).
SaveHook = Callable[[AsyncConnection, TaskRecord], Awaitable[None]]

UNFINISHED = (
    TaskStatus.NOT_START.value,
    TaskStatus.SUBMITTED.value,
    TaskStatus.MODAL.value,
    TaskStatus.IN_PROGRESS.value,
)


_GET_WIRE_SQL = f"SELECT tenant_id, status, wire FROM {TaskRow.__tablename__} WHERE id = ?"


# The two hot writes, built once with bind parameters: building ``insert(...).values(...)`` per
# call (coercing every value, then a cache key over them) cost more CPU than the SQL itself.
_TASKS = cast(Table, TaskRow.__table__)
_INSERT_TASK = insert(_TASKS)
_SAVE_TASK = (
    update(_TASKS)
    .where(_TASKS.c.id == bindparam("b_id"), _TASKS.c.version == bindparam("b_version"))
    .values(
        status=bindparam("status"),
        engine=bindparam("engine"),
        updated_ms=bindparam("updated_ms"),
        deadline_ms=bindparam("deadline_ms"),
        version=bindparam("version"),
        job=bindparam("job", type_=_TASKS.c.job.type),
        engine_state=bindparam("engine_state", type_=_TASKS.c.engine_state.type),
        wire=bindparam("wire", type_=_TASKS.c.wire.type),
    )
)


class DuplicateTaskId(Exception):
    """The generated id is taken; the caller makes a new one."""


class StaleRecord(Exception):
    """Someone saved the record since it was read (optimistic concurrency)."""


def _to_record(row: TaskRow) -> TaskRecord:
    return TaskRecord(
        task=Task.model_validate_json(row.wire),
        tenant_id=row.tenant_id,
        engine=row.engine,
        job=dict(row.job),
        parent_id=row.parent_id,
        engine_state=dict(row.engine_state),
        deadline_ms=row.deadline_ms,
        version=row.version,
        wire=row.wire,
    )


class TaskStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def insert(self, record: TaskRecord, *, also: InsertHook | None = None) -> None:
        """Insert a new task; ``also`` runs in the same transaction (an error in it aborts both)."""
        record.wire = record.task.to_json()
        record.version = 1
        values = dict(
            id=record.id,
            tenant_id=record.tenant_id,
            parent_id=record.parent_id,
            action=record.task.action.value,
            status=record.task.status.value,
            engine=record.engine,
            submit_ms=record.task.submit_time or now_ms(),
            updated_ms=now_ms(),
            deadline_ms=record.deadline_ms,
            version=1,
            job=record.job,
            engine_state=record.engine_state,
            wire=record.wire,
        )
        # One Core transaction for the row and the hook's writes: one commit, so the task is
        # durably stored (with its reservation) before any engine hears of it.
        try:
            async with self._db.engine.begin() as connection:
                if also is not None:
                    await also(connection)
                await connection.execute(_INSERT_TASK, values)
        except IntegrityError as exc:
            raise DuplicateTaskId(record.id) from exc

    async def save(self, record: TaskRecord, *, also: Sequence[SaveHook] = ()) -> None:
        """Write the record if nobody else did since it was read; bumps its version.

        Each of ``also`` runs in the same transaction after the row is written: an error in one
        rolls the state change back too (and leaves ``record`` at its old version and wire).
        """
        wire = record.task.to_json()
        values = {
            "b_id": record.id,
            "b_version": record.version,
            "status": record.task.status.value,
            "engine": record.engine,
            "updated_ms": now_ms(),
            "deadline_ms": record.deadline_ms,
            "version": record.version + 1,
            "job": record.job,
            "engine_state": record.engine_state,
            "wire": wire,
        }
        # A Core connection, not an ORM session: this is the hot path of every task update.
        old = (record.version, record.wire)
        async with self._db.engine.begin() as connection:
            result = await connection.execute(_SAVE_TASK, values)
            if result.rowcount != 1:
                raise StaleRecord(record.id)
            record.version, record.wire = old[0] + 1, wire
            try:
                for hook in also:
                    await hook(connection, record)
            except BaseException:
                record.version, record.wire = old
                raise

    async def delete(self, task_id: str) -> None:
        async with self._db.sessions() as session:
            await session.execute(delete(TaskRow).where(TaskRow.id == task_id))
            await session.commit()

    async def get(self, task_id: str) -> TaskRecord | None:
        async with self._db.sessions() as session:
            row = await session.get(TaskRow, task_id)
            return None if row is None else _to_record(row)

    async def get_wire(self, task_id: str) -> tuple[int, str, bytes] | None:
        """(tenant, status, wire bytes) by primary key: the whole read path of fetch.

        On a SQLite file this is one indexed lookup on the loop thread (``SqliteReader``); on
        any SQLite error, and on other databases, one read through a pooled connection.
        """
        reader = self._db.sqlite_reader
        if reader is not None:
            try:
                rows = reader.rows(_GET_WIRE_SQL, (task_id,))
            except sqlite3.Error:
                pass
            else:
                return (rows[0][0], rows[0][1], rows[0][2]) if rows else None
        statement = select(TaskRow.tenant_id, TaskRow.status, TaskRow.wire).where(
            TaskRow.id == task_id
        )
        async with self._db.engine.connect() as connection:
            row = (await connection.execute(statement)).first()
        return None if row is None else (row[0], row[1], row[2])

    async def wires_for_tenant(self, tenant_id: int, ids: Sequence[str]) -> list[bytes]:
        if not ids:
            return []
        statement = (
            select(TaskRow.wire)
            .where(TaskRow.tenant_id == tenant_id, TaskRow.id.in_(list(ids)))
            .order_by(TaskRow.id)
        )
        async with self._db.engine.connect() as connection:
            return [row[0] for row in await connection.execute(statement)]

    async def list_wires(
        self, tenant_id: int, *, limit: int, before_id: str | None = None, offset: int = 0
    ) -> list[tuple[str, bytes]]:
        """The tenant's tasks newest first; ``before_id`` is a keyset cursor."""
        statement = select(TaskRow.id, TaskRow.wire).where(TaskRow.tenant_id == tenant_id)
        if before_id is not None:
            statement = statement.where(TaskRow.id < before_id)
        statement = statement.order_by(TaskRow.id.desc()).limit(limit).offset(offset)
        async with self._db.engine.connect() as connection:
            return [(row[0], row[1]) for row in await connection.execute(statement)]

    async def unfinished(self) -> list[TaskRecord]:
        statement = select(TaskRow).where(TaskRow.status.in_(UNFINISHED)).order_by(TaskRow.id)
        async with self._db.sessions() as session:
            return [_to_record(row) for row in (await session.scalars(statement)).all()]

    async def expired_ids(self, now: int) -> list[str]:
        statement = select(TaskRow.id).where(
            TaskRow.status.in_(UNFINISHED),
            TaskRow.deadline_ms.is_not(None),
            TaskRow.deadline_ms < now,
        )
        async with self._db.engine.connect() as connection:
            return [row[0] for row in await connection.execute(statement)]

    async def pending_of(self, channel: str) -> list[PendingTask]:
        """Unfinished, engine-bound tasks of one channel (for status sync), oldest first."""
        statement = (
            select(TaskRow.id, TaskRow.status, TaskRow.submit_ms, TaskRow.engine_state)
            .where(
                TaskRow.engine == channel,
                TaskRow.status.in_(UNFINISHED),
                TaskRow.status != TaskStatus.MODAL.value,
            )
            .order_by(TaskRow.id)
        )
        async with self._db.engine.connect() as connection:
            return [
                PendingTask(row[0], row[1], row[2], dict(row[3] or {}))
                for row in await connection.execute(statement)
            ]

    async def finished_of(self, channel: str, since_ms: int) -> list[PendingTask]:
        """Tasks of a channel that succeeded since ``since_ms`` (e.g. to finish mirroring)."""
        statement = (
            select(TaskRow.id, TaskRow.status, TaskRow.submit_ms, TaskRow.engine_state)
            .where(
                TaskRow.engine == channel,
                TaskRow.status == TaskStatus.SUCCESS.value,
                TaskRow.updated_ms >= since_ms,
            )
            .order_by(TaskRow.id)
        )
        async with self._db.engine.connect() as connection:
            return [
                PendingTask(row[0], row[1], row[2], dict(row[3] or {}))
                for row in await connection.execute(statement)
            ]
