"""``/readyz``: ready only with a reachable database at this version's schema, and not draining."""

from __future__ import annotations

from pathlib import Path

import httpx
from sqlalchemy import text
from tests.support.live import running_relay
from tests.support.settings import fast_settings

from mjrelay.store.db import Database


async def test_ready_then_not_ready_once_the_relay_drains(tmp_path: Path) -> None:
    settings = fast_settings(tmp_path / "data")
    async with running_relay(settings) as live, httpx.AsyncClient(base_url=live.base_url) as http:
        answer = await http.get("/readyz")  # a probe carries no key
        assert answer.status_code == 200 and answer.json() == {"status": "ready"}
        live.relay.health.drain()  # what stopping does first
        answer = await http.get("/readyz")
        assert answer.status_code == 503
        assert answer.json()["description"] == "draining: this instance is shutting down"
        # Liveness is another question: a draining instance is still alive.
        assert (await http.get("/healthz")).status_code == 200


async def test_not_ready_on_a_schema_older_than_the_code(tmp_path: Path) -> None:
    settings = fast_settings(tmp_path / "data")
    async with running_relay(settings) as live, httpx.AsyncClient(base_url=live.base_url) as http:
        assert (await http.get("/readyz")).status_code == 200
        database = Database(settings.resolved_database_url)
        try:
            async with database.engine.begin() as connection:
                await connection.execute(text("UPDATE alembic_version SET version_num = '0001'"))
        finally:
            await database.dispose()
        answer = await http.get("/readyz")
        assert answer.status_code == 503
        assert "run mjrelay migrate" in answer.json()["description"]
        declared = (await http.get("/openapi.json")).json()["paths"]["/readyz"]["get"]
        assert "503" in declared["responses"]
