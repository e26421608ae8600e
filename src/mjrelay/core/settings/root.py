"""The root ``Settings``: every concern's keys side by side, and how they are loaded.

Each concern declares its top-level keys in its own module; ``Settings`` inherits them all, so
operators keep flat names (``MJRELAY_TASK_TIMEOUT_SECONDS``, ``task_timeout_seconds = 600``)
and code keeps ``settings.task_timeout_seconds`` / ``settings.routing.breaker_failures``.

Values come, highest priority first, from keyword arguments, ``MJRELAY_*`` environment
variables (nested with ``__``), the TOML file given to ``load_settings`` (or named by
``MJRELAY_CONFIG``), then the defaults. The defaults run the embedded setup: SQLite in the data
dir and the sandbox engine.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import Field
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from mjrelay.core.settings.channels import ChannelSettings
from mjrelay.core.settings.media import MediaSettings
from mjrelay.core.settings.operator import OperatorSettings
from mjrelay.core.settings.sandbox import SandboxSettings
from mjrelay.core.settings.server import ServerSettings
from mjrelay.core.settings.sources import config_path_from_env, read_config_file
from mjrelay.core.settings.storage import StorageSettings
from mjrelay.core.settings.streams import StreamSettings
from mjrelay.core.settings.tasks import TaskSettings


class Settings(
    BaseSettings,
    ServerSettings,
    StorageSettings,
    TaskSettings,
    StreamSettings,
    OperatorSettings,
    ChannelSettings,
):
    """All of the relay's settings. Prefer ``load_settings``: it also reads the TOML file."""

    model_config = SettingsConfigDict(
        env_prefix="MJRELAY_", env_nested_delimiter="__", extra="ignore"
    )

    sandbox: SandboxSettings = Field(
        default_factory=SandboxSettings,
        description="[sandbox]: the built-in simulated engine; also the defaults of every "
        "sandbox channel.",
    )
    media: MediaSettings = Field(
        default_factory=MediaSettings,
        description="[media]: where relay-hosted images live (docs/upstream.md, durable images).",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # No .env or secrets dir: the TOML file is layered in by load_settings, which is told
        # its path, instead of a source that would have to find it in global state.
        return (init_settings, env_settings)


def load_settings(config_path: Path | None = None, **overrides: Any) -> Settings:
    """Settings from ``overrides`` > environment > the TOML file > defaults.

    ``config_path`` is the TOML file to read (``--config``); without it, the file named by
    ``MJRELAY_CONFIG``, if any. Raises ``ConfigFileError`` when the file cannot be read and
    pydantic's ``ValidationError`` when a value is invalid.
    """
    path = config_path if config_path is not None else config_path_from_env()
    if path is None:
        return Settings(**overrides)
    file_values = read_config_file(path)
    # The environment must beat the file, but init values beat the environment; so the file
    # and the environment are merged here, key by key down nested tables, and passed as init.
    env_values = EnvSettingsSource(Settings)()
    return Settings(**_merged(_merged(file_values, env_values), overrides))


def _merged(base: Mapping[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` updated by ``top``; tables present in both are merged rather than replaced."""
    result = dict(base)
    for key, value in top.items():
        below = result.get(key)
        if isinstance(below, Mapping) and isinstance(value, Mapping):
            result[key] = _merged(below, value)
        else:
            result[key] = value
    return result
