"""The options of an ``engine = "discord"`` channel: one Discord user account.

The user token is a ``SecretStr`` so that it never shows up in a repr, a log line or an error
message; it leaves this process only in the ``Authorization`` header and the gateway identify.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from mjrelay.core.urls import configured_url

DEFAULT_USER_AGENT = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/112.0.0.0 Safari/537.36"
)
BotName = Literal["MID_JOURNEY", "NIJI_JOURNEY"]
ALL_BOTS: tuple[BotName, ...] = ("MID_JOURNEY", "NIJI_JOURNEY")
_SNOWFLAKE = r"^[0-9]{1,20}$"


class DiscordOptions(BaseModel):
    """One Discord account that drives the Midjourney (and/or Niji) bot in one channel."""

    model_config = ConfigDict(extra="forbid")

    guild_id: str = Field(pattern=_SNOWFLAKE, description="The server (guild) id.")
    channel_id: str = Field(pattern=_SNOWFLAKE, description="The channel the bot answers in.")
    user_token: SecretStr = Field(description="The account's user token (never logged/shown).")
    user_agent: str = Field(
        DEFAULT_USER_AGENT,
        min_length=1,
        max_length=512,
        description="Browser User-Agent sent to Discord; match the browser the token came from.",
    )
    core_size: int = Field(3, ge=1, le=12, description="Jobs running at once.")
    queue_size: int = Field(10, ge=0, le=1000, description="Jobs waiting for a free slot.")
    timeout_minutes: float = Field(5.0, gt=0, le=120, description="A job with no result fails.")
    bots: list[BotName] = Field(
        default_factory=lambda: list(ALL_BOTS),
        description="Bots this account drives: MID_JOURNEY, NIJI_JOURNEY.",
    )
    api_base_url: str = Field(
        "https://discord.com", description="Discord's HTTP API; changed only for tests."
    )
    gateway_url: str = Field(
        "wss://gateway.discord.gg", description="Discord's gateway; changed only for tests."
    )
    # Vary (Region) is submitted to the bot's web app (an iframe modal), not to Discord.
    inpaint_url: str = Field(
        "https://936929561302675456.discordsays.com/inpaint/api/submit-job",
        description="Midjourney's web app endpoint for Vary (Region) jobs.",
    )
    upload_allow_hosts: list[str] = Field(
        default_factory=list, description="Extra hosts upload URLs may point at (SSRF guard)."
    )
    session_id: str = Field(
        "f1a313a09ce079ce252459dc70231f30",
        pattern=r"^[0-9a-f]{32}$",
        description="Session id sent with interactions (32 hex digits).",
    )
    compress: bool = Field(True, description="zlib-stream on the gateway.")
    ready_timeout_seconds: float = Field(
        20.0, gt=0, le=300, description="Seconds to wait for the gateway's READY on connect."
    )
    modal_timeout_seconds: float = Field(
        20.0, gt=0, le=300, description="Seconds to wait for a modal to open (Custom Zoom...)."
    )
    deleted_grace_seconds: float = Field(
        15.0,
        ge=0,
        le=600,
        description="Seconds a job survives its progress message being deleted before failing.",
    )
    reconnect_max_seconds: float = Field(
        60.0, gt=0, le=3600, description="Longest wait between two gateway reconnect attempts."
    )
    max_rate_limit_wait_seconds: float = Field(
        60.0,
        gt=0,
        le=3600,
        description="Longest Discord rate-limit wait honoured; a longer one fails the request.",
    )

    @field_validator("guild_id", "channel_id", mode="before")
    @classmethod
    def _id_text(cls, value: object) -> object:
        """Ids given as numbers (``-o channel_id=123`` parses as JSON) are kept as text."""
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("api_base_url", "inpaint_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return configured_url(value)

    @field_validator("gateway_url")
    @classmethod
    def _ws_url(cls, value: str) -> str:
        return configured_url(value, ("ws", "wss"))

    @field_validator("user_token")
    @classmethod
    def _token(cls, value: SecretStr) -> SecretStr:
        raw = value.get_secret_value()
        if not raw.strip() or any(c.isspace() for c in raw) or len(raw) > 512:
            raise ValueError("must be a non-empty token without spaces")
        return value

    @field_validator("bots")
    @classmethod
    def _bots(cls, value: list[BotName]) -> list[BotName]:
        if not value:
            raise ValueError("must name at least one bot")
        return value

    def serves_bot(self, bot_type: str) -> bool:
        return (bot_type or "MID_JOURNEY") in self.bots
