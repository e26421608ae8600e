"""The CLI key commands go through the admin service: balances, ledger and audit included."""

from __future__ import annotations

import asyncio
from pathlib import Path

from typer.testing import CliRunner

from mjrelay.cli import app
from mjrelay.core.settings import Settings
from mjrelay.store.db import Database
from mjrelay.wiring import build_admin


def _run(args: list[str], data_dir: Path) -> str:
    result = CliRunner().invoke(app, args, env={"MJRELAY_DATA_DIR": str(data_dir)})
    assert result.exit_code == 0, result.output
    return result.output


def _admin_view(data_dir: Path) -> tuple[list[str | None], list[tuple[str, str]], list[str]]:
    async def read() -> tuple[list[str | None], list[tuple[str, str]], list[str]]:
        settings = Settings(data_dir=data_dir)
        db = Database(settings.resolved_database_url)
        try:
            admin = build_admin(db, settings)
            keys = await admin.keys()
            balances = [None if k.balance_units is None else str(k.balance_units) for k in keys]
            audit = [(e.actor, e.action) for e in await admin.audit()]
            kinds = [e.kind for e in await admin.ledger(keys[0].info.id)]
            return balances, audit, kinds
        finally:
            await db.dispose()

    return asyncio.run(read())


def test_keys_create_with_quota_sets_the_balance(tmp_path: Path) -> None:
    data = tmp_path / "data"
    output = _run(["keys", "create", "--name", "shop", "--quota", "2.5"], data)
    assert "balance 2.5" in output
    assert output.strip().splitlines()[-1].startswith("mjr_")
    _run(["keys", "create", "--name", "free"], data)
    listing = _run(["keys", "list"], data)
    assert "2.5000" in listing and "unlimited" in listing
    balances, audit, kinds = _admin_view(data)
    assert balances == ["25000", None]
    assert audit == [("cli", "key.create"), ("cli", "key.create")]
    assert kinds == ["topup"]
    assert "revoked 1 key(s)" in _run(["keys", "revoke", "1"], data)
    _balances, audit, _kinds = _admin_view(data)
    assert audit[0] == ("cli", "key.revoke")


def test_keys_create_refuses_a_bad_quota(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["keys", "create", "--name", "x", "--quota", "-1"],
        env={"MJRELAY_DATA_DIR": str(tmp_path)},
    )
    assert result.exit_code == 2
    assert "non-negative" in result.output
