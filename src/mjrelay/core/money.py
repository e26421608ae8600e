"""Money as exact integers: one currency unit is 10 000 ledger units.

Balances and prices are stored as integers so that the conditional ``balance - price`` update is
exact on every database (SQLite would otherwise do the arithmetic in binary floating point and
1.0 - 10 x 0.1 would not be 0).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

UNITS_PER_CURRENCY = 10_000
_QUANTUM = Decimal(1) / UNITS_PER_CURRENCY


class InvalidAmount(ValueError):
    """Not a finite decimal amount."""


def parse_amount(value: object, *, allow_negative: bool = False) -> Decimal:
    """A user-given amount as a Decimal (strings and numbers accepted, floats via their text)."""
    if isinstance(value, bool):
        raise InvalidAmount("must be a number")
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise InvalidAmount(f"not a number: {value!r}") from exc
    if not amount.is_finite():
        raise InvalidAmount("must be a finite number")
    if amount < 0 and not allow_negative:
        raise InvalidAmount("must not be negative")
    if abs(amount) >= Decimal(10) ** 14:
        raise InvalidAmount("too large")
    return amount


def to_units(amount: Decimal) -> int:
    """Round to the ledger's precision (0.0001) and return integer units."""
    return int((amount * UNITS_PER_CURRENCY).to_integral_value(rounding=ROUND_HALF_UP))


def from_units(units: int) -> Decimal:
    return (Decimal(units) / UNITS_PER_CURRENCY).quantize(_QUANTUM)


def show(units: int | None) -> str | None:
    """The wire form of an amount: a decimal string, ``None`` for unlimited."""
    return None if units is None else str(from_units(units))
