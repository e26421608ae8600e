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


def test_video_and_editor_actions_are_priced_by_default() -> None:
    prices = LedgerSettings().prices
    # Every action a client can submit has a price (none is free by omission).
    assert {"VIDEO", "VIDEO_EXTEND", "EDIT", "RETEXTURE", "SWAP_FACE"} <= set(prices)
    assert prices["VIDEO"] == Decimal("0.8")
    assert prices["SWAP_FACE"] == Decimal("0.05")
    assert all(prices[action] > 0 for action in ("VIDEO", "VIDEO_EXTEND", "EDIT", "RETEXTURE"))
