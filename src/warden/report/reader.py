"""Read a JSON report back (for ``attest``, fleet results, diffs). Untrusted input: validated with
pydantic against the versioned schema before it becomes a ``Report``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from warden.errors import WardenError
from warden.report.model import (
    SCHEMA_VERSION,
    FileDigest,
    Finding,
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

MAX_REPORT_BYTES = 256 * 2**20


class ReportReadError(WardenError):
    """A report file is not a Warden JSON report of a supported schema version."""


class _Loc(BaseModel):
    model_config = ConfigDict(extra="ignore")
    file: str
    member: str | None = None
    offset: int | None = None
    tensor: str | None = None
    line: int | None = None


class _Finding(BaseModel):
    rule_id: str
    severity: Severity
    title: str
    stage: str = "scan"
    location: _Loc
    evidence: dict[str, Any] = {}
    remediation: str = ""


class _Metric(BaseModel):
    value: float
    ci_low: float | None = None
    ci_high: float | None = None
    n: int | None = None
    stage: str = ""
    description: str = ""


class _Stage(BaseModel):
    status: StageStatus
    reason: str = ""
    seconds: float | None = None


class _File(BaseModel):
    path: str
    sha256: str
    size: int


class _Manifest(BaseModel):
    algorithm: str = "sha256"
    root_digest: str
    files: list[_File]


class _Model(BaseModel):
    ref: str
    root_digest: str | None = None
    revision: str | None = None


class _Report(BaseModel):
    model_config = ConfigDict(extra="ignore")
    schema_version: str
    model: _Model
    manifest: _Manifest | None = None
    findings: list[_Finding] = []
    metrics: dict[str, _Metric] = {}
    stages: dict[str, _Stage] = {}
    verdict: Verdict | None = None
    verdict_reasons: list[str] = []
    data: dict[str, Any] = {}


def report_from_dict(doc: Any, path: str | None = None) -> Report:
    try:
        r = _Report.model_validate(doc)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise ReportReadError(
            f"not a Warden JSON report: {err['msg']} at {'.'.join(map(str, err['loc']))}", path=path
        ) from None
    if r.schema_version.split(".")[0] != SCHEMA_VERSION.split(".")[0]:
        raise ReportReadError(
            f"unsupported report schema version {r.schema_version} (this Warden reads {SCHEMA_VERSION})",
            path=path,
        )
    rep = Report(model=ModelRef(ref=r.model.ref, root_digest=r.model.root_digest, revision=r.model.revision))
    if r.manifest:
        rep.manifest = Manifest(
            files=tuple(FileDigest(f.path, f.sha256, f.size) for f in r.manifest.files),
            root_digest=r.manifest.root_digest,
            algorithm=r.manifest.algorithm,
        )
    rep.findings = [
        Finding(
            f.rule_id,
            f.severity,
            f.title,
            Location(**f.location.model_dump()),
            f.evidence,
            f.remediation,
            f.stage,
        )
        for f in r.findings
    ]
    rep.metrics = {
        k: Metric(k, m.value, m.ci_low, m.ci_high, m.n, m.stage, m.description) for k, m in r.metrics.items()
    }
    rep.stages = {k: StageResult(k, s.status, s.reason, s.seconds) for k, s in r.stages.items()}
    rep.verdict = r.verdict
    rep.verdict_reasons = list(r.verdict_reasons)
    rep.data = r.data
    return rep


def read_report(path: Path) -> Report:
    try:
        if path.stat().st_size > MAX_REPORT_BYTES:
            raise ReportReadError("report file is too large", path=str(path))
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ReportReadError("report file not found", path=str(path)) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ReportReadError(f"report is not valid JSON: {exc}", path=str(path)) from None
    return report_from_dict(doc, str(path))
