"""The CLI passes ``--config`` explicitly, audits channel switches, and imports without a cycle."""

from __future__ import annotations

import ast
import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mjrelay.cli import app
from mjrelay.store.audit import AuditEntry, AuditStore
from mjrelay.store.db import Database


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MJRELAY_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("MJRELAY_CONFIG", raising=False)
    return tmp_path / "data"


def audit_rows(data_dir: Path) -> list[AuditEntry]:
    async def read() -> list[AuditEntry]:
        db = Database(f"sqlite+aiosqlite:///{(data_dir / 'mjrelay.db').resolve()}")
        try:
            return await AuditStore(db).list()
        finally:
            await db.dispose()

    return asyncio.run(read())


def test_channel_switches_from_the_cli_are_audited(data_dir: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["channels", "disable", "sandbox"]).exit_code == 0
    assert runner.invoke(app, ["channels", "enable", "sandbox"]).exit_code == 0
    missing = runner.invoke(app, ["channels", "disable", "nope"])
    assert missing.exit_code == 1
    rows = sorted(audit_rows(data_dir), key=lambda entry: entry.id)
    # Unknown channels change nothing, so they leave no row.
    assert [(r.actor, r.action, r.target, r.details) for r in rows] == [
        ("cli", "channel.disable", "channel:sandbox", {}),
        ("cli", "channel.enable", "channel:sandbox", {}),
    ]


def test_config_option_is_read_without_setting_the_environment(
    data_dir: Path, tmp_path: Path
) -> None:
    config = tmp_path / "relay.toml"
    config.write_text('[[channels]]\nname = "from-file"\nengine = "sandbox"\n')
    listing = CliRunner().invoke(app, ["channels", "list", "--config", str(config)])
    assert listing.exit_code == 0, listing.output
    assert "from-file" in listing.output
    assert "MJRELAY_CONFIG" not in os.environ


def test_env_var_still_names_the_config_file(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "relay.toml"
    config.write_text('[[channels]]\nname = "via-env"\nengine = "sandbox"\n')
    monkeypatch.setenv("MJRELAY_CONFIG", str(config))
    listing = CliRunner().invoke(app, ["channels", "list"])
    assert listing.exit_code == 0, listing.output
    assert "via-env" in listing.output


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("port = = 1\n", "not valid TOML"),
        ('port = "not a port"\n', "port"),
        ('[[channels]]\nname = "a"\nengine = "sandbox"\n' * 2, "duplicate channel name"),
    ],
)
def test_bad_config_files_exit_2_with_the_problem(
    data_dir: Path, tmp_path: Path, text: str, message: str
) -> None:
    config = tmp_path / "relay.toml"
    config.write_text(text)
    result = CliRunner().invoke(app, ["migrate", "--config", str(config)])
    assert result.exit_code == 2
    assert "error: invalid settings" in result.stderr and message in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize("module", ["mjrelay.cli.channels", "mjrelay.cli.keys", "mjrelay.cli"])
def test_each_cli_module_imports_first_on_its_own(module: str) -> None:
    # A fresh interpreter: an import cycle would only show when a sub-module is imported first.
    src = str(Path(__file__).resolve().parents[2] / "src")
    env = {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}
    done = subprocess.run(
        [sys.executable, "-c", f"import {module}"], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr


def test_cli_sub_modules_never_import_the_app_module() -> None:
    # The typer app (cli.main) imports the command groups; were they to import it back, even
    # late inside a function, the cycle would return.
    package = Path(__file__).resolve().parents[2] / "src" / "mjrelay" / "cli"
    for module in ("common.py", "keys.py", "channels.py"):
        tree = ast.parse((package / module).read_text())
        imported = {
            f"{node.module}.{alias.name}" if node.module else alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom)
            for alias in node.names
        } | {
            alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.Import)
            for alias in node.names
        }
        back = sorted(
            name
            for name in imported
            if name in {"mjrelay.cli", "mjrelay.cli.app", "mjrelay.cli.main"}
            or name.startswith("mjrelay.cli.main.")
        )
        assert back == [], module
