"""The ``mjrelay`` command: keys create/list/revoke, bad options, migrate, config files."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mjrelay.cli import app
from mjrelay.core.security import hash_api_key
from mjrelay.store.db import Database
from mjrelay.store.keys import KeyStore
from tests.support.server_process import cli, relay_env


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return relay_env(tmp_path / "data")


def run(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env=env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def authenticate(data_dir: Path, key: str) -> bool:
    async def check() -> bool:
        db = Database(f"sqlite+aiosqlite:///{data_dir / 'mjrelay.db'}")
        try:
            return await KeyStore(db).authenticate(key) is not None
        finally:
            await db.dispose()

    return asyncio.run(check())


def test_keys_create_list_revoke(env: dict[str, str], tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    code, out, _err = run(env, "keys", "create", "--name", "alice", "--quota", "12.50")
    assert code == 0
    key = out.strip().splitlines()[-1]
    assert key == key.strip() and " " not in key and len(key) >= 32
    assert authenticate(data_dir, key)
    # Only the hash is stored: the plaintext key is nowhere in the database file.
    with sqlite3.connect(data_dir / "mjrelay.db") as db:
        rows = db.execute("SELECT key_hash, prefix FROM api_keys").fetchall()
    assert rows[0][0] == hash_api_key(key) and key not in rows[0]
    assert key.encode() not in (data_dir / "mjrelay.db").read_bytes()

    code, out, _err = run(
        env, "keys", "create", "--name", "bob", "--tenant", "team", "--quota", "1234.5"
    )
    assert code == 0
    bob = out.strip().splitlines()[-1]

    code, listing, _err = run(env, "keys", "list")
    assert code == 0
    assert key not in listing and bob not in listing
    lines = listing.strip().splitlines()
    assert lines[0].split() == ["ID", "PREFIX", "TENANT", "NAME", "BALANCE", "STATUS"]
    alice_line = next(line for line in lines if " alice " in line)
    assert "12.5" in alice_line and alice_line.endswith("active")
    bob_line = next(line for line in lines if " bob " in line)
    assert " team " in bob_line and " 1234.5000 " in bob_line
    code, out, _err = run(env, "keys", "create", "--name", "carol")
    assert code == 0
    _code, listing, _err = run(env, "keys", "list")
    assert "unlimited" in next(line for line in listing.splitlines() if " carol " in line)
    prefix = alice_line.split()[1]
    assert key.startswith(prefix.rstrip("…"))

    code, out, _err = run(env, "keys", "revoke", prefix)
    assert code == 0 and "revoked 1" in out
    assert not authenticate(data_dir, key)
    assert authenticate(data_dir, bob)
    _code, listing, _err = run(env, "keys", "list")
    assert "revoked" in next(line for line in listing.splitlines() if " alice " in line)

    code, _out, err = run(env, "keys", "revoke", prefix)
    assert code == 1 and "no active key" in err
    bob_id = bob_line.split()[0]
    code, out, _err = run(env, "keys", "revoke", bob_id)
    assert code == 0 and not authenticate(data_dir, bob)


def test_bad_quota_is_a_clear_usage_error(env: dict[str, str]) -> None:
    result = cli(env, "keys", "create", "--name", "x", "--quota", "abc")
    assert result.returncode == 2
    assert "--quota" in result.stderr and "not a number" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stdout.strip() == ""
    # Nothing was created.
    listing = cli(env, "keys", "list")
    assert listing.returncode == 0 and len(listing.stdout.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "quota", ["-1", "NaN", "Infinity", "1e999999999", "100000000000000", "0.00001"]
)
def test_quota_must_be_a_finite_non_negative_number(env: dict[str, str], quota: str) -> None:
    code, out, err = run(env, "keys", "create", "--name", "x", "--quota", quota)
    assert code == 2
    assert "--quota" in err and out.strip() == ""


def test_missing_or_empty_name(env: dict[str, str]) -> None:
    for args in (["keys", "create"], ["keys", "create", "--name", "  "]):
        result = cli(env, *args)
        assert result.returncode == 2, args
        assert "--name" in result.stderr
        assert "Traceback" not in result.stderr


def test_invalid_settings_are_reported_without_a_traceback(tmp_path: Path) -> None:
    env = relay_env(tmp_path / "data", MJRELAY_TASK_TIMEOUT_SECONDS="soon")
    result = cli(env, "migrate")
    assert result.returncode == 2
    assert "invalid settings" in result.stderr and "task_timeout_seconds" in result.stderr
    assert "Traceback" not in result.stderr


def test_migrate_creates_the_schema(env: dict[str, str], tmp_path: Path) -> None:
    code, out, _err = run(env, "migrate")
    assert code == 0 and "up to date" in out
    with sqlite3.connect(tmp_path / "data" / "mjrelay.db") as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        version = db.execute("SELECT version_num FROM alembic_version").fetchone()
        journal = db.execute("PRAGMA journal_mode").fetchone()[0]
    assert {"tasks", "api_keys", "tenants"} <= tables
    assert version is not None
    assert journal == "wal"
    # Idempotent.
    code, out, _err = run(env, "migrate")
    assert code == 0 and "up to date" in out


def test_config_file(tmp_path: Path) -> None:
    config = tmp_path / "relay.toml"
    config.write_text(f'data_dir = "{tmp_path / "from-toml"}"\n')
    env = relay_env(tmp_path / "ignored")
    del env["MJRELAY_DATA_DIR"]
    result = cli(env, "keys", "create", "--name", "toml", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "from-toml" / "mjrelay.db").is_file()
    # The environment wins over the file.
    env["MJRELAY_DATA_DIR"] = str(tmp_path / "from-env")
    result = cli(env, "migrate", "--config", str(config))
    assert result.returncode == 0
    assert (tmp_path / "from-env" / "mjrelay.db").is_file()
    missing = cli(env, "migrate", "--config", str(tmp_path / "nope.toml"))
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
