"""What a tenant may read about its own key: balance, limits, callback secret and deliveries.

The account routes ask this service, never the ledger or callback stores: every answer is scoped
by the key id the auth dependency established, so a tenant cannot read another key's data.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from mjrelay.core.money import show
from mjrelay.services.operator.callbacks import CallbackService
from mjrelay.store.ledger import Entry, LedgerStore

#: (requests per second, jobs in flight) of a key; ``Operator.key_limits``.
KeyLimits = Callable[[int], Awaitable[tuple[float, int]]]


class AccountService:
    def __init__(
        self, ledger: LedgerStore, key_limits: KeyLimits, callbacks: CallbackService
    ) -> None:
        self._ledger = ledger
        self._key_limits = key_limits
        self._callbacks = callbacks

    async def summary(self, key_id: int) -> dict[str, Any]:
        """Balance (null = unlimited) and limits (null = none) of the key, in wire camelCase."""
        balance = await self._ledger.balance(key_id)
        rate, in_flight_limit = await self._key_limits(key_id)
        return {
            "keyId": key_id,
            "balance": show(balance),
            "ratePerSecond": rate or None,
            "maxInFlight": in_flight_limit or None,
        }

    async def entries(self, key_id: int, *, limit: int, before_id: int | None) -> list[Entry]:
        """The key's balance movements, newest first."""
        return await self._ledger.entries(key_id=key_id, limit=limit, before_id=before_id)

    async def callback_secret(self, key_id: int) -> str | None:
        return await self._callbacks.secret(key_id)

    async def callback_log(self, task_id: str) -> list[dict[str, object]]:
        """The delivery log of a task's notifyHook (the caller checks the task is the tenant's)."""
        return await self._callbacks.log(task_id)
