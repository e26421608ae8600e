"""Where the relay keeps its state: the data dir and the database."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field


class StorageSettings(BaseModel):
    """Top-level keys ``data_dir`` and ``database_url``."""

    data_dir: Path = Field(
        Path("./data"),
        description="Directory for the SQLite database, local images and the initial API key "
        "file. Created when missing.",
    )
    database_url: str = Field(
        "",
        description="SQLAlchemy async URL, e.g. postgresql+asyncpg://user@host/db. Empty: SQLite "
        "in the data dir (one instance only; use PostgreSQL to run several).",
    )

    @property
    def resolved_database_url(self) -> str:
        """The database actually used: ``database_url`` or the SQLite file in the data dir."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'mjrelay.db').resolve()}"

    @property
    def images_dir(self) -> Path:
        """Where the local media backend keeps relay-hosted images."""
        return self.data_dir / "images"
