"""``warden audit``: every stage under a policy, one report, one verdict."""

from __future__ import annotations

import enum
from pathlib import Path

import typer

from warden.audit.policy import Policy
from warden.behavior.profiles import ProfileName, profile_help
from warden.commands.common import (
    EXIT_ERROR,
    EXIT_FINDINGS,
    EXIT_OK,
    OutputFormat,
    emit_report,
    final_exit,
    stderr_console,
)
from warden.report.model import Report, StageStatus, Verdict

PROFILE_HELP = profile_help()


class Backend(str, enum.Enum):
    transformers = "transformers"
    openai = "openai"
    vllm = "vllm"
    none = "none"


EXAMPLES = (
    "Examples:  \n"
    "warden audit ./suspect --base ./original -f html -o report.html  \n"
    "warden audit ./model.gguf --profile quick  \n"
    "warden audit ./model --policy my-policy.yaml   (start from: warden policy show default)  \n"
    "Exit 0: pass or warn; 1: fail (or warn with --strict); 2: incomplete — a required stage did not run."
)
MANY_EXAMPLES = "Example:  \nwarden audit-many models.txt --executor local --report-dir reports/"


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
        None, "--policy", help="Policy YAML (default: the shipped one, `warden policy show default`)."
    ),
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", "-f", help="Output format."),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Write the report here instead of stdout."
    ),
    profile: ProfileName | None = typer.Option(
        None, "--profile", help="Eval budget (overrides the policy's eval.profile; see below)."
    ),
    suites: list[str] | None = typer.Option(
        None, "--suites", help="Eval suites, comma-separated or repeated (overrides the policy's)."
    ),
    limit: int | None = typer.Option(
        None, "--limit", min=1, help="At most N prompts per suite (overrides the policy and profile)."
    ),
    cache: Path | None = typer.Option(
        None,
        "--cache",
        help="SQLite generation cache for the eval stage (as `warden eval --cache`): auditing several "
        "variants against one --base generates the base's answers once.",
    ),
    strict: bool = typer.Option(False, "--strict", help="Exit 1 on a WARN verdict too."),
    offline: bool = typer.Option(False, "--offline", help="Never touch the network for hub ids."),
    quiet: bool = typer.Option(
        False,
        "--quiet",
        "-q",
        help="No progress bars or status lines on stderr; the report itself is still written.",
    ),
) -> None:
    """Audit a model: scan → forensics → eval → verdict under a policy. Exit 1 on FAIL."""
    from warden.audit import load_policy, run_audit
    from warden.sources import resolve_arg

    pol, digest = load_policy(policy)
    pol = with_eval_overrides(pol, profile, suites, limit)
    off = True if offline else None
    resolve_arg(model, "MODEL", offline=off)  # fails early, naming the argument; run_audit resolves it again
    bsrc = resolve_arg(base, "--base", offline=off) if base else None
    console = stderr_console(quiet)
    options: dict[str, object] = {}
    if base_url:
        options["base_url"] = base_url
    if model_name:
        options["model_name"] = model_name
    if cache is not None:
        options["cache"] = str(cache)
    report = run_audit(
        model,
        policy=pol,
        policy_digest=digest,
        base=str(bsrc.weights) if bsrc else None,
        backend=backend.value,
        backend_options=options,
        offline=True if offline else None,
        log=(lambda m: console.print(f"[dim]… {m}[/]", highlight=False)),
    )
    wrote = emit_report(report, fmt, output, quiet)
    raise typer.Exit(final_exit(audit_exit_code(report, strict), wrote))


def with_eval_overrides(
    pol: Policy, profile: ProfileName | None, suites: list[str] | None, limit: int | None
) -> Policy:
    """The policy with the command line's eval budget applied (recorded in the report's audit data)."""
    update: dict[str, object] = {}
    if profile is not None:
        update.update(profile=profile.value, suites=None, limit=None)
    names = [x.strip() for item in (suites or []) for x in item.split(",") if x.strip()]
    if names:
        update["suites"] = names
    if limit is not None:
        update["limit"] = limit
    if not update:
        return pol
    return pol.model_copy(update={"eval": pol.eval.model_copy(update=update)})


def audit_exit_code(report: Report, strict: bool) -> int:
    """1 on FAIL (a detection wins over missing evidence), 2 on INCOMPLETE or when nothing ran,
    1 on WARN with ``--strict``, else 0."""
    if report.verdict is Verdict.FAIL or (strict and report.verdict is Verdict.WARN):
        return EXIT_FINDINGS
    if report.verdict is Verdict.INCOMPLETE or all(
        s.status is not StageStatus.RAN for s in report.stages.values()
    ):
        return EXIT_ERROR
    return EXIT_OK


class Executor(str, enum.Enum):
    ray = "ray"
    local = "local"


def audit_many_command(
    models: Path = typer.Argument(..., help="Text file: one 'MODEL [BASE]' per line, '#' comments."),
    db: Path = typer.Option(Path("warden-fleet.sqlite"), "--db", help="SQLite file for results (resumable)."),
    policy: Path | None = typer.Option(
        None, "--policy", help="Policy YAML (default: the shipped one, `warden policy show default`)."
    ),
    backend: Backend = typer.Option(Backend.transformers, "--backend"),
    executor: Executor = typer.Option(
        Executor.ray, "--executor", help="ray (local or --ray-address) or local."
    ),
    ray_address: str | None = typer.Option(
        None, "--ray-address", help="Join this Ray cluster (default: start local Ray)."
    ),
    num_cpus: int | None = typer.Option(None, "--num-cpus", help="CPUs for a local Ray instance."),
    report_dir: Path | None = typer.Option(
        None, "--report-dir", help="Also write one HTML and JSON report per model here."
    ),
    no_retry: bool = typer.Option(False, "--no-retry", help="Do not re-run audits that failed last time."),
    quiet: bool = typer.Option(
        False,
        "--quiet",
        "-q",
        help="No progress bars or status lines on stderr; the report itself is still written.",
    ),
) -> None:
    """Audit many models (Ray tasks), results in SQLite; re-running resumes. Exit 1 if any FAILs."""
    from rich.table import Table

    from warden.audit import load_policy
    from warden.audit.fleet import read_jobs, run_fleet

    pol_path = policy
    _, digest = load_policy(pol_path)
    from warden.audit.policy import DEFAULT_POLICY_PATH

    text = (pol_path or DEFAULT_POLICY_PATH).read_text(encoding="utf-8")
    jobs = read_jobs(models)
    console = stderr_console(quiet)

    def progress(r) -> None:  # type: ignore[no-untyped-def]
        tag = "resumed" if r.skipped else r.status
        console.print(f"[dim]{tag}[/] {r.job.model}: {r.verdict or r.error}", highlight=False)

    results = run_fleet(
        jobs, db=db, policy_text=text, policy_digest=digest, backend=backend.value,
        executor=executor.value, ray_address=ray_address, num_cpus=num_cpus,
        retry_errors=not no_retry, on_result=progress,
    )  # fmt: skip
    if report_dir is not None:
        _write_reports(db, digest, report_dir)
    table = Table(title=f"{len(results)} model(s) — results in {db}")
    for col in ("model", "base", "verdict", "root sha256", "note"):
        table.add_column(col, overflow="fold")
    order = {j: i for i, j in enumerate(jobs)}
    for r in sorted(results, key=lambda r: order[r.job]):
        table.add_row(
            r.job.model,
            r.job.base or "–",
            r.verdict or r.status,
            (r.root_digest or "")[:16],
            "resumed" if r.skipped else (r.error or "")[:80],
        )
    if not quiet:
        from rich.console import Console

        Console().print(table)
    if any(r.status == "error" for r in results) and not any(r.status == "done" for r in results):
        raise typer.Exit(EXIT_ERROR)
    raise typer.Exit(EXIT_FINDINGS if any(r.verdict == "fail" for r in results) else EXIT_OK)


def _write_reports(db: Path, digest: str, out: Path) -> None:
    import json
    import re

    from warden.audit.fleet import open_db
    from warden.report.reader import report_from_dict
    from warden.report.renderers import get_renderer

    out.mkdir(parents=True, exist_ok=True)
    with open_db(db) as con:
        for ref, base, rep in con.execute(
            "SELECT model_ref, base, report_json FROM audits WHERE policy_digest=? AND status='done'",
            (digest,),
        ):
            name = re.sub(r"[^A-Za-z0-9_.-]+", "_", ref.strip("/"))[-80:] + (
                f"__vs__{re.sub(r'[^A-Za-z0-9_.-]+', '_', base)[-40:]}" if base else ""
            )
            report = report_from_dict(json.loads(rep))
            (out / f"{name}.html").write_text(get_renderer("html").render(report), encoding="utf-8")
            (out / f"{name}.json").write_text(get_renderer("json").render(report), encoding="utf-8")


def register(app: typer.Typer) -> None:
    app.command("audit", epilog=EXAMPLES + "  \n" + PROFILE_HELP)(audit_command)
    app.command("audit-many", epilog=MANY_EXAMPLES)(audit_many_command)
