"""The ``warden`` command line: thin. Every command is a call into the library's API.

Each stage owns its command module (``warden.commands.<name>``) exposing a ``register(app)``
function; this file only assembles them, maps ``WardenError`` to a clear message and exit code 2,
and never lets a traceback reach the user.
"""

from __future__ import annotations

import importlib
import sys

import typer

from warden import __version__

app = typer.Typer(
    name="warden",
    help="Is this open-weight model safe to adopt, and can we run it safely?",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Command modules, in the order they appear in --help. A module that is absent (optional extra not
# installed) leaves its command out rather than breaking the CLI.
COMMAND_MODULES = ("scan", "forensics", "eval", "audit", "attest", "serve", "log", "policy")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"warden {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version."
    ),
) -> None:
    """Warden: scan, forensics, eval, audit, attest/verify and serve open-weight models."""


def _register_all() -> None:
    for name in COMMAND_MODULES:
        try:
            mod = importlib.import_module(f"warden.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"warden.commands.{name}":
                continue
            raise
        mod.register(app)


_register_all()


def main(argv: list[str] | None = None) -> int:
    """Entry point; tests call ``main([...])`` in-process and read stdout."""
    from warden.commands.common import run_app

    return run_app(app, argv)


def entry() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry()
