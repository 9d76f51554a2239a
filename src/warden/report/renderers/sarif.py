"""SARIF 2.1.0 (OASIS): one run, one ``reportingDescriptor`` per rule_id, results with physical
locations (byte offsets for binary files, lines for text), artifacts with their SHA-256 from the
manifest. Validated against the official schema in the tests. Hand-written because the SARIF object
model libraries (sarif-om) are unmaintained and the document is plain JSON."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from warden import __version__
from warden.report.model import Finding, Report, Severity
from warden.report.renderers.interface import Renderer
from warden.rules import Rule, get_rule

SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
# GitHub code scanning reads properties.security-severity (CVSS-like 0-10).
SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFO: "0.0",
}


def _rule_descriptor(rule_id: str, rule: Rule | None, example: Finding) -> dict[str, Any]:
    title = rule.title if rule else example.title
    description = rule.description if rule else example.title
    severity = rule.severity if rule else example.severity
    return {
        "id": rule_id,
        "name": "".join(part.capitalize() for part in rule_id.split("-")),
        "shortDescription": {"text": title},
        "fullDescription": {"text": description},
        "help": {"text": (rule.remediation if rule else example.remediation) or title},
        "defaultConfiguration": {"level": LEVEL[severity]},
        "properties": {
            "tags": ["security", rule.stage if rule else example.stage],
            "security-severity": SECURITY_SEVERITY[severity],
        },
    }


def _result(f: Finding, rule_index: int) -> dict[str, Any]:
    region: dict[str, Any] = {}
    if f.location.line is not None:
        region["startLine"] = max(1, f.location.line)
    elif f.location.offset is not None and f.location.member is None:
        region["byteOffset"] = max(0, f.location.offset)
    physical: dict[str, Any] = {"artifactLocation": {"uri": f.location.file, "uriBaseId": "MODELROOT"}}
    if region:
        physical["region"] = region
    location: dict[str, Any] = {"physicalLocation": physical}
    logical = []
    if f.location.member:
        logical.append(
            {"name": f.location.member, "kind": "member", "fullyQualifiedName": f.location.display()}
        )
    if f.location.tensor:
        logical.append({"name": f.location.tensor, "kind": "variable"})
    if logical:
        location["logicalLocations"] = logical
    fingerprint = hashlib.sha256(
        json.dumps([f.rule_id, f.location.to_dict(), f.title], sort_keys=True).encode()
    ).hexdigest()
    return {
        "ruleId": f.rule_id,
        "ruleIndex": rule_index,
        "level": LEVEL[f.severity],
        "message": {"text": f"{f.title} ({f.location.display()})"},
        "locations": [location],
        "partialFingerprints": {"wardenFinding/v1": fingerprint},
        "properties": {
            "severity": f.severity.value,
            "stage": f.stage,
            "evidence": f.to_dict()["evidence"],
            "security-severity": SECURITY_SEVERITY[f.severity],
        },
    }


class SarifRenderer(Renderer):
    name = "sarif"
    media_type = "application/sarif+json"
    extension = ".sarif"

    def render(self, report: Report) -> str:
        findings = report.sorted_findings()
        rule_ids: list[str] = []
        examples: dict[str, Finding] = {}
        for f in findings:
            if f.rule_id not in examples:
                rule_ids.append(f.rule_id)
                examples[f.rule_id] = f
        rule_ids.sort()
        index = {rid: i for i, rid in enumerate(rule_ids)}
        rules = []
        for rid in rule_ids:
            try:
                registered: Rule | None = get_rule(rid)
            except KeyError:
                registered = None
            rules.append(_rule_descriptor(rid, registered, examples[rid]))
        run: dict[str, Any] = {
            "tool": {
                "driver": {
                    "name": "warden",
                    "version": __version__,
                    "semanticVersion": __version__,
                    "rules": rules,
                }
            },
            "originalUriBaseIds": {"MODELROOT": {"description": {"text": f"model {report.model.ref}"}}},
            "results": [_result(f, index[f.rule_id]) for f in findings],
            "invocations": [
                {
                    "executionSuccessful": all(s.status.value != "failed" for s in report.stages.values()),
                    "toolExecutionNotifications": [
                        {
                            "level": "warning" if s.status.value == "failed" else "note",
                            "message": {"text": f"stage {n}: {s.status.value} {s.reason}".strip()},
                        }
                        for n, s in report.stages.items()
                        if s.status.value != "ran"
                    ],
                }
            ],
            "properties": {"verdict": report.verdict.value if report.verdict else None},
        }
        if report.manifest:
            run["artifacts"] = [
                {
                    "location": {"uri": fd.path, "uriBaseId": "MODELROOT"},
                    "length": fd.size,
                    "hashes": {"sha-256": fd.sha256},
                }
                for fd in report.manifest.files
            ]
            run["properties"]["rootDigest"] = report.manifest.root_digest
        doc = {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}
        return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
