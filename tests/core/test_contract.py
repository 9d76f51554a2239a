"""The Finding/Report contract: JSON names scripts depend on, severities, rule registry."""

from __future__ import annotations

import json

import pytest

from warden.report.model import (
    SCHEMA_VERSION,
    FileDigest,
    Location,
    Manifest,
    Metric,
    ModelRef,
    Report,
    Severity,
    StageResult,
    StageStatus,
    Verdict,
)
from warden.report.renderers import get_renderer
from warden.rules import all_rules, rule

CRIT = rule("TEST-CONTRACT-CRIT", Severity.CRITICAL, "crit title", "desc", "fix it")
LOW = rule("TEST-CONTRACT-LOW", Severity.LOW, "low title", "desc", "ignore")


def sample_report() -> Report:
    r = Report(model=ModelRef(ref="org/model", root_digest="ab" * 32, revision="c0ffee"))
    r.manifest = Manifest(files=(FileDigest("a.bin", "00" * 32, 3),), root_digest="ab" * 32)
    r.add(
        [
            LOW(Location(file="b.txt", line=3), {"k": 1}),
            CRIT(Location(file="a.bin", offset=7), {"g": "os.system", "raw": b"\x00\x01"}),
        ]
    )
    r.add_metric(Metric("refusal_rate.harmful", 0.9, 0.8, 0.95, n=100, stage="behavior"))
    r.stages["scan"] = StageResult("scan", StageStatus.RAN)
    r.stages["eval"] = StageResult("eval", StageStatus.SKIPPED, "no backend")
    r.verdict = Verdict.FAIL
    return r


def test_json_top_level_names_are_the_contract() -> None:
    doc = json.loads(get_renderer("json").render(sample_report()))
    assert list(doc)[:9] == [
        "schema_version",
        "tool",
        "model",
        "manifest",
        "findings",
        "metrics",
        "stages",
        "verdict",
        "verdict_reasons",
    ]
    assert doc["schema_version"] == SCHEMA_VERSION
    assert doc["tool"]["name"] == "warden"
    assert doc["model"] == {"ref": "org/model", "root_digest": "ab" * 32, "revision": "c0ffee"}
    # most severe first
    assert [f["rule_id"] for f in doc["findings"]] == ["TEST-CONTRACT-CRIT", "TEST-CONTRACT-LOW"]
    assert doc["findings"][0] == {
        "rule_id": "TEST-CONTRACT-CRIT",
        "severity": "critical",
        "title": "crit title",
        "stage": "scan",
        "location": {"file": "a.bin", "offset": 7},
        "evidence": {"g": "os.system", "raw": "0001"},
        "remediation": "fix it",
    }
    assert doc["metrics"]["refusal_rate.harmful"]["ci_low"] == 0.8
    assert doc["metrics"]["refusal_rate.harmful"]["n"] == 100
    assert doc["stages"]["eval"] == {"status": "skipped", "reason": "no backend"}
    assert doc["verdict"] == "fail"


def test_severity_order() -> None:
    assert Severity.CRITICAL > Severity.HIGH > Severity.MEDIUM > Severity.LOW > Severity.INFO
    assert Severity.HIGH >= Severity.HIGH
    assert sample_report().max_severity() is Severity.CRITICAL
    assert [f.rule_id for f in sample_report().at_or_above(Severity.MEDIUM)] == ["TEST-CONTRACT-CRIT"]


def test_rule_ids_unique_and_well_formed() -> None:
    with pytest.raises(ValueError):
        rule("bad id", Severity.LOW, "t", "d", "r")
    rules = all_rules()
    ids = [r.id for r in rules]
    assert len(ids) == len(set(ids))
    assert "SCAN-INTERNAL-ERROR" in ids
    with pytest.raises(ValueError):
        rule("SCAN-INTERNAL-ERROR", Severity.LOW, "t", "d", "r")


def test_location_display_and_child() -> None:
    loc = Location(file="outer.zip").child("a/b.tar").child("data.pkl").at(offset=12)
    assert loc.display() == "outer.zip!a/b.tar!data.pkl@12"
