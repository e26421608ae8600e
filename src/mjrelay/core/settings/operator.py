"""The operator layer: prices, rate limits, callbacks and the admin API (docs/operator.md)."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, Field, SecretStr, field_validator

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
    # Video and the editor (issue 11). Prices are per action (the price model has no batch size
    # or resolution): a video costs Midjourney about 8 image jobs, an extension about as much.
    "VIDEO": Decimal("0.8"),
    "VIDEO_EXTEND": Decimal("0.8"),
    "EDIT": Decimal("0.1"),
    "RETEXTURE": Decimal("0.1"),
    "SWAP_FACE": Decimal("0.05"),
}


class LedgerSettings(BaseModel):
    """Prices per action (plus ``MODAL``) and multipliers per speed mode ('' = no mode prefix).

    Configured entries override the defaults one by one: configuring only ``IMAGINE`` must not
    make every other action free.
    """

    prices: dict[str, Decimal] = Field(
        default_factory=lambda: dict(DEFAULT_PRICES),
        description="Price charged per action (IMAGINE, UPSCALE, ..., MODAL), in balance units. "
        "Listed actions override the defaults; the others keep theirs.",
    )
    mode_multipliers: dict[str, Decimal] = Field(
        default_factory=lambda: dict(DEFAULT_MULTIPLIERS),
        description="Factor applied to prices per speed mode (fast, relax, turbo; '' = no mode "
        "prefix), e.g. turbo = 2.",
    )

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

    requests_per_second: float = Field(
        0.0, ge=0, description="Sustained requests per second per key; 0 = no limit."
    )
    burst: int = Field(
        0, ge=0, description="Requests a key may make at once above the rate; 0: twice the rate."
    )
    max_in_flight: int = Field(
        0, ge=0, description="Unfinished jobs per key (HTTP 429 beyond); 0 = no limit."
    )


class CallbackSettings(BaseModel):
    """notifyHook delivery."""

    allow_hosts: list[str] = Field(
        default_factory=list,
        description="Hosts, addresses or CIDR networks callbacks may reach although private.",
    )
    timeout_seconds: float = Field(
        10.0, gt=0, description="Seconds one delivery attempt may take before it counts as failed."
    )
    retry_seconds: float = Field(
        3600.0, ge=0, description="Seconds a failing delivery keeps being retried, then dropped."
    )
    first_retry_seconds: float = Field(
        1.0, gt=0, description="Wait before the first retry; doubles with each failure."
    )
    max_backoff_seconds: float = Field(
        600.0, gt=0, description="Longest wait between two retries, however many failed."
    )
    poll_seconds: float = Field(
        1.0, gt=0, description="Seconds between checks of the outbox for deliveries due."
    )
    concurrency: int = Field(16, ge=1, description="Deliveries in progress at once per instance.")
    keep_finished_hours: float = Field(
        168.0,
        ge=0,
        description="Hours a delivered, abandoned or superseded callback (and its delivery log) "
        "is kept before it is pruned; 0 keeps them forever. Pending deliveries are never pruned.",
    )
    prune_seconds: float = Field(
        600.0, gt=0, description="Seconds between two prunes of finished callbacks."
    )


class OperatorSettings(BaseModel):
    """Top-level keys of the operator layer: its tables plus the admin API's switches."""

    ledger: LedgerSettings = Field(
        default_factory=LedgerSettings, description="[ledger]: prices and mode multipliers."
    )
    rate_limits: RateLimitSettings = Field(
        default_factory=RateLimitSettings,
        description="[rate_limits]: per-key defaults; the admin API sets limits per key.",
    )
    callbacks: CallbackSettings = Field(
        default_factory=CallbackSettings, description="[callbacks]: notifyHook delivery."
    )
    admin_token: SecretStr = Field(
        SecretStr(""),
        description="Bearer token of the /admin API and the dashboard's Admin tab. Empty: the "
        "admin API is closed.",
    )
    metrics_public: bool = Field(
        False,
        description="Serve /metrics without the admin token (it reveals business volume; only "
        "on a private network).",
    )
    auth_cache_seconds: float = Field(
        5.0,
        ge=0,
        description="Seconds a key check is reused; a revoked key works this long on other "
        "instances. 0: check the database on every request.",
    )
    create_initial_key: bool = Field(
        True,
        description="`serve` creates and prints an API key when none exists (turn off for "
        "provisioned deployments).",
    )
