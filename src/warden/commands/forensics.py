"""``warden forensics``: weight-level tampering and abliteration detection, with or without the base."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import typer

from warden.commands.common import FailOn, OutputFormat, emit_report, exit_code_for, final_exit


@contextmanager
def _status(quiet: bool) -> Iterator[Callable[[str], None] | None]:
    """A one-line Rich status on a TTY (current tensor); nothing otherwise (CI logs stay clean)."""
    if quiet or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console

    with Console(stderr=True).status("forensics") as status:
        yield lambda msg: status.update(f"forensics: {msg}")


def forensics_command(
    model: str = typer.Argument(..., help="Model directory, .safetensors file, sharded index or .gguf file."),
    base: str | None = typer.Option(
        None, "--base", help="The base model to diff against (directory or file)."
    ),
    claimed_base: str | None = typer.Option(
        None, "--claimed-base", help="Check lineage: is MODEL consistent with derivation from this model?"
    ),
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", "-f", help="Output format."),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Write the report here instead of stdout."
    ),
    fail_on: FailOn = typer.Option(
        FailOn.high, "--fail-on", help="Exit 1 when a finding is at or above this severity."
    ),
    threads: int | None = typer.Option(None, "--threads", min=1, help="CPU threads for the linear algebra."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress or status messages."),
) -> None:
    """Abliteration (directional ablation) with or without the base, diff classification, lineage."""
    from warden.forensics import ForensicsConfig, run_forensics
    from warden.report.model import StageStatus

    with _status(quiet) as progress:
        report = run_forensics(
            model,
            base=base,
            claimed_base=claimed_base,
            config=ForensicsConfig(threads=threads),
            progress=progress,
        )
    wrote = emit_report(report, fmt, output, quiet)
    stage = report.stages.get("forensics")
    ran = stage is not None and stage.status is StageStatus.RAN
    raise typer.Exit(final_exit(exit_code_for(report, fail_on, ran), wrote))


def register(app: typer.Typer) -> None:
    app.command("forensics")(forensics_command)
