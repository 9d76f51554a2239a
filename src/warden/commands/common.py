"""What every command shares: report output, exit codes, error mapping, progress.

Exit codes (DESIGN.md, CLI contract):
  0 — nothing at or above the ``--fail-on`` threshold;
  1 — findings at or above it (wins even when some files could not be parsed);
  2 — usage error, or nothing could be checked.
"""

from __future__ import annotations

import enum
import os
import sys
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape

from warden.errors import WardenError
from warden.report.model import Report, Severity

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2


class OutputFormat(str, enum.Enum):
    table = "table"
    json = "json"
    markdown = "markdown"
    html = "html"
    sarif = "sarif"


class FailOn(str, enum.Enum):
    info = "info"
    low = "low"
    medium = "medium"
    high = "high"
    critical = "critical"
    never = "never"


def stderr_console(quiet: bool = False) -> Console:
    # Not a terminal (CI logs, a pipe): never wrap, so each message stays one greppable line.
    return Console(stderr=True, quiet=quiet, soft_wrap=not sys.stderr.isatty())


def exit_code_for(report: Report, fail_on: FailOn, checked_anything: bool = True) -> int:
    """1 if any finding is at/above the threshold (even if parts failed), else 2 if nothing could be
    checked, else 0."""
    if fail_on is not FailOn.never and report.at_or_above(Severity(fail_on.value)):
        return EXIT_FINDINGS
    if not checked_anything:
        return EXIT_ERROR
    return EXIT_OK


def emit_report(report: Report, fmt: OutputFormat, output: Path | None, quiet: bool = False) -> bool:
    """Render ``report`` in ``fmt`` to ``output`` (or stdout). Table output to a TTY uses rich.

    Returns False when ``output`` could not be written: the finished report is then saved to a
    temporary file instead, and one line says where (the result is never lost to a traceback)."""
    from warden.report.renderers import get_renderer

    renderer = get_renderer(fmt.value)
    if output is not None:
        text = renderer.render(report)
        try:
            output.parent.mkdir(parents=True, exist_ok=True)
            output.write_text(text, encoding="utf-8")
        except OSError as exc:
            import tempfile

            fd, spare = tempfile.mkstemp(prefix="warden-report-", suffix=renderer.extension)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
            stderr_console().print(
                "[bold red]error:[/] "
                + escape(f"{output}: cannot write the report ({exc.strerror or exc}); ")
                + escape(f"it was written to {spare} instead"),
                highlight=False,
            )
            return False
        if not quiet:
            stderr_console().print(f"wrote {fmt.value} report to {output}", highlight=False)
        return True
    if fmt is OutputFormat.table:  # --quiet silences progress and status lines, never the report
        console = Console()
        if not console.is_terminal:  # piped or CI: a readable width rather than rich's 80 columns
            console = Console(width=160)
        renderer.print(report, console)  # type: ignore[attr-defined]
        return True
    text = renderer.render(report)
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return True


def final_exit(code: int, wrote: bool) -> int:
    """The exit code once the report is out: a report that could not go where it was asked is exit 2,
    unless the result itself is exit 1 (a detection is never hidden behind an error)."""
    return code if wrote or code == EXIT_FINDINGS else EXIT_ERROR


def _no_type(ctx: Any = None) -> None:
    return None


def _click_command(app: typer.Typer) -> Any:
    """The click command typer builds for ``app``, with on/off flags shown without a ``<bool>`` type
    column in ``--help`` (a flag takes no value; only options that take one show their type)."""
    cmd = typer.main.get_command(app)
    todo = [cmd]
    while todo:
        c = todo.pop()
        for p in c.params:
            # typer vendors its own click: match by attribute, not by click's classes
            if getattr(p, "is_flag", False) and hasattr(p, "display_type_rich"):
                p.display_type_rich = _no_type
        todo.extend(getattr(c, "commands", {}).values())
    return cmd


def run_app(app: typer.Typer, argv: list[str] | None = None) -> int:
    """Run the typer app; turn WardenError into a one-line diagnostic and exit code 2."""
    try:
        rc = _click_command(app)(args=argv, standalone_mode=False, prog_name="warden")
        return rc if isinstance(rc, int) else EXIT_OK
    except WardenError as exc:
        stderr_console().print(f"[bold red]error:[/] {escape(exc.diagnostics())}", highlight=False)
        return EXIT_ERROR
    except typer.Exit as exc:
        return int(exc.exit_code or 0)
    except SystemExit as exc:  # click's own exits (usage errors → 2)
        return int(exc.code or 0) if isinstance(exc.code, int) else EXIT_ERROR
    except KeyboardInterrupt:
        stderr_console().print("interrupted")
        return 130
    except Exception as exc:
        # Usage errors from click (typer vendors its own copy, so match by class name, not import).
        names = {cls.__name__ for cls in type(exc).__mro__}
        if "ClickException" in names:
            exc.show()  # type: ignore[attr-defined]
            return EXIT_ERROR
        if "Abort" in names:
            return 130
        if isinstance(exc, ImportError):
            from warden.extras import extra_for

            args = argv if argv is not None else sys.argv[1:]
            cmd = next((a for a in args if not a.startswith("-")), None)
            missing = extra_for(exc, f"warden {cmd}" if cmd else "warden")
            if missing is not None:
                stderr_console().print(
                    f"[bold red]error:[/] {escape(missing.diagnostics())}", highlight=False
                )
                return EXIT_ERROR
        raise
