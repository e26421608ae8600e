"""Settings: every field documented; the TOML file is passed explicitly; precedence holds."""

from __future__ import annotations

import os
import types
import typing
from pathlib import Path

import pytest
from pydantic import BaseModel

from mjrelay.core.settings import ConfigFileError, Settings, load_settings
from mjrelay.engines.builtin import builtin_kinds


def _models_in(annotation: object) -> list[type[BaseModel]]:
    """The pydantic models an annotation mentions (``list[ChannelConfig]``, ``X | None``...)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    for argument in typing.get_args(annotation):
        found.extend(_models_in(argument))
    return found


def _undescribed(model: type[BaseModel], seen: set[type[BaseModel]]) -> list[str]:
    if model in seen:
        return []
    seen.add(model)
    missing: list[str] = []
    for name, field in model.model_fields.items():
        if not (field.description or "").strip():
            missing.append(f"{model.__name__}.{name}")
        for nested in _models_in(field.annotation):
            missing.extend(_undescribed(nested, seen))
    return missing


def test_every_settings_field_has_a_description() -> None:
    # The descriptions are the operator's documentation: a new key without one fails here.
    models = [Settings, *(kind.options_model for kind in builtin_kinds().values())]
    seen: set[type[BaseModel]] = set()
    missing = [name for model in models for name in _undescribed(model, seen)]
    assert missing == []
    # The walk really descends into nested tables and channel entries.
    assert {"RoutingSettings", "ChannelConfig", "MediaSettings", "CallbackSettings"} <= {
        model.__name__ for model in seen
    }


def test_the_description_check_catches_a_missing_one() -> None:
    class Nested(BaseModel):
        documented: int = 0

    class Outer(BaseModel):
        inner: list[Nested] | None = None

    assert _undescribed(Outer, set()) == ["Outer.inner", "Nested.documented"]
    assert isinstance(Outer.model_fields["inner"].annotation, types.UnionType)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.delenv("MJRELAY_CONFIG", raising=False)
    for name in ("MJRELAY_PORT", "MJRELAY_HOST", "MJRELAY_ROUTING__BREAKER_FAILURES"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def _toml(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_explicit_config_path_is_read_without_touching_the_environment(
    tmp_path: Path, clean_env: pytest.MonkeyPatch
) -> None:
    config = _toml(
        tmp_path / "a.toml",
        'host = "0.0.0.0"\nport = 9001\n[routing]\nbreaker_failures = 7\n',
    )
    settings = load_settings(config_path=config)
    assert (settings.host, settings.port, settings.routing.breaker_failures) == ("0.0.0.0", 9001, 7)
    assert "MJRELAY_CONFIG" not in os.environ


def test_precedence_is_init_then_env_then_file_then_defaults(
    tmp_path: Path, clean_env: pytest.MonkeyPatch
) -> None:
    config = _toml(
        tmp_path / "a.toml",
        'host = "10.0.0.1"\nport = 9001\nlog_level = "DEBUG"\n'
        "[routing]\nbreaker_failures = 7\nsubmit_timeout_seconds = 3.5\n",
    )
    clean_env.setenv("MJRELAY_PORT", "9002")
    clean_env.setenv("MJRELAY_HOST", "10.0.0.2")
    clean_env.setenv("MJRELAY_ROUTING__BREAKER_FAILURES", "8")
    settings = load_settings(config_path=config, host="10.0.0.3")
    assert settings.host == "10.0.0.3"  # init beats env and file
    assert settings.port == 9002  # env beats file
    assert settings.log_level == "DEBUG"  # file beats default
    # Nested tables merge key by key: env sets one key, the file another.
    assert settings.routing.breaker_failures == 8
    assert settings.routing.submit_timeout_seconds == 3.5
    assert settings.routing.breaker_open_seconds == 30.0  # default


def test_env_var_names_the_file_when_no_path_is_passed(
    tmp_path: Path, clean_env: pytest.MonkeyPatch
) -> None:
    from_env = _toml(tmp_path / "env.toml", "port = 9101\nmax_prompt_chars = 100\n")
    explicit = _toml(tmp_path / "explicit.toml", "port = 9202\n")
    clean_env.setenv("MJRELAY_CONFIG", str(from_env))
    assert load_settings().port == 9101
    # An explicit path replaces the env var's file entirely: nothing of it leaks in.
    settings = load_settings(config_path=explicit)
    assert (settings.port, settings.max_prompt_chars) == (9202, 6000)


def test_settings_alone_read_no_file(tmp_path: Path, clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("MJRELAY_CONFIG", str(_toml(tmp_path / "a.toml", "port = 9301\n")))
    assert Settings().port == 8080


def test_comma_separated_env_list_still_splits_with_a_file(
    tmp_path: Path, clean_env: pytest.MonkeyPatch
) -> None:
    config = _toml(tmp_path / "a.toml", 'cors_origins = ["https://file.example"]\n')
    clean_env.setenv("MJRELAY_CORS_ORIGINS", "https://a.example, https://b.example")
    assert load_settings(config_path=config).cors_origins == [
        "https://a.example",
        "https://b.example",
    ]


def test_unreadable_or_broken_files_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigFileError, match="cannot read config file"):
        load_settings(config_path=tmp_path / "missing.toml")
    broken = _toml(tmp_path / "broken.toml", "port = = 1\n")
    with pytest.raises(ConfigFileError, match="not valid TOML"):
        load_settings(config_path=broken)
