"""KeyStore: only hashes stored, revocation, tenants."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from mjrelay.core.security import hash_api_key
from mjrelay.store.db import Database
from mjrelay.store.keys import KeyStore
from mjrelay.store.models import ApiKeyRow


async def test_create_authenticate_revoke(db: Database) -> None:
    keys = KeyStore(db)
    key, info = await keys.create("alice", quota=Decimal("2.5"))
    assert key.startswith("mjr_") and len(key) > 40
    principal = await keys.authenticate(key)
    assert principal is not None and principal.tenant_id == info.tenant_id
    assert await keys.authenticate(key + "x") is None

    async with db.sessions() as session:
        stored = (await session.scalars(select(ApiKeyRow))).all()
    assert [row.key_hash for row in stored] == [hash_api_key(key)]
    assert all(key not in (row.prefix, row.key_hash) for row in stored)

    listed = await keys.list()
    assert [(k.name, k.quota) for k in listed] == [("alice", Decimal("2.5"))]

    assert await keys.revoke(info.prefix) == 1
    assert await keys.authenticate(key) is None
    assert await keys.revoke(str(info.id)) == 0
    assert await keys.count_active() == 0


async def test_keys_share_a_named_tenant(db: Database) -> None:
    keys = KeyStore(db)
    _k1, first = await keys.create("ci", tenant="team")
    _k2, second = await keys.create("laptop", tenant="team")
    _k3, other = await keys.create("else")
    assert first.tenant_id == second.tenant_id != other.tenant_id
