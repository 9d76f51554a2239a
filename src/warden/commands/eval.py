"""``warden eval``: does the model's safety behaviour hold?"""

from __future__ import annotations

from pathlib import Path

import typer

from warden.behavior.profiles import ProfileName, profile_help
from warden.commands.common import FailOn, OutputFormat, emit_report, exit_code_for, final_exit

PROFILE_HELP = profile_help()


EXAMPLES = (
    "Examples:  \n"
    "warden eval ./suspect --base ./original --profile quick  \n"
    "warden eval ./model.gguf --suites harmful,scary --limit 50 -f html -o eval.html  \n"
    "warden eval my-model --backend openai --base-url http://127.0.0.1:8000/v1"
)


def eval_command(
    model: str = typer.Argument(
        ...,
        help="Model directory, .gguf file (or a folder holding one), hub id (owner/name[:QUANT][@rev] or "
        "a bare id); the served model name with --backend openai.",
    ),
    base: str | None = typer.Option(None, "--base", help="Base model to compare with on the same prompts."),
    offline: bool = typer.Option(False, "--offline", help="Never touch the network for hub ids."),
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
    profile: ProfileName = typer.Option(ProfileName.standard, "--profile", help="Eval budget (see below)."),
    suites: list[str] | None = typer.Option(
        None,
        "--suites",
        help="Suites (repeatable or comma-separated): harmful, benign, scary, jailbreak, coding, triggers, drift "
        "(target-pair slant; drift:PATH for your own pairs), "
        "or a .jsonl path. Default: the profile's.",
    ),
    limit: int | None = typer.Option(
        None,
        "--limit",
        min=1,
        help="At most N prompts per suite (stratified, seeded). Default: the profile's.",
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
    quiet: bool = typer.Option(
        False,
        "--quiet",
        "-q",
        help="No progress bars or status lines on stderr; the report itself is still written.",
    ),
) -> None:
    """Refusal, over-refusal, jailbreaks, trigger sweep and insecure code, with confidence intervals."""
    from warden.behavior import EvalConfig, run_eval
    from warden.behavior.profiles import get_profile
    from warden.errors import UsageError

    prof = get_profile(profile.value)
    names = [s.strip() for item in (suites or []) for s in item.split(",") if s.strip()] or list(prof.suites)
    limit = limit if limit is not None else prof.limit
    if backend not in ("transformers", "openai", "vllm"):
        raise UsageError(f"unknown backend {backend!r}: use transformers, openai or vllm")
    from warden.sources import name_in_report, resolve_arg

    src = bsrc = None
    if backend != "openai":  # local weights: resolve both arguments the way every command does
        off = True if offline else None
        src = resolve_arg(model, "MODEL", offline=off)
        bsrc = resolve_arg(base, "--base", offline=off) if base else None
    report = run_eval(
        src.weights if src else model,
        backend=backend,
        base=bsrc.weights if bsrc else base,
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
    if src is not None:
        name_in_report(report, src)
    wrote = emit_report(report, fmt, output, quiet)
    raise typer.Exit(final_exit(exit_code_for(report, fail_on, checked_anything=bool(report.metrics)), wrote))


def register(app: typer.Typer) -> None:
    app.command("eval", epilog=EXAMPLES + "  \n" + PROFILE_HELP)(eval_command)
