"""The money ledger: balances change only here, by conditional updates, with an append-only trail.

Invariants, on SQLite and PostgreSQL alike:

* a reservation is one ``UPDATE api_keys SET balance = balance - price WHERE balance >= price``:
  whatever the concurrency, the balance never goes below zero and a refused reservation changes
  nothing;
* the reservation row is written in the caller's transaction (the one that inserts the task),
  so a task and its reservation exist together or not at all;
* closing a reservation (settle or refund) inserts the task's ``stage='close'`` row, which is
  unique per task: a second settle or refund of one task fails on the constraint and its
  transaction (including the balance change) is rolled back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from sqlalchemy import Table, and_, bindparam, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import aliased

from mjrelay.core.errors import InsufficientBalance
from mjrelay.core.ids import now_ms
from mjrelay.core.money import show
from mjrelay.domain.task import TaskStatus
from mjrelay.store.db import Database
from mjrelay.store.models import ApiKeyRow, LedgerEntryRow, TaskRow

FINAL_STATUSES = (TaskStatus.SUCCESS.value, TaskStatus.FAILURE.value, TaskStatus.CANCEL.value)


class UnknownKey(LookupError):
    """No such API key."""


@dataclass(frozen=True, slots=True)
class Charge:
    """What one task costs and who pays."""

    key_id: int
    tenant_id: int
    task_id: str | None  # None: a charge without a task (uploads), final at once
    action: str
    mode: str
    price_units: int


@dataclass(frozen=True, slots=True)
class Entry:
    id: int
    key_id: int
    tenant_id: int
    task_id: str | None
    kind: str
    amount_units: int
    price_units: int
    balance_after_units: int | None
    action: str
    mode: str
    note: str
    created_ms: int

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "keyId": self.key_id,
            "tenantId": self.tenant_id,
            "taskId": self.task_id,
            "kind": self.kind,
            "amount": show(self.amount_units),
            "price": show(self.price_units),
            "balanceAfter": show(self.balance_after_units),
            "action": self.action,
            "mode": self.mode,
            "note": self.note,
            "createdMs": self.created_ms,
        }


@dataclass(frozen=True, slots=True)
class Usage:
    key_id: int
    tenant_id: int
    tasks: int
    charged_units: int
    refunded_units: int
    held_units: int


# The submit path's reservation, built once with bind parameters (see store.tasks: building
# statements per call cost more CPU than running them).
_KEYS = cast(Table, ApiKeyRow.__table__)
_RESERVE = (
    update(_KEYS)
    .where(
        _KEYS.c.id == bindparam("b_key"),
        or_(_KEYS.c.balance_units.is_(None), _KEYS.c.balance_units >= bindparam("b_price")),
    )
    .values(balance_units=_KEYS.c.balance_units - bindparam("b_price"))
    .returning(_KEYS.c.balance_units)
)
_INSERT_ENTRY = insert(cast(Table, LedgerEntryRow.__table__))


class LedgerStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    # ---- reservations ---------------------------------------------------------------------

    async def reserve_in(self, connection: AsyncConnection, charge: Charge) -> None:
        """Reserve ``charge`` inside the caller's transaction; raises InsufficientBalance.

        The conditional UPDATE is the transaction's first write, so on SQLite it takes the write
        lock (waiting on busy_timeout) before anything is read.
        """
        price = charge.price_units
        result = await connection.execute(_RESERVE, {"b_key": charge.key_id, "b_price": price})
        row = result.first()
        if row is None:
            balance = await connection.scalar(
                select(ApiKeyRow.balance_units).where(ApiKeyRow.id == charge.key_id)
            )
            raise InsufficientBalance(
                f"insufficient balance: {charge.action.lower()} costs {show(price)}, "
                f"the key has {show(balance) or '0'} left",
                properties={"price": show(price), "balance": show(balance)},
            )
        await connection.execute(
            _INSERT_ENTRY,
            dict(
                key_id=charge.key_id,
                tenant_id=charge.tenant_id,
                task_id=charge.task_id,
                kind="reserve" if charge.task_id is not None else "charge",
                stage="open" if charge.task_id is not None else None,
                amount_units=-price,
                price_units=price,
                balance_after_units=row[0],
                action=charge.action,
                mode=charge.mode,
                note="",
                created_ms=now_ms(),
            ),
        )

    async def reserve(self, charge: Charge) -> bool:
        """Reserve in a transaction of its own; False if the task already has a reservation."""
        try:
            async with self._db.engine.begin() as connection:
                await self.reserve_in(connection, charge)
        except IntegrityError:
            return False
        return True

    async def charge(self, key_id: int, tenant_id: int, action: str, price_units: int) -> None:
        """Charge something that is not a task (an upload): final at once."""
        async with self._db.engine.begin() as connection:
            await self.reserve_in(
                connection, Charge(key_id, tenant_id, None, action, "", price_units)
            )

    async def close(self, task_id: str, *, success: bool, note: str = "") -> str | None:
        """Settle (success) or refund a task's reservation, exactly once.

        Returns "settle"/"refund" when this call closed it, None when there was nothing to
        close (no reservation, or closed already).
        """
        reservation = await self.reservation(task_id)
        if reservation is None:
            return None
        kind = "settle" if success else "refund"
        amount = 0 if success else reservation.price_units
        try:
            async with self._db.engine.begin() as connection:
                balance_after = reservation.balance_after_units
                if amount:
                    balance_after = await self._add(connection, reservation.key_id, amount)
                elif success:
                    balance_after = await self._balance(connection, reservation.key_id)
                await connection.execute(
                    insert(LedgerEntryRow).values(
                        key_id=reservation.key_id,
                        tenant_id=reservation.tenant_id,
                        task_id=task_id,
                        kind=kind,
                        stage="close",
                        amount_units=amount,
                        price_units=reservation.price_units,
                        balance_after_units=balance_after,
                        action=reservation.action,
                        mode=reservation.mode,
                        note=note[:200],
                        created_ms=now_ms(),
                    )
                )
        except IntegrityError:
            return None
        return kind

    async def reservation(self, task_id: str) -> Entry | None:
        statement = select(LedgerEntryRow).where(
            LedgerEntryRow.task_id == task_id, LedgerEntryRow.stage == "open"
        )
        async with self._db.sessions() as session:
            row = await session.scalar(statement)
        return None if row is None else _entry(row)

    async def stale_reservations(self) -> list[tuple[str, str | None]]:
        """Open reservations whose task is finished or gone: (task id, status or None)."""
        closing = aliased(LedgerEntryRow)
        statement = (
            select(LedgerEntryRow.task_id, TaskRow.status)
            .outerjoin(
                closing,
                and_(closing.task_id == LedgerEntryRow.task_id, closing.stage == "close"),
            )
            .outerjoin(TaskRow, TaskRow.id == LedgerEntryRow.task_id)
            .where(
                LedgerEntryRow.stage == "open",
                closing.id.is_(None),
                or_(TaskRow.id.is_(None), TaskRow.status.in_(FINAL_STATUSES)),
            )
        )
        async with self._db.engine.connect() as connection:
            return [(str(row[0]), row[1]) for row in await connection.execute(statement)]

    # ---- balances ---------------------------------------------------------------------------

    async def balance(self, key_id: int) -> int | None:
        async with self._db.engine.connect() as connection:
            row = (
                await connection.execute(
                    select(ApiKeyRow.balance_units).where(ApiKeyRow.id == key_id)
                )
            ).first()
        if row is None:
            raise UnknownKey(key_id)
        return None if row[0] is None else int(row[0])

    async def opening(self, key_id: int, tenant_id: int, units: int) -> None:
        """Record a new key's starting balance (already set on the key row)."""
        async with self._db.engine.begin() as connection:
            await self._append(
                connection, key_id, tenant_id, "topup", units, units, "opening balance"
            )

    async def top_up(self, key_id: int, tenant_id: int, units: int, note: str) -> int:
        """Add ``units`` to a limited key; returns the new balance."""
        async with self._db.engine.begin() as connection:
            balance = await self._add(connection, key_id, units)
            if balance is None:
                raise ValueError("the key is unlimited; set a balance instead of topping up")
            await self._append(connection, key_id, tenant_id, "topup", units, balance, note)
        return balance

    async def set_balance(
        self, key_id: int, tenant_id: int, units: int | None, note: str
    ) -> int | None:
        """Set the balance (None = unlimited), recording the difference as an adjustment."""
        async with self._db.engine.begin() as connection:
            # Write first: takes the row lock (PostgreSQL) / write lock (SQLite) before reading.
            await connection.execute(
                update(ApiKeyRow)
                .where(ApiKeyRow.id == key_id)
                .values(balance_units=ApiKeyRow.balance_units)
            )
            old = await self._balance(connection, key_id)
            await connection.execute(
                update(ApiKeyRow).where(ApiKeyRow.id == key_id).values(balance_units=units)
            )
            delta = (units or 0) - (old or 0)
            shown = "unlimited" if units is None else show(units)
            await self._append(
                connection, key_id, tenant_id, "adjust", delta, units, f"{note} (set to {shown})"
            )
        return units

    async def _add(self, connection: AsyncConnection, key_id: int, units: int) -> int | None:
        result = await connection.execute(
            update(ApiKeyRow)
            .where(ApiKeyRow.id == key_id)
            .values(balance_units=ApiKeyRow.balance_units + units)
            .returning(ApiKeyRow.balance_units)
        )
        row = result.first()
        if row is None:
            raise UnknownKey(key_id)
        return None if row[0] is None else int(row[0])

    async def _balance(self, connection: AsyncConnection, key_id: int) -> int | None:
        row = (
            await connection.execute(select(ApiKeyRow.balance_units).where(ApiKeyRow.id == key_id))
        ).first()
        if row is None:
            raise UnknownKey(key_id)
        return None if row[0] is None else int(row[0])

    async def _append(
        self,
        connection: AsyncConnection,
        key_id: int,
        tenant_id: int,
        kind: str,
        amount: int,
        balance_after: int | None,
        note: str,
    ) -> None:
        await connection.execute(
            insert(LedgerEntryRow).values(
                key_id=key_id,
                tenant_id=tenant_id,
                task_id=None,
                kind=kind,
                stage=None,
                amount_units=amount,
                price_units=0,
                balance_after_units=balance_after,
                action="",
                mode="",
                note=note[:200],
                created_ms=now_ms(),
            )
        )

    # ---- reports ----------------------------------------------------------------------------

    async def entries(
        self,
        *,
        key_id: int | None = None,
        task_id: str | None = None,
        limit: int = 100,
        before_id: int | None = None,
    ) -> list[Entry]:
        statement = select(LedgerEntryRow)
        if key_id is not None:
            statement = statement.where(LedgerEntryRow.key_id == key_id)
        if task_id is not None:
            statement = statement.where(LedgerEntryRow.task_id == task_id)
        if before_id is not None:
            statement = statement.where(LedgerEntryRow.id < before_id)
        statement = statement.order_by(LedgerEntryRow.id.desc()).limit(limit)
        async with self._db.sessions() as session:
            return [_entry(row) for row in (await session.scalars(statement)).all()]

    async def usage(self, *, since_ms: int = 0, until_ms: int | None = None) -> list[Usage]:
        """Per key: tasks charged, amounts settled, refunded and still held."""
        until = until_ms if until_ms is not None else 2**62
        row = LedgerEntryRow

        statement = (
            select(
                row.key_id,
                row.tenant_id,
                row.kind,
                func.count(),
                func.coalesce(func.sum(row.price_units), 0),
            )
            .where(
                row.kind.in_(("reserve", "settle", "refund", "charge")),
                row.created_ms >= since_ms,
                row.created_ms < until,
            )
            .group_by(row.key_id, row.tenant_id, row.kind)
        )
        per_key: dict[tuple[int, int], dict[str, tuple[int, int]]] = {}
        async with self._db.engine.connect() as connection:
            for key_id, tenant_id, kind, count, amount in await connection.execute(statement):
                per_key.setdefault((key_id, tenant_id), {})[kind] = (int(count), int(amount))
        result = []
        for (key_id, tenant_id), kinds in sorted(per_key.items()):
            reserved = kinds.get("reserve", (0, 0))
            settled = kinds.get("settle", (0, 0))
            refunded = kinds.get("refund", (0, 0))
            direct = kinds.get("charge", (0, 0))
            result.append(
                Usage(
                    key_id=key_id,
                    tenant_id=tenant_id,
                    tasks=reserved[0],
                    charged_units=settled[1] + direct[1],
                    refunded_units=refunded[1],
                    held_units=reserved[1] - settled[1] - refunded[1],
                )
            )
        return result

    async def totals(self) -> dict[str, int]:
        """Per kind, the sum of task prices (reserve, settle, refund) or of amounts (top-ups and
        adjustments), over the whole ledger: the /metrics ledger totals."""
        statement = select(
            LedgerEntryRow.kind,
            func.sum(LedgerEntryRow.price_units),
            func.sum(LedgerEntryRow.amount_units),
        ).group_by(LedgerEntryRow.kind)
        async with self._db.engine.connect() as connection:
            rows = (await connection.execute(statement)).all()
        return {
            str(kind): int((amount if kind in ("topup", "adjust") else price) or 0)
            for kind, price, amount in rows
        }


def _entry(row: LedgerEntryRow) -> Entry:
    return Entry(
        id=row.id,
        key_id=row.key_id,
        tenant_id=row.tenant_id,
        task_id=row.task_id,
        kind=row.kind,
        amount_units=row.amount_units,
        price_units=row.price_units,
        balance_after_units=row.balance_after_units,
        action=row.action,
        mode=row.mode,
        note=row.note,
        created_ms=row.created_ms,
    )
