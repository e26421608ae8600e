"""All settings in one place.

Values come, highest priority first, from ``MJRELAY_*`` environment variables, then an optional
TOML file (``--config FILE`` or ``MJRELAY_CONFIG``), then the defaults below. The defaults run the
embedded setup: SQLite in the data dir and the sandbox engine.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from mjrelay.core.channels import ChannelConfig, RoutingSettings
from mjrelay.core.media_settings import MediaSettings
from mjrelay.core.operator_settings import CallbackSettings, LedgerSettings, RateLimitSettings


class SandboxSettings(BaseModel):
    """The built-in simulated Midjourney."""

    job_seconds: float = Field(5.0, ge=0, description="Wall time of one simulated job.")
    progress_steps: int = Field(3, ge=1, le=20, description="Partial progress updates per job.")
    core_size: int = Field(3, ge=1, description="Jobs that run at once (code 22 beyond).")
    queue_size: int = Field(10, ge=0, description="Jobs that may wait (code 23 beyond).")
    banned_words: list[str] = Field(
        default_factory=lambda: ["gore", "nsfw", "nude"],
        description="Whole words that make a prompt rejected with code 24.",
    )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="MJRELAY_", env_nested_delimiter="__", extra="ignore"
    )

    data_dir: Path = Path("./data")
    database_url: str = ""
    public_url: str = ""
    host: str = "127.0.0.1"
    port: int = 8080
    log_level: str = "INFO"
    log_json: bool = False

    task_timeout_seconds: float = Field(600.0, gt=0)
    sweep_interval_seconds: float = Field(5.0, gt=0)
    max_body_bytes: int = Field(32 * 1024 * 1024, gt=0)
    max_image_bytes: int = Field(10 * 1024 * 1024, gt=0)
    max_image_pixels: int = Field(40_000_000, gt=0)
    max_prompt_chars: int = Field(6000, gt=0)
    fetch_cache_entries: int = Field(20_000, ge=0)
    auth_cache_seconds: float = Field(5.0, ge=0)
    create_initial_key: bool = True

    # Redis, when set: rate limits shared by all instances, and task changes fanned out to the
    # progress streams (SSE) of every instance.
    redis_url: str = ""
    redis_prefix: str = "mjrelay"
    redis_channel: str = "mjrelay:tasks"
    stream_heartbeat_seconds: float = Field(15.0, gt=0)
    stream_max_clients: int = Field(1000, ge=1)

    sandbox: SandboxSettings = Field(default_factory=SandboxSettings)
    # Where relay-hosted images live (docs/upstream.md, durable images).
    media: MediaSettings = Field(default_factory=MediaSettings)

    # Operator layer (docs/operator.md).
    ledger: LedgerSettings = Field(default_factory=LedgerSettings)
    rate_limits: RateLimitSettings = Field(default_factory=RateLimitSettings)
    callbacks: CallbackSettings = Field(default_factory=CallbackSettings)
    admin_token: SecretStr = SecretStr("")
    metrics_public: bool = False
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    # Where jobs run. Empty: one implicit "sandbox" channel (plus any added with `channels add`).
    channels: list[ChannelConfig] = Field(default_factory=list)
    channel_refresh_seconds: float = Field(5.0, gt=0, description="Re-read channels from the DB.")
    routing: RoutingSettings = Field(default_factory=RoutingSettings)

    @field_validator("channels")
    @classmethod
    def _unique_channels(cls, value: list[ChannelConfig]) -> list[ChannelConfig]:
        seen: set[str] = set()
        for channel in value:
            if channel.name in seen:
                raise ValueError(f"channels: duplicate channel name {channel.name!r}")
            seen.add(channel.name)
        return value

    @field_validator("public_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'mjrelay.db').resolve()}"

    @property
    def images_dir(self) -> Path:
        return self.data_dir / "images"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _TomlSource(settings_cls))


class _TomlSource(PydanticBaseSettingsSource):
    """Reads the optional TOML file named by ``MJRELAY_CONFIG`` (the CLI sets it from --config)."""

    def __init__(self, settings_cls: type[BaseSettings]) -> None:
        super().__init__(settings_cls)
        import os

        path = os.environ.get("MJRELAY_CONFIG")
        self._data: dict[str, Any] = {}
        if path:
            with open(path, "rb") as handle:
                self._data = tomllib.load(handle)

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self._data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self._data)


def load_settings(**overrides: Any) -> Settings:
    return Settings(**overrides)
