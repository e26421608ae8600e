"""``[[channels]]`` in the TOML config: shared fields typed, engine fields kept as options."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from mjrelay.core.settings import Settings, load_settings

CONFIG = """
[[channels]]
name = "up-1"
engine = "upstream"
base_url = "https://relay.example"
secret = "s3cret"
auth = "bearer"
priority = 10
weight = 3
modes = ["fast", "turbo"]
max_concurrency = 20

[[channels]]
name = "local"
engine = "sandbox"
enabled = false
[channels.options]
job_seconds = 0.5
"""


def load(tmp_path: Path, text: str, monkeypatch: pytest.MonkeyPatch) -> Settings:
    path = tmp_path / "mjrelay.toml"
    path.write_text(text)
    monkeypatch.setenv("MJRELAY_CONFIG", str(path))
    return load_settings()


def test_channels_from_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load(tmp_path, CONFIG, monkeypatch)
    upstream, local = settings.channels
    assert (upstream.name, upstream.engine, upstream.priority, upstream.weight) == (
        "up-1",
        "upstream",
        10,
        3,
    )
    assert upstream.modes == ["fast", "turbo"]
    assert upstream.max_concurrency == 20
    assert upstream.engine_options() == {
        "base_url": "https://relay.example",
        "secret": "s3cret",
        "auth": "bearer",
    }
    assert local.enabled is False
    assert local.modes == ["fast", "relax", "turbo"]
    assert local.engine_options() == {"job_seconds": 0.5}


@pytest.mark.parametrize(
    ("text", "field"),
    [
        (
            '[[channels]]\nname="a"\nengine="sandbox"\n[[channels]]\nname="a"\nengine="sandbox"\n',
            "duplicate channel name",
        ),
        ('[[channels]]\nname="bad name"\nengine="sandbox"\n', "name"),
        ('[[channels]]\nname="a"\nengine="sandbox"\nmodes=["warp"]\n', "modes"),
        ('[[channels]]\nname="a"\nengine="sandbox"\nweight=-1\n', "weight"),
    ],
)
def test_bad_channels_are_refused_with_the_field_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, field: str
) -> None:
    with pytest.raises(ValidationError, match=field):
        load(tmp_path, text, monkeypatch)
