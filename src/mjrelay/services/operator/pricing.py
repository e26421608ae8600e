"""Prices: settings give the defaults, the admin API overrides them (stored, shared by instances).

A task costs ``price[action] x multiplier[mode]``, rounded to the ledger precision. A task that
waits for a modal (inpaint, custom zoom, remix) is charged the ``MODAL`` price when the modal
is submitted instead.
"""

from __future__ import annotations

import time
from decimal import Decimal

from mjrelay.core.money import from_units, to_units
from mjrelay.core.settings.operator import LedgerSettings
from mjrelay.store.prices import PriceStore

MODE_PREFIX = "mode:"
REFRESH_SECONDS = 10.0


class PriceBook:
    def __init__(self, settings: LedgerSettings, store: PriceStore) -> None:
        self._settings = settings
        self._store = store
        self._overrides: dict[str, int] = {}
        self._loaded_at = float("-inf")

    async def load(self) -> None:
        self._overrides = await self._store.all()
        self._loaded_at = time.monotonic()

    async def price_units(self, action: str, mode: str) -> int:
        if time.monotonic() - self._loaded_at > REFRESH_SECONDS:
            await self.load()
        return to_units(self.base(action) * self.multiplier(mode))

    def base(self, action: str) -> Decimal:
        if action in self._overrides:
            return from_units(self._overrides[action])
        return self._settings.prices.get(action, Decimal(0))

    def multiplier(self, mode: str) -> Decimal:
        item = MODE_PREFIX + mode
        if item in self._overrides:
            return from_units(self._overrides[item])
        return self._settings.mode_multipliers.get(mode, Decimal(1))

    async def table(self) -> dict[str, dict[str, str]]:
        await self.load()
        actions = sorted(set(self._settings.prices) | {k for k in self._overrides if ":" not in k})
        modes = sorted(
            set(self._settings.mode_multipliers)
            | {k[len(MODE_PREFIX) :] for k in self._overrides if k.startswith(MODE_PREFIX)}
        )
        return {
            "prices": {action: str(self.base(action)) for action in actions},
            "modeMultipliers": {mode: str(self.multiplier(mode)) for mode in modes},
        }

    async def set(
        self, prices: dict[str, Decimal | None], modes: dict[str, Decimal | None]
    ) -> None:
        items: dict[str, int | None] = {
            name: None if value is None else to_units(value) for name, value in prices.items()
        }
        items.update(
            {
                MODE_PREFIX + name: None if value is None else to_units(value)
                for name, value in modes.items()
            }
        )
        await self._store.put(items)
        await self.load()
