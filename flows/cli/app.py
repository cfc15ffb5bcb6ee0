"""The Typer application and the shared error handling of the ``bon`` command line."""

from __future__ import annotations

import sys

import typer
from rich.console import Console

app = typer.Typer(
    name="bon",
    help="Best-of-N with Process Reward Models: generate candidates, score every step, select, and measure.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console()
err_console = Console(stderr=True, soft_wrap=True)

_state = {"debug": False}


class BonError(Exception):
    """An error the user can fix: printed as one line (the traceback only with ``--debug``)."""


@app.callback()
def _root(debug: bool = typer.Option(False, "--debug", help="Show full tracebacks on errors.")) -> None:
    _state["debug"] = debug


def debugging() -> bool:
    """Whether ``--debug`` was given: tracebacks and Prefect's own error logs are shown."""
    return _state["debug"] or "--debug" in sys.argv


def main() -> None:
    """Console-script entry point: run the app, turning user errors into one clear line."""
    try:
        app(standalone_mode=False)
    except SystemExit:  # typer/click exits (help, bad usage)
        raise
    except Exception as exc:  # noqa: BLE001
        import click

        if isinstance(exc, click.exceptions.Exit):
            sys.exit(exc.exit_code)
        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        if isinstance(exc, click.exceptions.Abort):
            err_console.print("Aborted.")
            sys.exit(1)
        if debugging():
            raise
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False)
        sys.exit(1)
