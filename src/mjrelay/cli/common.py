"""What every ``mjrelay`` sub-command shares: the ``--config`` option, settings, the database."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from pydantic import ValidationError
from pydantic_settings import SettingsError

from mjrelay.core.settings import ConfigFileError, Settings, load_settings
from mjrelay.store.db import Database

# Written to the audit log as the actor of changes made from the command line.
CLI_ACTOR = "cli"

T = TypeVar("T")

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help="TOML settings file (env MJRELAY_* still wins; default: $MJRELAY_CONFIG).",
        exists=True,
        dir_okay=False,
    ),
]


def cli_settings(config: Path | None) -> Settings:
    """Settings for a command, or exit 2 with the problem on one line (no traceback)."""
    try:
        return load_settings(config_path=config)
    except (ConfigFileError, SettingsError, ValidationError) as exc:
        typer.echo(f"error: invalid settings: {exc}", err=True)
        raise typer.Exit(2) from exc


def run_with_db(settings: Settings, work: Callable[[Database], Awaitable[T]]) -> T:
    """Run ``work`` against the migrated database, then close it (one event loop per command)."""

    async def run() -> T:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        db = Database(settings.resolved_database_url)
        try:
            await db.migrate()
            return await work(db)
        finally:
            await db.dispose()

    return asyncio.run(run())
