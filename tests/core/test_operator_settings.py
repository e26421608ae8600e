"""Operator settings: prices merge over the defaults."""

from __future__ import annotations

from decimal import Decimal

from mjrelay.core.settings.operator import LedgerSettings


def test_configured_prices_override_defaults_one_by_one() -> None:
    ledger = LedgerSettings.model_validate(
        {"prices": {"imagine": "0.3"}, "mode_multipliers": {"RELAX": "0.5"}}
    )
    assert ledger.prices["IMAGINE"] == Decimal("0.3")
    assert ledger.prices["UPSCALE"] == Decimal("0.05")
    assert ledger.mode_multipliers == {
        "": Decimal(1),
        "fast": Decimal(1),
        "relax": Decimal("0.5"),
        "turbo": Decimal(1),
    }
