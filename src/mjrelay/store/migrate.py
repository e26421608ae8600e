"""Programmatic Alembic: ``mjrelay migrate`` and ``serve`` both call ``upgrade``."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["configure_logger"] = False
    return config


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def head_revisions() -> frozenset[str]:
    """The newest revision(s) this code ships: what a current database is stamped with."""
    return frozenset(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())
