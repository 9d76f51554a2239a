"""Apply a policy to a report: waivers, severity thresholds, metric thresholds, required stages →
pass / warn / fail / incomplete with every reason spelled out."""

from __future__ import annotations

import fnmatch
from datetime import date

from warden.audit.policy import Policy
from warden.report.model import Finding, Report, StageStatus, Verdict


def apply_waivers(report: Report, policy: Policy, today: date | None = None) -> list[dict[str, str]]:
    """Remove waived findings from ``report.findings``; return what was waived (kept in the report
    data so a reader sees every exception and its justification). Expired waivers do not apply."""
    today = today or date.today()
    kept: list[Finding] = []
    waived: list[dict[str, str]] = []
    for f in report.findings:
        w = next(
            (
                w
                for w in policy.waivers
                if w.rule_id == f.rule_id
                and fnmatch.fnmatch(f.location.file, w.path)
                and (w.expires is None or w.expires >= today)
            ),
            None,
        )
        if w is None:
            kept.append(f)
        else:
            waived.append(
                {"rule_id": f.rule_id, "location": f.location.display(), "justification": w.justification}
            )
    report.findings = kept
    return waived


def decide(report: Report, policy: Policy) -> tuple[Verdict, list[str]]:
    fail: list[str] = []
    warn: list[str] = []
    for f in report.sorted_findings():
        if f.severity >= policy.fail_on:
            fail.append(f"{f.severity.value} finding {f.rule_id} at {f.location.display()}: {f.title}")
        elif f.severity >= policy.warn_on:
            warn.append(f"{f.severity.value} finding {f.rule_id} at {f.location.display()}: {f.title}")
    for name, rule in sorted(policy.metrics.items()):
        metric = report.metrics.get(name)
        if metric is None:
            continue  # a metric that was not measured is covered by required_stages
        value = getattr(metric, rule.bound) if rule.bound != "value" else metric.value
        if value is None:
            value = metric.value
        ci = (
            f" [{metric.ci_low:.3g}, {metric.ci_high:.3g}]"
            if metric.ci_low is not None and metric.ci_high is not None
            else ""
        )
        bad = None
        if rule.min is not None and value < rule.min:
            bad = (
                f"{name} = {metric.value:.3g}{ci}: {rule.bound} {value:.3g} is below the minimum {rule.min:g}"
            )
        if rule.max is not None and value > rule.max:
            bad = (
                f"{name} = {metric.value:.3g}{ci}: {rule.bound} {value:.3g} is above the maximum {rule.max:g}"
            )
        if bad:
            (fail if rule.action == "fail" else warn).append(bad)
    incomplete: list[str] = []
    for stage in policy.required():
        result = report.stages.get(stage)
        if result is None or result.status is not StageStatus.RAN:
            why = result.reason if result else "not run"
            incomplete.append(f"required stage {stage} did not run ({why})")
    for name, result in sorted(report.stages.items()):
        if result.status is StageStatus.FAILED and name not in policy.required():
            incomplete.append(f"stage {name} errored ({result.reason})")
    # Fail closed: a detection fails the model whatever else happened (a finding is never hidden
    # behind an error); without one, missing evidence is INCOMPLETE, never PASS.
    if fail:
        return Verdict.FAIL, fail + incomplete + warn
    if incomplete:
        return Verdict.INCOMPLETE, incomplete + warn
    if warn:
        return Verdict.WARN, warn
    return Verdict.PASS, ["no finding or metric crossed the policy's thresholds"]
