"""``warden eval``: does the model's safety behaviour hold?"""

from __future__ import annotations

from pathlib import Path

import typer

from warden.commands.common import FailOn, OutputFormat, emit_report, exit_code_for, final_exit


def eval_command(
    model: str = typer.Argument(
        ..., help="Local model directory (or the served model name with --backend openai)."
    ),
    base: str | None = typer.Option(None, "--base", help="Base model to compare with on the same prompts."),
    backend: str = typer.Option("transformers", "--backend", help="transformers | openai | vllm"),
    base_url: str | None = typer.Option(
        None, "--base-url", help="OpenAI-compatible server URL, e.g. http://127.0.0.1:8000/v1"
    ),
    api_key_env: str | None = typer.Option(
        None, "--api-key-env", help="Environment variable that holds the API key."
    ),
    model_name: str | None = typer.Option(
        None, "--model-name", help="Model name on the server (default: MODEL)."
    ),
    base_model_name: str | None = typer.Option(
        None, "--base-model-name", help="Base model's name on the server."
    ),
    suites: list[str] | None = typer.Option(
        None,
        "--suites",
        help="Suites (repeatable or comma-separated): harmful, benign, scary, jailbreak, coding, triggers, or a .jsonl path.",
    ),
    limit: int | None = typer.Option(
        None, "--limit", min=1, help="At most N prompts per suite (stratified, seeded)."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed for subsampling, bootstrap and sampling."),
    cache: Path | None = typer.Option(None, "--cache", help="SQLite generation cache: reruns are free."),
    max_new_tokens: int = typer.Option(96, "--max-new-tokens", min=1, help="Tokens per chat response."),
    batch_size: int = typer.Option(32, "--batch-size", min=1, help="Prompts per batch (transformers)."),
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", "-f", help="Output format."),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Write the report here instead of stdout."
    ),
    fail_on: FailOn = typer.Option(
        FailOn.high, "--fail-on", help="Exit 1 when a finding is at or above this severity."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress or status messages."),
) -> None:
    """Refusal, over-refusal, jailbreaks, trigger sweep and insecure code, with confidence intervals."""
    from warden.behavior import DEFAULT_SUITES, EvalConfig, run_eval
    from warden.errors import UsageError

    names = [s.strip() for item in (suites or []) for s in item.split(",") if s.strip()] or list(
        DEFAULT_SUITES
    )
    if backend not in ("transformers", "openai", "vllm"):
        raise UsageError(f"unknown backend {backend!r}: use transformers, openai or vllm")
    report = run_eval(
        model,
        backend=backend,
        base=base,
        suites=names,
        limit=limit,
        seed=seed,
        cache=cache,
        base_url=base_url,
        api_key_env=api_key_env,
        model_name=model_name,
        base_model_name=base_model_name,
        config=EvalConfig(max_new_tokens=max_new_tokens, seed=seed),
        progress=False if quiet else None,
        batch_size=batch_size,
    )
    wrote = emit_report(report, fmt, output, quiet)
    raise typer.Exit(final_exit(exit_code_for(report, fail_on, checked_anything=bool(report.metrics)), wrote))


def register(app: typer.Typer) -> None:
    app.command("eval")(eval_command)
