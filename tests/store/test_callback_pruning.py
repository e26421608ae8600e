"""Finished callbacks are pruned after the retention; pending ones never are."""

from __future__ import annotations

from sqlalchemy import select

from mjrelay.core.settings.operator import CallbackSettings
from mjrelay.services.operator.callbacks import CallbackService
from mjrelay.services.operator.metrics import Metrics
from mjrelay.store.callbacks import CallbackStore
from mjrelay.store.db import Database
from mjrelay.store.models import CallbackAttemptRow, CallbackRow

HOUR_MS = 3_600_000
NOW_MS = 1_900_000_000_000


def _row(task: str, state: str, finished_ms: int | None) -> CallbackRow:
    return CallbackRow(
        task_id=task,
        version=1,
        key_id=1,
        url="http://receiver.test/hook",
        task_status="SUCCESS",
        body=b"{}",
        state=state,
        attempts=1,
        next_attempt_ms=0,
        lease_until_ms=0,
        give_up_ms=0,
        created_ms=(finished_ms or NOW_MS) - 1000,
        finished_ms=finished_ms,
    )


async def _seed(db: Database) -> None:
    rows = [
        _row("old-delivered", "delivered", NOW_MS - 200 * HOUR_MS),
        _row("old-failed", "failed", NOW_MS - 200 * HOUR_MS),
        _row("old-superseded", "superseded", NOW_MS - 200 * HOUR_MS),
        _row("old-pending", "pending", None),
        _row("recent-delivered", "delivered", NOW_MS - 2 * HOUR_MS),
    ]
    async with db.sessions() as session, session.begin():
        session.add_all(rows)
        await session.flush()
        for row in rows:
            session.add(
                CallbackAttemptRow(
                    callback_id=row.id,
                    task_id=row.task_id,
                    attempt=1,
                    at_ms=NOW_MS - 200 * HOUR_MS,
                    duration_ms=5,
                    http_status=200,
                    error="",
                )
            )


async def _left(db: Database) -> tuple[set[str], set[str]]:
    async with db.engine.connect() as connection:
        outbox = set((await connection.execute(select(CallbackRow.task_id))).scalars())
        log = set((await connection.execute(select(CallbackAttemptRow.task_id))).scalars())
    return outbox, log


def _service(db: Database, keep_hours: float) -> CallbackService:
    return CallbackService(
        CallbackStore(db),
        CallbackSettings(keep_finished_hours=keep_hours),
        Metrics(),
        clock=lambda: NOW_MS / 1000,
    )


async def test_finished_callbacks_older_than_the_retention_go_with_their_log(db: Database) -> None:
    await _seed(db)
    service = _service(db, keep_hours=168)
    assert await service.prune() == 3
    outbox, log = await _left(db)
    assert outbox == {"old-pending", "recent-delivered"}
    assert log == {"old-pending", "recent-delivered"}
    assert await service.prune() == 0  # nothing more is old enough


async def test_pruning_works_through_many_batches(db: Database) -> None:
    await _seed(db)
    store = CallbackStore(db)
    assert await store.prune_finished(NOW_MS, batch=1) == 1
    assert await store.prune_finished(NOW_MS, batch=2) == 2
    # The recent delivered row is older than NOW_MS itself, so a cutoff at NOW_MS takes it too.
    assert await store.prune_finished(NOW_MS, batch=2) == 1
    assert await store.prune_finished(NOW_MS, batch=2) == 0
    outbox, _log = await _left(db)
    assert outbox == {"old-pending"}


async def test_zero_retention_keeps_everything(db: Database) -> None:
    await _seed(db)
    assert await _service(db, keep_hours=0).prune() == 0
    outbox, _log = await _left(db)
    assert len(outbox) == 5
