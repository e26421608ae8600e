"""User commands of the ``mjrelay`` CLI: imagine, action, fetch, ls (over the SDK).

They talk to any ``/mj`` relay named by ``--base-url``/``--key`` (or ``MJRELAY_BASE_URL``,
``MJRELAY_API_KEY``). Results go to stdout, progress and errors to stderr, so
``mjrelay fetch ID | jq`` works.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import httpx
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from mjrelay.client.core import AuthStyle, progress_percent
from mjrelay.client.errors import NeedsModal, RelayAPIError, TaskFailed, WaitTimeout
from mjrelay.client.models import Task
from mjrelay.client.sync import Client, TaskHandle

T = TypeVar("T")
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False)

BaseUrlOption = Annotated[
    str,
    typer.Option("--base-url", envvar="MJRELAY_BASE_URL", help="The relay, e.g. http://host:8080."),
]
KeyOption = Annotated[
    str,
    typer.Option("--key", envvar="MJRELAY_API_KEY", help="API key.", show_default=False),
]
AuthOption = Annotated[
    str,
    typer.Option("--auth", help="How to send the key: bearer or mj-api-secret."),
]
WaitOption = Annotated[bool, typer.Option("--wait/--no-wait", help="Follow the task to its end.")]
OutOption = Annotated[
    Path | None,
    typer.Option(
        "--out",
        help="Save the finished image(s) into this directory (implies --wait).",
        file_okay=False,
    ),
]
SplitOption = Annotated[bool, typer.Option("--split", help="Also save the four panels.")]
TimeoutOption = Annotated[float, typer.Option("--timeout", help="Seconds to wait at most.")]


def _client(base_url: str, key: str, auth: str) -> Client:
    if auth not in ("bearer", "mj-api-secret"):
        raise typer.BadParameter("must be bearer or mj-api-secret", param_hint="--auth")
    if not key:
        raise typer.BadParameter(
            "an API key is required (or set MJRELAY_API_KEY)", param_hint="--key"
        )
    style: AuthStyle = "bearer" if auth == "bearer" else "mj-api-secret"
    return Client(base_url, key, auth=style)


@contextmanager
def _errors(base_url: str) -> Iterator[None]:
    """Turn SDK and network errors into one-line messages and exit codes."""
    try:
        yield
    except (RelayAPIError, TaskFailed, WaitTimeout, NeedsModal) as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc
    except httpx.TransportError as exc:
        err.print(f"[red]error:[/red] cannot reach {base_url}: {exc}")
        raise typer.Exit(1) from exc
    except ValueError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc


def _follow(handle: TaskHandle, timeout: float) -> Task:
    """Wait with a progress bar on stderr."""
    columns = (
        TextColumn("[bold]{task.fields[status]}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        TextColumn(f"[dim]{handle.id}"),
    )
    with Progress(*columns, console=err) as bar:
        row = bar.add_task("task", total=100, status="SUBMITTED")

        def show(task: Task) -> None:
            bar.update(row, completed=progress_percent(task), status=task.status.value)

        return handle.wait(timeout=timeout, on_progress=show)


def _report(client: Client, task: Task, out_dir: Path | None, split: bool) -> None:
    out.print(f"{task.id}  {task.status.value}  {task.action.value}")
    if task.image_url:
        out.print(task.image_url)
    if task.buttons:
        labels = " ".join(b.label or b.emoji for b in task.buttons)
        out.print(f"buttons: {labels}")
    if out_dir is not None:
        for path in client.download(task, out_dir, split=split):
            out.print(f"saved {path}")


def _submit(
    start: Callable[[Client], TaskHandle],
    *,
    follow: bool,
    out_dir: Path | None,
    split: bool,
    timeout: float,
) -> Callable[[Client], None]:
    """Submit, then print the id, or follow the task to its end and report (and save) it."""

    def work(client: Client) -> None:
        handle = start(client)
        if not follow:
            out.print(handle.id)
            return
        _report(client, _follow(handle, timeout), out_dir, split)

    return work


def _run(base_url: str, key: str, auth: str, work: Callable[[Client], T]) -> T:
    with _errors(base_url), _client(base_url, key, auth) as client:
        return work(client)


def imagine(
    prompt: Annotated[str, typer.Argument(help="The prompt, with Midjourney parameters.")],
    image: Annotated[
        list[Path] | None,
        typer.Option("--image", "-i", exists=True, dir_okay=False, help="Reference image."),
    ] = None,
    mode: Annotated[str | None, typer.Option(help="fast, relax or turbo.")] = None,
    wait: WaitOption = False,
    out_dir: OutOption = None,
    split: SplitOption = False,
    timeout: TimeoutOption = 600.0,
    base_url: BaseUrlOption = "http://127.0.0.1:8080",
    key: KeyOption = "",
    auth: AuthOption = "bearer",
) -> None:
    """Make an image: prints the task id, or with --wait a progress bar and the result."""

    _run(
        base_url,
        key,
        auth,
        _submit(
            lambda client: client.imagine(prompt, images=image or [], mode=mode),
            follow=wait or out_dir is not None,
            out_dir=out_dir,
            split=split,
            timeout=timeout,
        ),
    )


def action(
    task_id: Annotated[str, typer.Argument(metavar="TASK", help="The task whose button to press.")],
    button: Annotated[
        str, typer.Argument(help="U1-U4, V1-V4, reroll, 'Zoom Out 2x', left... or a customId.")
    ],
    prompt: Annotated[
        str | None, typer.Option(help="Input for modal buttons (Custom Zoom: '... --zoom 1.5').")
    ] = None,
    wait: WaitOption = False,
    out_dir: OutOption = None,
    split: SplitOption = False,
    timeout: TimeoutOption = 600.0,
    base_url: BaseUrlOption = "http://127.0.0.1:8080",
    key: KeyOption = "",
    auth: AuthOption = "bearer",
) -> None:
    """Press a button of a finished task (upscale, vary, zoom, pan, reroll)."""

    _run(
        base_url,
        key,
        auth,
        _submit(
            lambda client: client.action(task_id, button, prompt=prompt),
            follow=wait or out_dir is not None,
            out_dir=out_dir,
            split=split,
            timeout=timeout,
        ),
    )


def fetch(
    task_id: Annotated[str, typer.Argument(metavar="TASK")],
    base_url: BaseUrlOption = "http://127.0.0.1:8080",
    key: KeyOption = "",
    auth: AuthOption = "bearer",
) -> None:
    """Print a task's JSON."""
    task = _run(base_url, key, auth, lambda client: client.fetch(task_id))
    payload: dict[str, Any] = task.model_dump(mode="json", by_alias=True)
    out.print_json(json.dumps(payload))


def ls(
    limit: Annotated[int, typer.Option(min=1, max=1000, help="How many tasks.")] = 20,
    base_url: BaseUrlOption = "http://127.0.0.1:8080",
    key: KeyOption = "",
    auth: AuthOption = "bearer",
) -> None:
    """List your newest tasks."""
    tasks = _run(base_url, key, auth, lambda client: client.recent(limit=limit))
    table = Table(box=None, pad_edge=False)
    for column in ("ID", "ACTION", "STATUS", "PROGRESS", "PROMPT"):
        table.add_column(column, no_wrap=column != "PROMPT")
    for task in tasks:
        table.add_row(
            task.id, task.action.value, task.status.value, task.progress, task.prompt[:60]
        )
    out.print(table)


def register(app: typer.Typer) -> None:
    """Add the user commands to the ``mjrelay`` app."""
    app.command()(imagine)
    app.command()(action)
    app.command()(fetch)
    app.command()(ls)
