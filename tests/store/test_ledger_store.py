"""LedgerStore on SQLite and PostgreSQL: conditional reservations and exactly-once closing."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection
from tests.support.operator import balance_of, ledger_rows

from mjrelay.core.errors import InsufficientBalance
from mjrelay.core.ids import now_ms
from mjrelay.domain.record import TaskRecord
from mjrelay.domain.task import Task, TaskAction
from mjrelay.store.db import Database
from mjrelay.store.keys import KeyStore
from mjrelay.store.ledger import Charge, LedgerStore
from mjrelay.store.tasks import DuplicateTaskId, InsertHook, TaskStore


def _charge(key_id: int, tenant_id: int, task_id: str, price: int = 1000) -> Charge:
    return Charge(key_id, tenant_id, task_id, "IMAGINE", "", price)


async def test_parallel_reservations_never_overdraw(db: Database) -> None:
    _key, info = await KeyStore(db).create("payer", quota=Decimal("1.0"))
    ledger = LedgerStore(db)

    async def attempt(n: int) -> bool:
        try:
            return await ledger.reserve(_charge(info.id, info.tenant_id, f"task{n}"))
        except InsufficientBalance:
            return False

    results = await asyncio.gather(*(attempt(n) for n in range(200)))
    assert sum(results) == 10
    assert await balance_of(db, info.id) == Decimal(0)
    reserves = [row for row in await ledger_rows(db, info.id) if row.kind == "reserve"]
    assert len(reserves) == 10
    after = sorted(row.balance_after_units or 0 for row in reserves)
    assert after == [n * 1000 for n in range(10)]  # every step down is visible, none below 0


async def test_refused_reservation_writes_nothing(db: Database) -> None:
    _key, info = await KeyStore(db).create("poor", quota=Decimal("0.05"))
    ledger = LedgerStore(db)
    with pytest.raises(InsufficientBalance, match=r"insufficient balance: .*costs 0\.1000"):
        await ledger.reserve(_charge(info.id, info.tenant_id, "t1"))
    assert await balance_of(db, info.id) == Decimal("0.05")
    assert await ledger_rows(db, info.id) == []


async def test_concurrent_refunds_and_settles_close_exactly_once(db: Database) -> None:
    _key, info = await KeyStore(db).create("payer", quota=Decimal("1.0"))
    ledger = LedgerStore(db)
    assert await ledger.reserve(_charge(info.id, info.tenant_id, "t1", price=3000))
    assert await ledger.reserve(_charge(info.id, info.tenant_id, "t1", price=3000)) is False
    assert await balance_of(db, info.id) == Decimal("0.7")

    outcomes = await asyncio.gather(
        *(ledger.close("t1", success=False, note="failed") for _ in range(30)),
        *(ledger.close("t1", success=True) for _ in range(10)),
    )
    closed = [o for o in outcomes if o is not None]
    assert len(closed) == 1
    expected = Decimal("1.0") if closed[0] == "refund" else Decimal("0.7")
    assert await balance_of(db, info.id) == expected
    kinds = [row.kind for row in await ledger_rows(db, info.id)]
    assert kinds.count("refund") + kinds.count("settle") == 1
    # Closing again later changes nothing either.
    assert await ledger.close("t1", success=False) is None
    assert await balance_of(db, info.id) == expected


async def test_unlimited_key_is_charged_in_the_ledger_only(db: Database) -> None:
    _key, info = await KeyStore(db).create("unlimited")
    ledger = LedgerStore(db)
    for n in range(3):
        assert await ledger.reserve(_charge(info.id, info.tenant_id, f"t{n}"))
    assert await ledger.close("t0", success=True) == "settle"
    assert await ledger.close("t1", success=False) == "refund"
    assert await balance_of(db, info.id) is None
    usage = await ledger.usage()
    assert [(u.tasks, u.charged_units, u.refunded_units, u.held_units) for u in usage] == [
        (3, 1000, 1000, 1000)
    ]


async def test_stale_reservations_are_those_without_a_live_task(db: Database) -> None:
    _key, info = await KeyStore(db).create("payer", quota=Decimal("1"))
    ledger = LedgerStore(db)
    assert await ledger.reserve(_charge(info.id, info.tenant_id, "ghost"))
    assert await ledger.stale_reservations() == [("ghost", None)]
    assert await ledger.close("ghost", success=False) == "refund"
    assert await ledger.stale_reservations() == []


async def test_top_up_and_set_balance_are_recorded(db: Database) -> None:
    _key, info = await KeyStore(db).create("payer", quota=Decimal("1"))
    ledger = LedgerStore(db)
    assert await ledger.top_up(info.id, info.tenant_id, 5000, "gift") == 15000
    assert await ledger.set_balance(info.id, info.tenant_id, 2000, "reset") == 2000
    assert await ledger.set_balance(info.id, info.tenant_id, None, "unlimited") is None
    rows = await ledger_rows(db, info.id)
    assert [(r.kind, r.amount_units, r.balance_after_units) for r in rows] == [
        ("topup", 5000, 15000),
        ("adjust", -13000, 2000),
        ("adjust", -2000, None),
    ]
    with pytest.raises(ValueError, match="unlimited"):
        await ledger.top_up(info.id, info.tenant_id, 1, "no")


async def test_task_insert_and_its_reservation_commit_or_fail_together(db: Database) -> None:
    """The submit path's single transaction: task row + reservation, or neither."""
    _key, info = await KeyStore(db).create("submitter", quota=Decimal("0.15"))
    ledger = LedgerStore(db)
    tasks = TaskStore(db)

    def record(task_id: str) -> TaskRecord:
        task = Task(id=task_id, action=TaskAction.IMAGINE, prompt="p", submit_time=now_ms())
        return TaskRecord(task=task, tenant_id=info.tenant_id, engine="e", job={"a": [1]})

    async def reserving(task_id: str, price: int = 1000) -> InsertHook:
        async def hook(connection: AsyncConnection) -> None:
            await ledger.reserve_in(connection, _charge(info.id, info.tenant_id, task_id, price))

        return hook

    await tasks.insert(record("ok1"), also=await reserving("ok1"))
    stored = await tasks.get("ok1")
    assert stored is not None and stored.job == {"a": [1]} and stored.version == 1
    assert await balance_of(db, info.id) == Decimal("0.05")

    with pytest.raises(InsufficientBalance):
        await tasks.insert(record("poor2"), also=await reserving("poor2"))
    assert await tasks.get("poor2") is None
    assert await balance_of(db, info.id) == Decimal("0.05")

    # A failing task insert (duplicate id) rolls back the reservation made before it.
    with pytest.raises(DuplicateTaskId):
        await tasks.insert(record("ok1"), also=await reserving("dup", price=10))
    assert await balance_of(db, info.id) == Decimal("0.05")
    assert [row.task_id for row in await ledger_rows(db, info.id)] == ["ok1"]
