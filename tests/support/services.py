"""The services' object graph for unit tests, built in one place.

Tests of ``TaskService``, ``TaskLifecycle`` and ``Operator`` get them from here, so a change of
constructor signatures (stores passed explicitly, engines as an abstract base class) is adapted
in this module only. The graph is the real one from ``Relay.build`` on a SQLite file in the
test's temp dir, with scripted engines and no HTTP server.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from mjrelay.core.settings import Settings
from mjrelay.domain.record import TaskRecord
from mjrelay.services.operator.ratelimit import Limiter, MemoryLimiter
from mjrelay.services.tasks.service import Common, TaskService
from mjrelay.store.db import Database
from mjrelay.store.keys import KeyInfo
from mjrelay.wiring import Relay
from tests.support.fakes import ScriptedEngine
from tests.support.settings import fast_settings


@dataclass
class Services:
    """A started relay's services (no HTTP) and the scripted engine behind them."""

    relay: Relay
    engine: ScriptedEngine
    # Two tenants with an unlimited key each (tasks reference their tenant in the database).
    alice: KeyInfo
    bob: KeyInfo

    @property
    def tasks(self) -> TaskService:
        return self.relay.tasks

    async def key(self, name: str, *, quota: Decimal | None = None) -> KeyInfo:
        """A new API key (and tenant of the same name); ``quota`` makes it a limited key."""
        _plain, info = await self.relay.keys.create(name, quota=quota)
        if quota is not None:
            await self.relay.ops.ledger.opening(info.id, info.tenant_id, int(quota * 10_000))
        return info

    async def record(self, task_id: str) -> TaskRecord | None:
        return await self.relay.lifecycle.store.get(task_id)


def common_for(key: KeyInfo, **fields: str) -> Common:
    """The ``Common`` a submit by ``key`` carries (as the HTTP layer would build it)."""
    return Common(key_id=key.id, **fields)


_migrated_template: Path | None = None


async def _migrated_database() -> Path:
    """A SQLite file with the schema applied, made once per test run.

    Running the migrations costs most of a unit test's time, so each test starts from a copy.
    """
    global _migrated_template
    if _migrated_template is None:
        folder = Path(tempfile.mkdtemp(prefix="mjrelay-schema-"))
        atexit.register(shutil.rmtree, folder, True)
        path = folder / "mjrelay.db"
        database = Database(f"sqlite+aiosqlite:///{path}")
        await database.migrate()
        await database.dispose()
        _migrated_template = path
    return _migrated_template


@asynccontextmanager
async def running_services(
    tmp_path: Path,
    *,
    engine: ScriptedEngine | None = None,
    limiter: Limiter | None = None,
    **overrides: object,
) -> AsyncIterator[Services]:
    """Build and start the services on a fresh SQLite database; stop them afterwards."""
    settings: Settings = fast_settings(tmp_path / "data", **overrides)
    scripted = engine or ScriptedEngine()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(await _migrated_database(), settings.data_dir / "mjrelay.db")
    relay = Relay.build(settings, engines=[scripted], limiter=limiter or MemoryLimiter())
    await relay.start(migrate=False)
    try:
        _key, alice = await relay.keys.create("alice")
        _key, bob = await relay.keys.create("bob")
        yield Services(relay, scripted, alice, bob)
    finally:
        await relay.stop()
