"""The operator's settings page is generated from the code and must not drift from it."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from mjrelay.cli import app
from mjrelay.core.settings import Settings
from mjrelay.core.settings.reference import settings_reference

DOCS_PAGE = Path(__file__).resolve().parents[2] / "docs" / "settings.md"


def test_docs_settings_page_is_the_generated_reference() -> None:
    # Regenerate with: ./dev.sh mjrelay settings > docs/settings.md
    assert DOCS_PAGE.read_text() == settings_reference()


def test_every_key_and_its_environment_variable_are_listed() -> None:
    page = settings_reference()
    for name, info in Settings.model_fields.items():
        assert f"`{name}`" in page or f"## `[{name}]`" in page
        model = info.annotation
        if isinstance(model, type) and hasattr(model, "model_fields"):
            for sub in model.model_fields:
                assert f"`MJRELAY_{name.upper()}__{sub.upper()}`" in page
    assert "`MJRELAY_TASK_TIMEOUT_SECONDS`" in page
    assert "`MJRELAY_SANDBOX__JOB_SECONDS`" in page


def test_secrets_are_never_printed() -> None:
    page = settings_reference()
    assert "(secret, empty)" in page  # the admin token's row, without a value


def test_cli_prints_the_reference() -> None:
    result = CliRunner().invoke(app, ["settings"])
    assert result.exit_code == 0, result.output
    assert result.output == settings_reference()
