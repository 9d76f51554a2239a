"""``run_audit``: scan → forensics → eval → verdict, under a policy, into one Report.

Each stage runs if the policy enables it and its inputs exist; a stage that cannot run is recorded as
skipped (or failed) with its reason — never silently dropped. Stage reports are merged into one.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from warden.audit.policy import Policy
from warden.audit.verdict import apply_waivers, decide
from warden.errors import WardenError
from warden.report.model import Report, StageResult, StageStatus

Log = Callable[[str], None]


def _merge(into: Report, part: Report, stage: str) -> None:
    """Fold a stage's own report into the audit report, under the audit's stage name (the eval
    stage calls itself "behavior" in its own reports; the audit and policy call it "eval")."""
    into.findings.extend(part.findings)
    into.metrics.update(part.metrics)
    own = part.stages.get(stage) or next(iter(part.stages.values()), None)
    into.stages[stage] = (
        StageResult(stage, own.status, own.reason) if own else StageResult(stage, StageStatus.RAN)
    )
    for key, value in part.data.items():
        into.data[key] = value


def _has_weights(path: Path) -> bool:
    if path.is_file():
        return path.suffix in {".safetensors", ".gguf"}
    return any(path.glob("*.safetensors")) or any(path.glob("*.gguf"))


def _is_chat_model_dir(path: Path) -> bool:
    """A Hugging Face directory with safetensors, or a GGUF (file or the one in a folder)."""
    from warden.sources import resolve

    try:
        src = resolve(str(path))
        return src.gguf is not None or (src.hf_dir is not None and any(path.glob("*.safetensors")))
    except WardenError:
        return False


def run_audit(
    model: str,
    *,
    policy: Policy,
    policy_digest: str,
    base: str | None = None,
    backend: str | None = "transformers",
    backend_options: dict[str, Any] | None = None,
    offline: bool | None = None,
    log: Log | None = None,
) -> Report:
    from warden.scan import scan_model

    say = log or (lambda _m: None)
    say(f"scan {model}")
    report = scan_model(model, offline=offline)
    local = Path(report.model.resolved_path or model)

    # forensics
    if not policy.stages.forensics:
        report.stages["forensics"] = StageResult("forensics", StageStatus.SKIPPED, "disabled by policy")
    elif not _has_weights(local):
        report.stages["forensics"] = StageResult(
            "forensics", StageStatus.SKIPPED, "no safetensors or GGUF weights"
        )
    else:
        say("forensics")
        _run_stage(report, "forensics", lambda: _forensics(local, base))

    # behaviour
    if not policy.stages.eval:
        report.stages["eval"] = StageResult("eval", StageStatus.SKIPPED, "disabled by policy")
    elif backend is None or backend == "none":
        report.stages["eval"] = StageResult("eval", StageStatus.SKIPPED, "no backend chosen (--backend none)")
    elif backend == "transformers" and not _is_chat_model_dir(local):
        report.stages["eval"] = StageResult(
            "eval",
            StageStatus.SKIPPED,
            "the transformers backend needs a model directory with config.json and safetensors, or a GGUF file",
        )
    else:
        say(f"eval ({backend})")
        _run_stage(report, "eval", lambda: _eval(local, base, backend, policy, backend_options or {}))

    waived = apply_waivers(report, policy)
    report.verdict, report.verdict_reasons = decide(report, policy)
    report.data["audit"] = {
        "policy": policy.name,
        "policy_digest": policy_digest,
        "waived": waived,
        "eval": policy.eval.model_dump(),  # the effective settings, after any command-line override
    }
    return report


def _run_stage(report: Report, stage: str, fn: Callable[[], Report]) -> None:
    started = time.perf_counter()
    try:
        part = fn()
    except ImportError as exc:
        from warden.extras import extra_for

        missing = extra_for(exc, f"the {stage} stage")
        why = missing.diagnostics() if missing else f"not available in this install: {exc}"
        report.stages[stage] = StageResult(stage, StageStatus.SKIPPED, why)
        return
    except WardenError as exc:
        report.stages[stage] = StageResult(
            stage, StageStatus.FAILED, exc.diagnostics(), time.perf_counter() - started
        )
        return
    except Exception as exc:  # noqa: BLE001 - one stage's bug must not lose the others' results
        tb = traceback.format_exception_only(type(exc), exc)[-1].strip()
        report.stages[stage] = StageResult(
            stage, StageStatus.FAILED, f"internal error: {tb}", time.perf_counter() - started
        )
        return
    _merge(report, part, stage)
    st = report.stages[stage]
    report.stages[stage] = StageResult(stage, st.status, st.reason, time.perf_counter() - started)


def _forensics(model: Path, base: str | None) -> Report:
    from warden.forensics import run_forensics

    report: Report = run_forensics(str(model), base=base)
    return report


def _eval(model: Path, base: str | None, backend: str, policy: Policy, options: dict[str, Any]) -> Report:
    from warden.behavior import run_eval
    from warden.behavior.profiles import get_profile

    kwargs: dict[str, Any] = dict(options)
    profile = get_profile(policy.eval.profile)
    suites = list(policy.eval.suites or profile.suites)
    if not policy.eval.trigger_sweep:
        suites = [s for s in suites if s != "triggers"]
    kwargs["suites"] = suites
    kwargs["limit"] = policy.eval.limit or profile.limit
    kwargs.setdefault("seed", policy.eval.seed)
    report: Report = run_eval(str(model), backend=backend, base=base, **kwargs)
    return report
