from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from warden.audit.policy import Policy, PolicyError, load_policy
from warden.audit.verdict import apply_waivers, decide
from warden.report.model import (
    Location,
    Metric,
    ModelRef,
    Report,
    Severity,
    StageResult,
    StageStatus,
    Verdict,
)
from warden.rules import rule

HIGHR = rule("TEST-AUDIT-HIGH", Severity.HIGH, "high thing", "d", "r")
MEDR = rule("TEST-AUDIT-MEDIUM", Severity.MEDIUM, "medium thing", "d", "r")


def report_with(*findings, metrics=(), stages=("scan", "forensics", "eval")) -> Report:  # type: ignore[no-untyped-def]
    r = Report(model=ModelRef("m"))
    r.add(findings)
    for m in metrics:
        r.add_metric(m)
    for s in stages:
        r.stages[s] = StageResult(s, StageStatus.RAN)
    return r


def test_default_policy_loads_and_is_documented() -> None:
    pol, digest = load_policy(None)
    assert pol.name == "warden-default" and len(digest) == 64
    assert pol.fail_on is Severity.HIGH and "refusal_rate.harmful" in pol.metrics


def test_bad_policy_is_a_clear_error(tmp_path: Path) -> None:
    p = tmp_path / "p.yaml"
    p.write_text("fail_on: catastrophic\n")
    with pytest.raises(PolicyError, match="fail_on"):
        load_policy(p)
    p.write_text("waivers:\n  - rule_id: X-Y\n    justification: short\n")
    with pytest.raises(PolicyError, match="justification"):
        load_policy(p)
    p.write_text("{{{")
    with pytest.raises(PolicyError, match="YAML"):
        load_policy(p)
    with pytest.raises(PolicyError, match="not found"):
        load_policy(tmp_path / "absent.yaml")


def test_severity_thresholds() -> None:
    pol = Policy()
    assert decide(report_with(), pol)[0] is Verdict.PASS
    assert decide(report_with(MEDR(Location("a"))), pol)[0] is Verdict.WARN
    v, reasons = decide(report_with(HIGHR(Location("a")), MEDR(Location("b"))), pol)
    assert v is Verdict.FAIL and "TEST-AUDIT-HIGH" in reasons[0]


def test_metric_threshold_uses_the_chosen_bound() -> None:
    pol = Policy.model_validate({"metrics": {"refusal_rate.harmful": {"min": 0.8, "bound": "ci_high"}}})
    # point estimate below 0.8 but the CI reaches above it: not a supported shortfall
    assert (
        decide(report_with(metrics=[Metric("refusal_rate.harmful", 0.75, 0.6, 0.85, n=40)]), pol)[0]
        is Verdict.PASS
    )
    v, reasons = decide(report_with(metrics=[Metric("refusal_rate.harmful", 0.2, 0.1, 0.3, n=40)]), pol)
    assert v is Verdict.FAIL and "below the minimum 0.8" in reasons[0]


def test_required_stage_missing_is_incomplete_never_pass() -> None:
    pol = Policy()  # the default requires scan, forensics and eval
    r = report_with()
    r.stages["eval"] = StageResult("eval", StageStatus.SKIPPED, "no backend")
    v, reasons = decide(r, pol)
    assert v is Verdict.INCOMPLETE and "required stage eval did not run (no backend)" in reasons
    assert r.evidence_gaps() == []  # verdict not set yet: gaps are only stated for audit verdicts
    r.verdict = v
    assert r.evidence_gaps() == ["no behaviour evidence (eval skipped: no backend)"]
    # a stage missing from the report altogether is missing evidence too
    r2 = report_with(stages=("scan",))
    v2, reasons2 = decide(r2, pol)
    assert v2 is Verdict.INCOMPLETE
    assert {
        "required stage forensics did not run (not run)",
        "required stage eval did not run (not run)",
    } <= set(reasons2)


def test_a_detection_fails_even_when_evidence_is_missing() -> None:
    r = report_with(HIGHR(Location("a")), stages=("scan",))
    v, reasons = decide(r, Policy())
    assert v is Verdict.FAIL and "TEST-AUDIT-HIGH" in reasons[0]
    assert any("required stage eval did not run" in x for x in reasons)


def test_an_errored_stage_is_incomplete_even_when_not_required() -> None:
    pol = Policy.model_validate({"required_stages": ["scan"]})
    r = report_with(stages=("scan",))
    assert decide(r, pol)[0] is Verdict.PASS
    r.stages["forensics"] = StageResult("forensics", StageStatus.FAILED, "internal error: boom")
    v, reasons = decide(r, pol)
    assert v is Verdict.INCOMPLETE and reasons == ["stage forensics errored (internal error: boom)"]


def test_a_stage_the_policy_turns_off_is_not_required() -> None:
    pol = Policy.model_validate({"stages": {"eval": False}})
    r = report_with(stages=("scan", "forensics"))
    r.stages["eval"] = StageResult("eval", StageStatus.SKIPPED, "disabled by policy")
    v, _ = decide(r, pol)
    assert v is Verdict.PASS
    r.verdict = v
    assert r.evidence_gaps() == ["no behaviour evidence (eval skipped: disabled by policy)"]


def test_waivers_apply_with_justification_and_expire() -> None:
    pol = Policy.model_validate(
        {
            "waivers": [
                {
                    "rule_id": "TEST-AUDIT-HIGH",
                    "path": "cfg/*",
                    "justification": "reviewed by security",
                    "expires": "2030-01-01",
                }
            ]
        }
    )
    r = report_with(HIGHR(Location("cfg/a.json")), HIGHR(Location("other.json")))
    waived = apply_waivers(r, pol, today=date(2029, 1, 1))
    assert [w["location"] for w in waived] == ["cfg/a.json"]
    assert [f.location.file for f in r.findings] == ["other.json"]
    r2 = report_with(HIGHR(Location("cfg/a.json")))
    assert apply_waivers(r2, pol, today=date(2031, 1, 1)) == []  # expired waiver no longer applies
