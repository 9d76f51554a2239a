"""``warden scan``: the model's files."""

from __future__ import annotations

from pathlib import Path

import typer

from warden.commands.common import FailOn, OutputFormat, emit_report, exit_code_for, final_exit
from warden.commands.progress import byte_progress

EXAMPLES = (
    "Examples:  \n"
    "warden scan ./my-model  \n"
    "warden scan meta-llama/Llama-3.1-8B@main --offline -f sarif -o scan.sarif  \n"
    "Exit 0: nothing at or above --fail-on; 1: findings at or above it; 2: nothing could be checked."
)


def scan_command(
    model: str = typer.Argument(
        ..., help="Model directory, single file, or Hugging Face repo id (owner/name[@rev])."
    ),
    revision: str | None = typer.Option(
        None, "--revision", help="Hub revision (branch, tag or commit) to pin."
    ),
    cache_dir: Path | None = typer.Option(None, "--cache-dir", help="Hugging Face cache directory."),
    offline: bool = typer.Option(
        False, "--offline", help="Never touch the network (HF_HUB_OFFLINE=1 does the same)."
    ),
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", "-f", help="Output format."),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Write the report here instead of stdout."
    ),
    fail_on: FailOn = typer.Option(
        FailOn.high, "--fail-on", help="Exit 1 when a finding is at or above this severity."
    ),
    no_manifest: bool = typer.Option(False, "--no-manifest", help="Skip hashing files."),
    quiet: bool = typer.Option(
        False,
        "--quiet",
        "-q",
        help="No progress bars or status lines on stderr; the report itself is still written.",
    ),
) -> None:
    """Scan a model's files: code that runs on load, malformed headers, chat templates, remote code."""
    from warden.scan import checked_anything, scan_model

    with byte_progress(quiet) as progress:
        report = scan_model(
            model,
            revision=revision,
            cache_dir=cache_dir,
            offline=True if offline else None,
            manifest=not no_manifest,
            progress=progress,
        )
    wrote = emit_report(report, fmt, output, quiet)
    raise typer.Exit(final_exit(exit_code_for(report, fail_on, checked_anything(report)), wrote))


def register(app: typer.Typer) -> None:
    app.command("scan", epilog=EXAMPLES)(scan_command)
