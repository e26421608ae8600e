"""The ``mjrelay`` command: serve, keys, migrate (+ imagine, action, fetch, ls)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from mjrelay.cli_channels import channels_app
from mjrelay.cli_options import ConfigOption
from mjrelay.client.cli import register as register_user_commands
from mjrelay.core.errors import RelayError
from mjrelay.core.money import show
from mjrelay.core.settings import Settings
from mjrelay.store.db import Database
from mjrelay.store.keys import KeyAccount, KeyStore

CLI_ACTOR = "cli"

app = typer.Typer(help="mjrelay: a Midjourney-compatible /mj relay.", no_args_is_help=True)
keys_app = typer.Typer(help="Manage API keys (only their hashes are stored).", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
register_user_commands(app)
app.add_typer(channels_app, name="channels")

T = TypeVar("T")
QUOTA_LIMIT = Decimal(10) ** 14


def _settings(config: Path | None) -> Settings:
    if config is not None:
        os.environ["MJRELAY_CONFIG"] = str(config)
    try:
        return Settings()
    except Exception as exc:  # pydantic errors: show them without a traceback
        typer.echo(f"error: invalid settings: {exc}", err=True)
        raise typer.Exit(2) from exc


def _with_db(settings: Settings, work: Callable[[Database], Awaitable[T]]) -> T:
    async def run() -> T:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        db = Database(settings.resolved_database_url)
        try:
            await db.migrate()
            return await work(db)
        finally:
            await db.dispose()

    return asyncio.run(run())


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="TCP port.")] = None,
    config: ConfigOption = None,
) -> None:
    """Run the relay (SQLite + sandbox engine unless configured otherwise)."""
    import uvicorn

    from mjrelay.api.app import create_app
    from mjrelay.core.logging import configure_logging
    from mjrelay.wiring import Relay, build_admin

    settings = _settings(config)
    configure_logging(settings.log_level, json=settings.log_json)
    listen_host = host or settings.host
    listen_port = port if port is not None else settings.port

    if settings.create_initial_key:

        async def first_key(db: Database) -> str | None:
            store = KeyStore(db)
            if await store.count_active() > 0:
                return None
            key, _info = await build_admin(db, settings).create_key("default", actor="serve")
            return key

        key = _with_db(settings, first_key)
        if key is not None:
            key_file = settings.data_dir / "initial-api-key.txt"
            key_file.write_text(key + "\n")
            key_file.chmod(0o600)
            typer.echo(
                "\nNo API key existed, so one was created (stored hashed; shown only now and "
                f"saved to {key_file}):\n\n    {key}\n\n"
                f"Try: curl -H 'Authorization: Bearer {key}' -H 'Content-Type: application/json' "
                f'-d \'{{"prompt": "a lighthouse at dusk"}}\' '
                f"http://{listen_host}:{listen_port}/mj/submit/imagine\n",
                err=True,
            )

    relay = Relay.build(settings)
    uvicorn.run(
        create_app(relay),
        host=listen_host,
        port=listen_port,
        log_level=settings.log_level.lower(),
        access_log=False,
        server_header=False,
    )


@app.command()
def migrate(config: ConfigOption = None) -> None:
    """Bring the database schema up to date."""
    settings = _settings(config)

    async def nothing(_db: Database) -> None:
        return None

    _with_db(settings, nothing)
    typer.echo("database is up to date")


def _quota(value: str | None) -> Decimal | None:
    if value is None:
        return None
    try:
        amount = Decimal(value)
    except InvalidOperation as exc:
        raise typer.BadParameter(f"not a number: {value!r}", param_hint="--quota") from exc
    if not amount.is_finite() or amount < 0:
        raise typer.BadParameter("must be a non-negative number", param_hint="--quota")
    # The column is NUMERIC(18, 4): larger or finer amounts would overflow or be rounded.
    if amount >= QUOTA_LIMIT:
        raise typer.BadParameter(f"must be less than {QUOTA_LIMIT}", param_hint="--quota")
    if amount != amount.quantize(Decimal("0.0001")):
        raise typer.BadParameter("at most 4 decimal places", param_hint="--quota")
    return amount


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Option("--name", help="A label for the key.")],
    quota: Annotated[str | None, typer.Option(help="Starting balance; none = unlimited.")] = None,
    tenant: Annotated[
        str | None, typer.Option(help="Tenant to add the key to (default: name).")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Create a key; the key itself is printed alone on the last line, once."""
    amount = _quota(quota)
    if not name.strip():
        raise typer.BadParameter("must not be empty", param_hint="--name")
    settings = _settings(config)

    async def create(db: Database) -> str:
        from mjrelay.wiring import build_admin  # late: the CLI starts fast

        try:
            key, info = await build_admin(db, settings).create_key(
                name.strip(), actor=CLI_ACTOR, tenant=tenant, balance=amount
            )
        except RelayError as exc:
            typer.echo(f"error: {exc.description}", err=True)
            raise typer.Exit(1) from exc
        balance = "unlimited" if amount is None else f"balance {amount}"
        typer.echo(
            f"created key {info.id} ({info.prefix}…) for tenant {info.tenant_name!r}, {balance}"
        )
        return key

    typer.echo(_with_db(settings, create))


@keys_app.command("list")
def keys_list(config: ConfigOption = None) -> None:
    """List keys (prefixes only)."""
    settings = _settings(config)

    async def listing(db: Database) -> list[KeyAccount]:
        from mjrelay.wiring import build_admin  # late: the CLI starts fast

        return await build_admin(db, settings).keys()

    rows = _with_db(settings, listing)
    typer.echo(f"{'ID':>4}  {'PREFIX':<12} {'TENANT':<20} {'NAME':<20} {'BALANCE':>12}  STATUS")
    for account in rows:
        info = account.info
        status = "revoked " + _when(info.revoked_ms) if info.revoked_ms else "active"
        balance = show(account.balance_units) or "unlimited"
        typer.echo(
            f"{info.id:>4}  {info.prefix:<12} {info.tenant_name[:20]:<20} {info.name[:20]:<20} "
            f"{balance:>12}  {status}"
        )


@keys_app.command("revoke")
def keys_revoke(
    key: Annotated[str, typer.Argument(help="Key id or its displayed prefix.")],
    config: ConfigOption = None,
) -> None:
    """Revoke a key (takes effect within a few seconds on running servers)."""
    settings = _settings(config)

    async def revoke(db: Database) -> int:
        from mjrelay.wiring import build_admin  # late: the CLI starts fast

        return await build_admin(db, settings).revoke_key(key, actor=CLI_ACTOR)

    count = _with_db(settings, revoke)
    if count == 0:
        typer.echo(f"error: no active key matches {key!r}", err=True)
        raise typer.Exit(1)
    typer.echo(f"revoked {count} key(s)")


def _when(ms: int | None) -> str:
    return "" if ms is None else datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M")


def main() -> None:
    app(prog_name="mjrelay")


if __name__ == "__main__":
    main()
