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


EXAMPLES = (
    "Examples:  \n"
    "warden forensics ./suspect --base ./original  \n"
    "warden forensics ./suspect.Q4_K_M.gguf   (base-free)  \n"
    "warden forensics ./suspect --claimed-base meta-llama/Llama-3.1-8B --offline"
)


def forensics_command(
    model: str = typer.Argument(
        ...,
        help="Model directory, .safetensors file, sharded index, .gguf file (or a folder holding one), "
        "or hub id (owner/name[:QUANT][@rev], or a bare id).",
    ),
    base: str | None = typer.Option(
        None, "--base", help="The base model to diff against (same forms as MODEL)."
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
    offline: bool = typer.Option(False, "--offline", help="Never touch the network for hub ids."),
    quiet: bool = typer.Option(
        False,
        "--quiet",
        "-q",
        help="No progress bars or status lines on stderr; the report itself is still written.",
    ),
) -> None:
    """Abliteration (directional ablation) with or without the base, diff classification, lineage."""
    from warden.forensics import ForensicsConfig, run_forensics
    from warden.report.model import StageStatus
    from warden.sources import name_in_report, resolve_arg

    off = True if offline else None
    src = resolve_arg(model, "MODEL", offline=off)
    bsrc = resolve_arg(base, "--base", offline=off) if base else None
    csrc = resolve_arg(claimed_base, "--claimed-base", offline=off) if claimed_base else None
    with _status(quiet) as progress:
        report = run_forensics(
            src.weights,
            base=bsrc.weights if bsrc else None,
            claimed_base=csrc.weights if csrc else None,
            config=ForensicsConfig(threads=threads),
            progress=progress,
        )
    name_in_report(report, src)
    wrote = emit_report(report, fmt, output, quiet)
    stage = report.stages.get("forensics")
    ran = stage is not None and stage.status is StageStatus.RAN
    raise typer.Exit(final_exit(exit_code_for(report, fail_on, ran), wrote))


def register(app: typer.Typer) -> None:
    app.command("forensics", epilog=EXAMPLES)(forensics_command)
