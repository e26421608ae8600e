"""Point reads from the SQLite file on the event loop thread, without a worker-thread round trip.

With aiosqlite every statement is a hand-off to the connection's worker thread and back (queue,
thread wake-up, ``call_soon_threadsafe``), and a pooled SQLAlchemy read makes several of them.
A primary-key lookup of one row takes SQLite a few microseconds, far less than one hand-off, so
for those lookups it is cheaper to ask SQLite directly. This is safe to do on the loop because
the database runs in WAL mode: readers never wait for writers. The one case in which a reader
could wait (WAL recovery after a crash) is bounded by a short busy timeout, after which the
caller falls back to its pooled connection, as it does for every other SQLite error.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

BUSY_TIMEOUT_SECONDS = 0.05
CACHE_KIB = 32 * 1024


class SqliteReader:
    """One lazily opened, query-only connection to the database file.

    Every query runs to completion (``fetchall``), so no read transaction stays open between
    calls: each query sees everything committed before it, like a fresh pooled connection.
    """

    def __init__(self, path: str) -> None:
        self._path = path
        self._connection: sqlite3.Connection | None = None

    def rows(self, sql: str, parameters: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        """The rows of a read-only query; raises ``sqlite3.Error`` (then use the pool)."""
        connection = self._connection or self._open()
        try:
            return connection.execute(sql, parameters).fetchall()
        except sqlite3.Error:
            self.close()  # a broken or busy connection is reopened on the next call
            raise

    def _open(self) -> sqlite3.Connection:
        # mode=rw: never create the file; it exists once the schema has been migrated.
        connection = sqlite3.connect(
            f"{Path(self._path).resolve().as_uri()}?mode=rw",
            uri=True,
            timeout=BUSY_TIMEOUT_SECONDS,
            isolation_level=None,
            check_same_thread=False,
        )
        connection.execute("PRAGMA query_only=ON")
        # Room for the id index and the table's interior pages of about a million tasks, so a
        # lookup reads little more than the row's own page from the file (measured with 100k
        # tasks: 0.9 file reads per lookup instead of 2.4 with SQLite's default 2 MiB).
        connection.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
        self._connection = connection
        return connection

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
