"""Operator use cases shared by the admin API and the CLI: tenants, keys, balances, prices,
task search, usage. Every change is written to the audit log with the actor that made it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from mjrelay.core.errors import NotFound, ValidationFailed
from mjrelay.core.money import show, to_units
from mjrelay.services.operator.pricing import PriceBook
from mjrelay.store.audit import AuditEntry, AuditStore
from mjrelay.store.db import Database
from mjrelay.store.keys import KeyAccount, KeyAccounts, KeyInfo, KeyStore
from mjrelay.store.ledger import Entry, LedgerStore
from mjrelay.store.search import FoundTask, TaskQuery, search_tasks


def key_json(account: KeyAccount) -> dict[str, Any]:
    info = account.info
    return {
        "id": info.id,
        "tenantId": info.tenant_id,
        "tenant": info.tenant_name,
        "name": info.name,
        "prefix": info.prefix,
        "balance": show(account.balance_units),
        "ratePerSecond": account.rate_per_second,
        "maxInFlight": account.max_in_flight,
        "createdMs": info.created_ms,
        "revokedMs": info.revoked_ms,
    }


class AdminService:
    def __init__(
        self,
        db: Database,
        keys: KeyStore,
        accounts: KeyAccounts,
        ledger: LedgerStore,
        prices: PriceBook,
        audit: AuditStore,
    ) -> None:
        self._db = db
        self._keys = keys
        self._accounts = accounts
        self._ledger = ledger
        self._prices = prices
        self._audit = audit

    # ---- tenants and keys ---------------------------------------------------------------------

    async def tenants(self) -> list[dict[str, Any]]:
        return [
            {"id": tid, "name": name, "createdMs": created, "activeKeys": active}
            for tid, name, created, active in await self._accounts.tenants()
        ]

    async def create_tenant(self, name: str, *, actor: str) -> dict[str, Any]:
        name = _name(name, "name")
        tenant_id, created = await self._accounts.create_tenant(name)
        if created:
            await self._audit.add(actor, "tenant.create", f"tenant:{tenant_id}", {"name": name})
        return {"id": tenant_id, "name": name, "created": created}

    async def create_key(
        self,
        name: str,
        *,
        actor: str,
        tenant: str | None = None,
        balance: Decimal | None = None,
        rate_per_second: float | None = None,
        max_in_flight: int | None = None,
    ) -> tuple[str, KeyInfo]:
        """A new key (and tenant if new); ``balance`` None = unlimited. The key is shown once."""
        name = _name(name, "name")
        tenant = _name(tenant, "tenant") if tenant is not None else None
        if balance is not None and balance < 0:
            raise ValidationFailed("balance: must not be negative")
        key, info = await self._keys.create(name, tenant=tenant, quota=balance)
        if balance is not None:
            await self._ledger.opening(info.id, info.tenant_id, to_units(balance))
        if rate_per_second is not None or max_in_flight is not None:
            await self._accounts.set_limits(
                info.id, rate_per_second=rate_per_second, max_in_flight=max_in_flight
            )
        await self._audit.add(
            actor,
            "key.create",
            f"key:{info.id}",
            {
                "name": name,
                "tenant": info.tenant_name,
                "prefix": info.prefix,
                "balance": None if balance is None else str(balance),
                "ratePerSecond": rate_per_second,
                "maxInFlight": max_in_flight,
            },
        )
        return key, info

    async def keys(self, *, tenant_id: int | None = None) -> list[KeyAccount]:
        return await self._accounts.list(tenant_id=tenant_id)

    async def key(self, key_id: int) -> KeyAccount:
        account = await self._accounts.get(key_id)
        if account is None:
            raise NotFound(f"key {key_id} not found", http_status=404)
        return account

    async def revoke_key(self, key_id_or_prefix: str, *, actor: str) -> int:
        count = await self._keys.revoke(key_id_or_prefix)
        if count:
            await self._audit.add(actor, "key.revoke", f"key:{key_id_or_prefix}", {})
        return count

    async def set_limits(
        self,
        key_id: int,
        *,
        actor: str,
        rate_per_second: float | None,
        max_in_flight: int | None,
    ) -> KeyAccount:
        if rate_per_second is not None and rate_per_second < 0:
            raise ValidationFailed("ratePerSecond: must not be negative")
        if max_in_flight is not None and max_in_flight < 0:
            raise ValidationFailed("maxInFlight: must not be negative")
        if not await self._accounts.set_limits(
            key_id, rate_per_second=rate_per_second, max_in_flight=max_in_flight
        ):
            raise NotFound(f"key {key_id} not found", http_status=404)
        await self._audit.add(
            actor,
            "key.limits",
            f"key:{key_id}",
            {"ratePerSecond": rate_per_second, "maxInFlight": max_in_flight},
        )
        return await self.key(key_id)

    # ---- balances -----------------------------------------------------------------------------

    async def top_up(self, key_id: int, amount: Decimal, *, actor: str, note: str = "") -> str:
        account = await self.key(key_id)
        units = to_units(amount)
        if units <= 0:
            raise ValidationFailed("amount: must be positive")
        if account.balance_units is None:
            raise ValidationFailed("amount: the key is unlimited; set a balance instead")
        balance = await self._ledger.top_up(key_id, account.info.tenant_id, units, note or actor)
        await self._audit.add(
            actor, "balance.topup", f"key:{key_id}", {"amount": str(amount), "note": note}
        )
        return str(show(balance))

    async def set_balance(
        self, key_id: int, amount: Decimal | None, *, actor: str, note: str = ""
    ) -> str | None:
        account = await self.key(key_id)
        if amount is not None and amount < 0:
            raise ValidationFailed("balance: must not be negative")
        units = None if amount is None else to_units(amount)
        await self._ledger.set_balance(key_id, account.info.tenant_id, units, note or actor)
        await self._audit.add(
            actor,
            "balance.set",
            f"key:{key_id}",
            {"balance": None if amount is None else str(amount), "note": note},
        )
        return show(units)

    async def ledger(
        self, key_id: int, *, limit: int = 100, before_id: int | None = None
    ) -> list[Entry]:
        await self.key(key_id)
        return await self._ledger.entries(key_id=key_id, limit=limit, before_id=before_id)

    # ---- prices, tasks, usage, audit ------------------------------------------------------------

    async def prices(self) -> dict[str, dict[str, str]]:
        return await self._prices.table()

    async def set_prices(
        self,
        prices: dict[str, Decimal | None],
        modes: dict[str, Decimal | None],
        *,
        actor: str,
    ) -> dict[str, dict[str, str]]:
        for name, value in [*prices.items(), *modes.items()]:
            if value is not None and (not value.is_finite() or value < 0):
                raise ValidationFailed(f"{name}: must be a non-negative number")
            if len(name) > 32:
                raise ValidationFailed(f"{name[:32]}: name too long")
        await self._prices.set(
            {name.upper(): value for name, value in prices.items()},
            {name.lower(): value for name, value in modes.items()},
        )
        await self._audit.add(
            actor,
            "prices.set",
            "prices",
            {
                "prices": {k: None if v is None else str(v) for k, v in prices.items()},
                "modeMultipliers": {k: None if v is None else str(v) for k, v in modes.items()},
            },
        )
        return await self.prices()

    async def search_tasks(self, query: TaskQuery) -> list[FoundTask]:
        return await search_tasks(self._db, query)

    async def usage(
        self, *, since_ms: int = 0, until_ms: int | None = None
    ) -> list[dict[str, Any]]:
        return [
            {
                "keyId": u.key_id,
                "tenantId": u.tenant_id,
                "tasks": u.tasks,
                "charged": show(u.charged_units),
                "refunded": show(u.refunded_units),
                "held": show(u.held_units),
            }
            for u in await self._ledger.usage(since_ms=since_ms, until_ms=until_ms)
        ]

    async def audit(self, *, limit: int = 100, before_id: int | None = None) -> list[AuditEntry]:
        return await self._audit.list(limit=limit, before_id=before_id)


def _name(value: str | None, field: str) -> str:
    text = (value or "").strip()
    if not text:
        raise ValidationFailed(f"{field}: required")
    if len(text) > 200:
        raise ValidationFailed(f"{field}: at most 200 characters")
    return text
