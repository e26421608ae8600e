"""``mjrelay keys create|list|revoke``: API keys (only their hashes are stored)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated

import typer

from mjrelay.cli.common import CLI_ACTOR, ConfigOption, cli_settings, run_with_db
from mjrelay.core.errors import RelayError
from mjrelay.core.money import show
from mjrelay.store.db import Database
from mjrelay.store.keys import KeyAccount

keys_app = typer.Typer(help="Manage API keys (only their hashes are stored).", no_args_is_help=True)

QUOTA_LIMIT = Decimal(10) ** 14


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
    settings = cli_settings(config)

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

    typer.echo(run_with_db(settings, create))


@keys_app.command("list")
def keys_list(config: ConfigOption = None) -> None:
    """List keys (prefixes only)."""
    settings = cli_settings(config)

    async def listing(db: Database) -> list[KeyAccount]:
        from mjrelay.wiring import build_admin  # late: the CLI starts fast

        return await build_admin(db, settings).keys()

    rows = run_with_db(settings, listing)
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
    settings = cli_settings(config)

    async def revoke(db: Database) -> int:
        from mjrelay.wiring import build_admin  # late: the CLI starts fast

        return await build_admin(db, settings).revoke_key(key, actor=CLI_ACTOR)

    count = run_with_db(settings, revoke)
    if count == 0:
        typer.echo(f"error: no active key matches {key!r}", err=True)
        raise typer.Exit(1)
    typer.echo(f"revoked {count} key(s)")


def _when(ms: int | None) -> str:
    return "" if ms is None else datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M")
