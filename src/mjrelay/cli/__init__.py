"""The ``mjrelay`` command line (console script ``mjrelay = mjrelay.cli:main``).

``main`` holds the typer app and the server commands; ``keys`` and ``channels`` their groups;
``common`` what they share. Nothing here imports back from ``main``, so there is no cycle.
"""

from mjrelay.cli.main import app, main

__all__ = ["app", "main"]
