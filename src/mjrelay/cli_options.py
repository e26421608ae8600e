"""Options shared by every ``mjrelay`` sub-command module."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help="TOML settings file (env MJRELAY_* still wins).",
        exists=True,
        dir_okay=False,
    ),
]
