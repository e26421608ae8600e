"""Where settings come from besides the environment: the TOML file an operator points at."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

CONFIG_ENV_VAR = "MJRELAY_CONFIG"


class ConfigFileError(ValueError):
    """The TOML settings file cannot be read or parsed; the message names the file."""


def config_path_from_env() -> Path | None:
    """The file named by ``MJRELAY_CONFIG``, for callers that were given no path."""
    raw = os.environ.get(CONFIG_ENV_VAR, "")
    return Path(raw) if raw else None


def read_config_file(path: Path) -> dict[str, Any]:
    """The TOML file's tables and keys, as pydantic validates them (unknown keys are ignored)."""
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except OSError as exc:
        raise ConfigFileError(f"cannot read config file {path}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigFileError(f"config file {path} is not valid TOML: {exc}") from exc
