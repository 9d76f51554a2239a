"""The in-toto Statement v1 Warden signs: subject = every file with its SHA-256 plus the root digest
(the scanner's manifest layout); predicate = the audit's verdict, metrics with CIs, findings summary,
policy digest, Warden version, backends and seeds, and time."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta, timezone
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from warden import __version__
from warden.report.model import Manifest, Report, Severity

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "urn:warden:predicate:audit:v1"
ROOT_SUBJECT = "."  # the subject carrying the root digest; "." is never a file's relative path


class Subject(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: str
    digest: dict[str, str]


class Statement(BaseModel):
    """Untrusted when read back: parsed with pydantic."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)
    type_: str = Field(alias="_type")
    subject: list[Subject]
    predicateType: str  # noqa: N815 - in-toto field name
    predicate: dict[str, Any]


def canonical_json(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def build_statement(
    report: Report,
    manifest: Manifest,
    *,
    policy_digest: str | None = None,
    valid_for: timedelta | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    now = now or datetime.now(timezone.utc)
    counts = {s.value: 0 for s in Severity}
    for f in report.findings:
        counts[f.severity.value] += 1
    rule_ids = sorted({f.rule_id for f in report.findings})
    report_json = canonical_json(report.to_dict())
    behavior = report.data.get("behavior", {}) if isinstance(report.data, dict) else {}
    predicate: dict[str, Any] = {
        "verdict": report.verdict.value if report.verdict else None,
        "verdict_reasons": list(report.verdict_reasons),
        "metrics": {name: m.to_dict() for name, m in sorted(report.metrics.items())},
        "findings": {"by_severity": counts, "rule_ids": rule_ids, "total": len(report.findings)},
        "stages": {name: s.to_dict() for name, s in report.stages.items()},
        "policy_digest": policy_digest,
        "report_digest": {"sha256": hashlib.sha256(report_json).hexdigest()},
        "tool": {"name": "warden", "version": __version__},
        # what ran the model and its base (the eval's own description of each backend)
        "backends": {"model": behavior.get("backend"), "base": behavior.get("base")}
        if isinstance(behavior, dict) and behavior
        else None,
        "seeds": behavior.get("config", {}).get("seed") if isinstance(behavior, dict) else None,
        "model_ref": report.model.ref,
        "issued_at": now.isoformat(),
        "expires_at": (now + valid_for).isoformat() if valid_for else None,
    }
    subjects = [{"name": f.path, "digest": {"sha256": f.sha256}} for f in manifest.files]
    subjects.append({"name": ROOT_SUBJECT, "digest": {"sha256": manifest.root_digest}})
    return {
        "_type": STATEMENT_TYPE,
        "subject": subjects,
        "predicateType": PREDICATE_TYPE,
        "predicate": predicate,
    }
