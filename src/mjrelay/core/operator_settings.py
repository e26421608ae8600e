"""Settings of the operator layer: prices, rate limits, callbacks (nested under ``Settings``)."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, Field, field_validator

DEFAULT_MULTIPLIERS: dict[str, Decimal] = {
    "": Decimal(1),
    "fast": Decimal(1),
    "relax": Decimal(1),
    "turbo": Decimal(1),
}

DEFAULT_PRICES: dict[str, Decimal] = {
    **{
        action: Decimal("0.1")
        for action in (
            "IMAGINE",
            "VARIATION",
            "REROLL",
            "BLEND",
            "ZOOM",
            "PAN",
            "SHORTEN",
            "HIGH_VARIATION",
            "LOW_VARIATION",
            "MODAL",
        )
    },
    **{action: Decimal("0.05") for action in ("UPSCALE", "DESCRIBE", "UPLOAD")},
    # Charged through the modal submit that they always wait for.
    "INPAINT": Decimal("0"),
    "CUSTOM_ZOOM": Decimal("0"),
}


class LedgerSettings(BaseModel):
    """Prices per action (plus ``MODAL``) and multipliers per speed mode ('' = no mode prefix).

    Configured entries override the defaults one by one: configuring only ``IMAGINE`` must not
    make every other action free.
    """

    prices: dict[str, Decimal] = Field(default_factory=lambda: dict(DEFAULT_PRICES))
    mode_multipliers: dict[str, Decimal] = Field(default_factory=lambda: dict(DEFAULT_MULTIPLIERS))

    @field_validator("prices")
    @classmethod
    def _merge_prices(cls, value: dict[str, Decimal]) -> dict[str, Decimal]:
        return _checked({**DEFAULT_PRICES, **{k.upper(): v for k, v in value.items()}})

    @field_validator("mode_multipliers")
    @classmethod
    def _merge_modes(cls, value: dict[str, Decimal]) -> dict[str, Decimal]:
        return _checked({**DEFAULT_MULTIPLIERS, **{k.lower(): v for k, v in value.items()}})


def _checked(values: dict[str, Decimal]) -> dict[str, Decimal]:
    for name, amount in values.items():
        if not amount.is_finite() or amount < 0:
            raise ValueError(f"{name}: must be a non-negative number")
    return values


class RateLimitSettings(BaseModel):
    """Per-key defaults; a key's own limits (admin API) override them. 0 means no limit."""

    requests_per_second: float = Field(0.0, ge=0)
    burst: int = Field(0, ge=0, description="Requests allowed at once (default: 2 x rate).")
    max_in_flight: int = Field(0, ge=0, description="Unfinished jobs per key.")


class CallbackSettings(BaseModel):
    """notifyHook delivery."""

    allow_hosts: list[str] = Field(
        default_factory=list,
        description="Hosts, addresses or CIDR networks callbacks may reach although private.",
    )
    timeout_seconds: float = Field(10.0, gt=0)
    retry_seconds: float = Field(3600.0, ge=0, description="How long a delivery is retried.")
    first_retry_seconds: float = Field(1.0, gt=0)
    max_backoff_seconds: float = Field(600.0, gt=0)
    poll_seconds: float = Field(1.0, gt=0)
    concurrency: int = Field(16, ge=1)
