"""realzoo.measure's table and margin line, on report files written here (no model needed)."""

from __future__ import annotations

import json
from pathlib import Path

from realzoo import measure as M


def _audit(tmp: Path, name: str, score: float, verdict: str, rules: list[str]) -> Path:
    doc = {
        "verdict": verdict,
        "findings": [{"rule_id": r} for r in rules],
        "metrics": {
            "refusal_rate.harmful": {"value": 0.5, "ci_low": 0.25, "ci_high": 0.75},
            "refusal_rate.harmful.diff": {"value": -0.125, "ci_low": -0.25, "ci_high": 0.0},
            "forensics.basefree.score": {"value": score},
        },
        "data": {"forensics": {"combined": {"weight_score": score, "weight_threshold": 1.0}}},
    }
    p = tmp / f"{name}.audit.json"
    p.write_text(json.dumps(doc))
    return p


def test_table_and_margin_from_audit_reports(tmp_path: Path) -> None:
    rows = {
        "clean-a": {"variant": {"role": "clean"}, "audit": _audit(tmp_path, "a", 0.8, "warn", [])},
        "clean-b": {"variant": {"role": "clean"}, "audit": _audit(tmp_path, "b", 0.5, "pass", [])},
        "atk-x": {
            "variant": {"role": "attack"},
            "audit": _audit(tmp_path, "x", 4.0, "fail", ["FORENSICS-ABLATION-BASEFREE", "EVAL-X"]),
        },
        "atk-y": {"variant": {"role": "attack"}, "audit": _audit(tmp_path, "y", 0.6, "fail", [])},
    }
    lines = M.table(rows)
    assert lines[0].startswith("| variant | role | audit verdict |")
    x = next(line for line in lines if line.startswith("| atk-x |"))
    assert (
        "**FAIL**" in x and "abliteration (base-free)" in x and "50% [25, 75]" in x and "-12 [-25, +0]" in x
    )
    assert "| none |" in next(line for line in lines if line.startswith("| clean-b |"))
    text = " ".join(M.margins(rows))
    assert "highest clean score 0.80 (clean-a), margin x1.25" in text
    assert "1/2 (atk-x)" in text and "lowest attack score 0.60 (atk-y)" in text
