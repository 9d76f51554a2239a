"""``warden audit``: every stage under a policy, one report, one verdict."""

from __future__ import annotations

import enum
from pathlib import Path

import typer

from warden.commands.common import (
    EXIT_ERROR,
    EXIT_FINDINGS,
    EXIT_OK,
    OutputFormat,
    emit_report,
    stderr_console,
)


class Backend(str, enum.Enum):
    transformers = "transformers"
    openai = "openai"
    vllm = "vllm"
    none = "none"


def audit_command(
    model: str = typer.Argument(..., help="Model directory, file, or Hugging Face repo id."),
    base: str | None = typer.Option(
        None, "--base", help="The base model it claims to derive from (diff forensics, paired eval)."
    ),
    backend: Backend = typer.Option(
        Backend.transformers, "--backend", help="How to run the model for the behavioural stage."
    ),
    base_url: str | None = typer.Option(
        None, "--base-url", help="OpenAI-compatible server URL (--backend openai)."
    ),
    model_name: str | None = typer.Option(
        None, "--model-name", help="Model name on the server (--backend openai)."
    ),
    policy: Path | None = typer.Option(
        None, "--policy", help="Policy YAML (default: the shipped warden-default)."
    ),
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", "-f", help="Output format."),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Write the report here instead of stdout."
    ),
    strict: bool = typer.Option(False, "--strict", help="Exit 1 on a WARN verdict too."),
    offline: bool = typer.Option(False, "--offline", help="Never touch the network for hub ids."),
    quiet: bool = typer.Option(False, "--quiet", "-q"),
) -> None:
    """Audit a model: scan → forensics → eval → verdict under a policy. Exit 1 on FAIL."""
    from warden.audit import load_policy, run_audit
    from warden.report.model import StageStatus, Verdict

    pol, digest = load_policy(policy)
    console = stderr_console(quiet)
    options: dict[str, object] = {}
    if base_url:
        options["base_url"] = base_url
    if model_name:
        options["model_name"] = model_name
    report = run_audit(
        model,
        policy=pol,
        policy_digest=digest,
        base=base,
        backend=backend.value,
        backend_options=options,
        offline=True if offline else None,
        log=(lambda m: console.print(f"[dim]… {m}[/]", highlight=False)),
    )
    emit_report(report, fmt, output, quiet)
    if all(s.status is not StageStatus.RAN for s in report.stages.values()):
        raise typer.Exit(EXIT_ERROR)
    if report.verdict is Verdict.FAIL or (strict and report.verdict is Verdict.WARN):
        raise typer.Exit(EXIT_FINDINGS)
    raise typer.Exit(EXIT_OK)


def register(app: typer.Typer) -> None:
    app.command("audit")(audit_command)
