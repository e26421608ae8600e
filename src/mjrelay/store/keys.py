"""Tenants and their API keys (only hashes are stored)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select, update

from mjrelay.core.ids import now_ms
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


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a request acts for."""

    key_id: int
    tenant_id: int


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
                created_ms=created,
            )
            session.add(row)
            await session.flush()
            info = KeyInfo(
                row.id, tenant_row.id, tenant_row.name, name, row.prefix, quota, created, None
            )
        return key, info

    async def authenticate(self, key: str) -> Principal | None:
        statement = select(ApiKeyRow.id, ApiKeyRow.tenant_id).where(
            ApiKeyRow.key_hash == hash_api_key(key), ApiKeyRow.revoked_ms.is_(None)
        )
        async with self._db.engine.connect() as connection:
            row = (await connection.execute(statement)).first()
        return None if row is None else Principal(key_id=row[0], tenant_id=row[1])

    async def list(self) -> list[KeyInfo]:
        statement = (
            select(ApiKeyRow, TenantRow.name)
            .join(TenantRow, TenantRow.id == ApiKeyRow.tenant_id)
            .order_by(ApiKeyRow.id)
        )
        async with self._db.sessions() as session:
            rows = (await session.execute(statement)).all()
        return [
            KeyInfo(
                key.id,
                key.tenant_id,
                tenant_name,
                key.name,
                key.prefix,
                key.quota,
                key.created_ms,
                key.revoked_ms,
            )
            for key, tenant_name in rows
        ]

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
