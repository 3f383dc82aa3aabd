"""Output helpers shared by the commands: stdout for results, stderr for everything else."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
from rich.console import Console
from rich.markup import escape

from adsuite.cli import json_stream
from adsuite.errors import InputError

if TYPE_CHECKING:  # rich's progress (and its tables, live display): only on a terminal
    from rich.progress import Progress, TaskID

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)
if not out.is_terminal:  # piped into a file or a mail: no 80-column squeeze of tables
    out.width = 200


class Bar:
    """A rich progress bar on stderr, shown only when stderr is a terminal."""

    def __init__(self) -> None:
        self._progress: Progress | None = None
        self._task: TaskID | None = None

    def start(self, label: str, total: int) -> None:
        if not err.is_terminal or total < 2:
            return
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err,
            transient=True,
        )
        self._progress.start()
        self._task = self._progress.add_task(label, total=total)

    def advance(self, steps: int = 1) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.advance(self._task, steps)

    def finish(self) -> None:
        if self._progress is not None:
            self._progress.stop()
        self._progress, self._task = None, None


def default_path(given: Path | None, env: str, fallback: str, what: str) -> Path:
    """An explicit path, else $env, else *fallback* if it exists here."""
    if given is not None:
        return given
    from_env = os.environ.get(env)
    if from_env:
        return Path(from_env)
    if Path(fallback).exists():
        return Path(fallback)
    raise InputError(f"no {what} given: pass it, set {env}, or run from a folder with {fallback}")


playbook_argument = click.argument("playbook", type=click.Path(path_type=Path), required=False)
inventory_option = click.option(
    "-i",
    "--inventory",
    type=click.Path(path_type=Path),
    help="Inventory file [env ADSUITE_INVENTORY, else inventory/lab.yml].",
)


wait_option = click.option(
    "--wait",
    type=click.FloatRange(min=0),
    default=0.0,
    metavar="SECONDS",
    help="Wait this long for another run's lease on the domain instead of refusing at once.",
)


F = TypeVar("F", bound=Callable[..., Any])


def format_option(*others: str, default: str = "text") -> Callable[[F], F]:
    """``--format`` (parameter ``fmt``): text or json, plus *others* (html, junit…).

    The output contract (docs/output.md): ``--format json`` prints one JSON object on
    stdout (see :func:`emit_json`); errors stay one line on stderr with the same exit
    codes as text output.
    """
    choices = ["text", "json", *others] if default == "text" else [default, "json", *others]
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(list(dict.fromkeys(choices))),
        default=default,
        show_default=True,
        help="Output format; json prints one object on stdout.",
    )


def json_text(doc: Mapping[str, Any]) -> str:
    """A result as the JSON every command prints: one object, UTF-8 as is, indented."""
    return json.dumps(doc, ensure_ascii=False, indent=2)


def emit_json(doc: Mapping[str, Any], *, run_id: str | None = None) -> None:
    """Print *doc* as the command's one JSON object on stdout; with *run_id*, as the
    journal run the command started (``"run_id"`` first, so tools and people find it).

    The text is what ``json_text`` gives, written as it is encoded, a batch of pieces at
    a time (cli/json_stream.py): a plan of 200,000 changes is 85 MB of JSON. A list in
    *doc* may be given as an iterator, written as a JSON array without being held whole.
    """
    json_stream.write(
        {"run_id": run_id, **doc} if run_id is not None else doc,
        lambda text: click.echo(text, nl=False),
    )
    click.echo("")


def notice(text: str) -> None:
    """A warning from the engine (a wait for the domain lease, pending changes): stderr."""
    err.print(f"[yellow]{escape(text)}[/yellow]")
