"""The ``mjrelay`` command: serve, keys, migrate (+ imagine, action, fetch, ls)."""

from __future__ import annotations

from typing import Annotated

import typer

from mjrelay.cli.channels import channels_app
from mjrelay.cli.common import ConfigOption, cli_settings, run_with_db
from mjrelay.cli.keys import keys_app
from mjrelay.client.cli import register as register_user_commands
from mjrelay.store.db import Database
from mjrelay.store.keys import KeyStore

app = typer.Typer(help="mjrelay: a Midjourney-compatible /mj relay.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
register_user_commands(app)
app.add_typer(channels_app, name="channels")


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

    settings = cli_settings(config)
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

        key = run_with_db(settings, first_key)
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
    settings = cli_settings(config)

    async def nothing(_db: Database) -> None:
        return None

    run_with_db(settings, nothing)
    typer.echo("database is up to date")


@app.command("settings")
def settings_reference_command() -> None:
    """Print every setting: its key, environment variable, default and meaning (Markdown)."""
    from mjrelay.core.settings.reference import settings_reference

    typer.echo(settings_reference(), nl=False)


def main() -> None:
    app(prog_name="mjrelay")


if __name__ == "__main__":
    main()
