"""Tenants and their API keys (only hashes are stored)."""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select, update

from mjrelay.core.ids import now_ms
from mjrelay.core.money import to_units
from mjrelay.core.security import generate_api_key, hash_api_key, key_display_prefix
from mjrelay.store.db import Database
from mjrelay.store.models import ApiKeyRow, TenantRow


@dataclass(frozen=True, slots=True)
class KeyInfo:
    id: int
    tenant_id: int
    tenant_name: str
    name: str
    prefix: str
    quota: Decimal | None
    created_ms: int
    revoked_ms: int | None


def _key_info(key: ApiKeyRow, tenant_name: str) -> KeyInfo:
    return KeyInfo(
        key.id,
        key.tenant_id,
        tenant_name,
        key.name,
        key.prefix,
        key.quota,
        key.created_ms,
        key.revoked_ms,
    )


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a request acts for."""

    key_id: int
    tenant_id: int
    # The key's own rate limit (requests per second); None = the settings' default.
    rate_per_second: float | None = None


class KeyStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(
        self, name: str, *, tenant: str | None = None, quota: Decimal | None = None
    ) -> tuple[str, KeyInfo]:
        """Create a key (and its tenant if new); returns the plaintext key, shown only once."""
        tenant_name = tenant or name
        key = generate_api_key()
        created = now_ms()
        async with self._db.sessions() as session, session.begin():
            tenant_row = await session.scalar(
                select(TenantRow).where(TenantRow.name == tenant_name)
            )
            if tenant_row is None:
                tenant_row = TenantRow(name=tenant_name, created_ms=created)
                session.add(tenant_row)
                await session.flush()
            row = ApiKeyRow(
                tenant_id=tenant_row.id,
                name=name,
                prefix=key_display_prefix(key),
                key_hash=hash_api_key(key),
                quota=quota,
                balance_units=None if quota is None else to_units(quota),
                created_ms=created,
            )
            session.add(row)
            await session.flush()
            info = KeyInfo(
                row.id, tenant_row.id, tenant_row.name, name, row.prefix, quota, created, None
            )
        return key, info

    async def authenticate(self, key: str) -> Principal | None:
        statement = select(ApiKeyRow.id, ApiKeyRow.tenant_id, ApiKeyRow.rate_per_second).where(
            ApiKeyRow.key_hash == hash_api_key(key), ApiKeyRow.revoked_ms.is_(None)
        )
        async with self._db.engine.connect() as connection:
            row = (await connection.execute(statement)).first()
        return None if row is None else Principal(row[0], row[1], row[2])

    async def list(self) -> list[KeyInfo]:
        statement = (
            select(ApiKeyRow, TenantRow.name)
            .join(TenantRow, TenantRow.id == ApiKeyRow.tenant_id)
            .order_by(ApiKeyRow.id)
        )
        async with self._db.sessions() as session:
            rows = (await session.execute(statement)).all()
        return [_key_info(key, tenant_name) for key, tenant_name in rows]

    async def revoke(self, key_id_or_prefix: str) -> int:
        """Revoke by numeric id or by displayed prefix; returns how many keys were revoked."""
        condition = (
            ApiKeyRow.id == int(key_id_or_prefix)
            if key_id_or_prefix.isdigit()
            else ApiKeyRow.prefix == key_id_or_prefix
        )
        async with self._db.sessions() as session, session.begin():
            result = await session.execute(
                update(ApiKeyRow)
                .where(condition, ApiKeyRow.revoked_ms.is_(None))
                .values(revoked_ms=now_ms())
            )
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def count_active(self) -> int:
        async with self._db.sessions() as session:
            value = await session.scalar(
                select(func.count()).select_from(ApiKeyRow).where(ApiKeyRow.revoked_ms.is_(None))
            )
        return int(value or 0)


@dataclass(frozen=True, slots=True)
class KeyAccount:
    """A key with what the operator layer keeps on it."""

    info: KeyInfo
    balance_units: int | None
    rate_per_second: float | None
    max_in_flight: int | None


class KeyAccounts:
    """Balances and limits of keys (only the ledger changes balances; this reads them)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, key_id: int) -> KeyAccount | None:
        found = await self.list(key_id=key_id)
        return found[0] if found else None

    async def list(
        self, *, key_id: int | None = None, tenant_id: int | None = None
    ) -> list[KeyAccount]:
        statement = select(ApiKeyRow, TenantRow.name).join(
            TenantRow, TenantRow.id == ApiKeyRow.tenant_id
        )
        if key_id is not None:
            statement = statement.where(ApiKeyRow.id == key_id)
        if tenant_id is not None:
            statement = statement.where(ApiKeyRow.tenant_id == tenant_id)
        async with self._db.sessions() as session:
            rows = (await session.execute(statement.order_by(ApiKeyRow.id))).all()
        return [
            KeyAccount(
                _key_info(key, tenant_name),
                key.balance_units,
                key.rate_per_second,
                key.max_in_flight,
            )
            for key, tenant_name in rows
        ]

    async def set_limits(
        self, key_id: int, *, rate_per_second: float | None, max_in_flight: int | None
    ) -> bool:
        async with self._db.sessions() as session, session.begin():
            result = await session.execute(
                update(ApiKeyRow)
                .where(ApiKeyRow.id == key_id)
                .values(rate_per_second=rate_per_second, max_in_flight=max_in_flight)
            )
        return int(result.rowcount) == 1  # type: ignore[attr-defined]

    async def tenants(self) -> builtins.list[tuple[int, str, int, int]]:
        """(id, name, created_ms, active keys) for every tenant."""
        active = func.count(ApiKeyRow.id).filter(ApiKeyRow.revoked_ms.is_(None))
        statement = (
            select(TenantRow.id, TenantRow.name, TenantRow.created_ms, active)
            .outerjoin(ApiKeyRow, ApiKeyRow.tenant_id == TenantRow.id)
            .group_by(TenantRow.id, TenantRow.name, TenantRow.created_ms)
            .order_by(TenantRow.id)
        )
        async with self._db.engine.connect() as connection:
            return [(r[0], r[1], r[2], int(r[3])) for r in await connection.execute(statement)]

    async def create_tenant(self, name: str) -> tuple[int, bool]:
        """(tenant id, created?) — an existing name is returned as is."""
        async with self._db.sessions() as session, session.begin():
            row = await session.scalar(select(TenantRow).where(TenantRow.name == name))
            if row is not None:
                return row.id, False
            row = TenantRow(name=name, created_ms=now_ms())
            session.add(row)
            await session.flush()
            return row.id, True
