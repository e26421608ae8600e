"""``mjrelay channels list|add|disable|enable``: manage channels in the database.

Running servers pick changes up within ``channel_refresh_seconds``. Options are never printed:
they hold upstream secrets and hosts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from mjrelay.cli.common import CLI_ACTOR, ConfigOption, cli_settings, run_with_db
from mjrelay.core.errors import NotFound
from mjrelay.core.settings.channels import ChannelConfig
from mjrelay.domain.channel import ChannelSpec
from mjrelay.engines.builtin import validate_channel
from mjrelay.engines.kinds import ChannelConfigError
from mjrelay.services.channels.admin import channel_status
from mjrelay.services.channels.manager import declared_channels
from mjrelay.store.channels import ChannelExists, ChannelStore
from mjrelay.store.db import Database

channels_app = typer.Typer(
    help="Manage channels (where jobs run); servers pick changes up within seconds.",
    no_args_is_help=True,
)


def _option_value(raw: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def _options(pairs: list[str]) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"expected key=value, got {pair!r}", param_hint="--option")
        options[key.strip()] = _option_value(value)
    return options


@channels_app.command("list")
def channels_list(config: ConfigOption = None) -> None:
    """List channels: the config file's (synced first) and those added here."""
    settings = cli_settings(config)
    declared = declared_channels(settings)
    names = {spec.name for spec in declared}

    async def listing(db: Database) -> list[tuple[ChannelSpec, dict[str, Any]]]:
        store = ChannelStore(db)
        await store.sync_declared(declared)
        return [(spec, await store.get_state(spec.name)) for spec in await store.all()]

    rows = run_with_db(settings, listing)
    typer.echo(
        f"{'NAME':<20} {'ENGINE':<10} {'STATUS':<9} {'PRIO':>5} {'WEIGHT':>6} "
        f"{'MAXCONC':>7}  {'MODES':<17} SOURCE"
    )
    for spec, state in rows:
        # Engines record why they stopped taking jobs (e.g. a revoked Discord token).
        dead = str(state.get("disabled_reason") or "")
        status = channel_status(spec, dead, names)
        typer.echo(
            f"{spec.name[:20]:<20} {spec.engine[:10]:<10} {status:<9} {spec.priority:>5} "
            f"{spec.weight:>6} {spec.max_concurrency or '-':>7}  "
            f"{','.join(sorted(spec.modes)):<17} {spec.source}"
        )
        if dead:
            typer.echo(f"    reason: {dead}")


@channels_app.command("add")
def channels_add(
    name: Annotated[str, typer.Argument(help="Unique channel name.")],
    engine: Annotated[str, typer.Option("--engine", help="sandbox, upstream, ...")],
    option: Annotated[
        list[str] | None,
        typer.Option("--option", "-o", help="Engine option key=value (repeatable)."),
    ] = None,
    priority: Annotated[int, typer.Option(help="Higher is tried first.")] = 0,
    weight: Annotated[int, typer.Option(help="Share among equal priorities.")] = 1,
    mode: Annotated[
        list[str] | None,
        typer.Option("--mode", help="fast, relax, turbo (repeatable; default all)."),
    ] = None,
    max_concurrency: Annotated[int, typer.Option(help="0 = no limit.")] = 0,
    disabled: Annotated[bool, typer.Option("--disabled", help="Add it switched off.")] = False,
    config: ConfigOption = None,
) -> None:
    """Add a channel (options are validated by its engine before anything is stored)."""
    values: dict[str, Any] = {
        "name": name,
        "engine": engine,
        "priority": priority,
        "weight": weight,
        "max_concurrency": max_concurrency,
        "enabled": not disabled,
        "options": _options(option or []),
    }
    if mode:
        values["modes"] = mode
    try:
        spec = ChannelSpec.from_config(ChannelConfig.model_validate(values), source="cli")
        validate_channel(spec)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        typer.echo(f"error: {problems}", err=True)
        raise typer.Exit(2) from None
    except ChannelConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    settings = cli_settings(config)
    if name in {spec.name for spec in declared_channels(settings)}:
        typer.echo(f"error: channel {name!r} is declared in the config file", err=True)
        raise typer.Exit(1)

    async def add(db: Database) -> None:
        await ChannelStore(db).add(spec)

    try:
        run_with_db(settings, add)
    except ChannelExists:
        typer.echo(f"error: a channel named {name!r} already exists", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"added channel {name} ({engine})")


def _switch(name: str, paused: bool, config: Path | None) -> None:
    settings = cli_settings(config)

    async def switch(db: Database) -> ChannelSpec | None:
        from mjrelay.wiring import build_channel_admin  # late: the CLI starts fast

        try:
            return await build_channel_admin(db, settings).switch(
                name, paused=paused, actor=CLI_ACTOR
            )
        except NotFound:
            return None

    spec = run_with_db(settings, switch)
    if spec is None:
        typer.echo(f"error: no channel named {name!r}", err=True)
        raise typer.Exit(1)
    if not paused and not spec.enabled:
        typer.echo(
            f"channel {name} un-paused, but it is disabled in the config file "
            "(enabled = false): change it there",
            err=True,
        )
        return
    typer.echo(f"channel {name} {'disabled' if paused else 'enabled'}")


@channels_app.command("disable")
def channels_disable(name: str, config: ConfigOption = None) -> None:
    """Stop sending new jobs to a channel (its running jobs still finish)."""
    _switch(name, True, config)


@channels_app.command("enable")
def channels_enable(name: str, config: ConfigOption = None) -> None:
    """Send new jobs to a channel again."""
    _switch(name, False, config)
