"""Migration 0002 on both databases: keys that had a quota start with it as their balance."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import text
from tests.support.operator import BACKENDS, database_url

from mjrelay.store.db import Database
from mjrelay.store.migrate import upgrade


@pytest.mark.parametrize("backend", BACKENDS)
async def test_quota_becomes_the_balance(backend: str, tmp_path: Path) -> None:
    async with database_url(backend, tmp_path) as url:
        await asyncio.to_thread(upgrade, url, "0001")
        db = Database(url)
        try:
            async with db.engine.begin() as connection:
                await connection.execute(
                    text("INSERT INTO tenants (id, name, created_ms) VALUES (1, 't', 0)")
                )
                for key_id, quota in ((1, "2.5"), (2, None)):
                    await connection.execute(
                        text(
                            "INSERT INTO api_keys (id, tenant_id, name, prefix, key_hash, quota, "
                            "created_ms) VALUES (:id, 1, 'k', 'mjr_x', :hash, :quota, 0)"
                        ),
                        {"id": key_id, "hash": f"h{key_id}", "quota": quota},
                    )
            await db.migrate()
            async with db.engine.connect() as connection:
                rows = await connection.execute(
                    text("SELECT id, balance_units FROM api_keys ORDER BY id")
                )
                assert [tuple(row) for row in rows] == [(1, 25000), (2, None)]
        finally:
            await db.dispose()
