"""The one contract between stages: ``Finding`` and ``Report``.

Every stage (scan, forensics, eval, audit) produces findings, metrics and a stage result; every
renderer consumes a ``Report``. The JSON form is versioned by ``SCHEMA_VERSION``: scripts and CI rely
on its top-level names, so change them only with a version bump.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

SCHEMA_VERSION = "1.0"


class Severity(str, enum.Enum):
    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _SEVERITY_ORDER.index(self)

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank >= other.rank

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank > other.rank

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank <= other.rank

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank < other.rank


_SEVERITY_ORDER = [Severity.INFO, Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL]


class Verdict(str, enum.Enum):
    PASS = "pass"  # noqa: S105 - a verdict, not a password
    WARN = "warn"
    FAIL = "fail"
    # A stage the policy needs could not run, or a stage errored: there is not enough evidence for a
    # pass, and no finding that fails the model either. Exit code 2, never accepted by ``verify``.
    INCOMPLETE = "incomplete"


class StageStatus(str, enum.Enum):
    RAN = "ran"
    SKIPPED = "skipped"
    FAILED = "failed"


@dataclass(frozen=True)
class Location:
    """Where a finding points. ``file`` is relative to the model root; ``member`` is the path inside
    an archive (nested archives joined with ``!``); ``offset`` is a byte offset inside the innermost
    stream; ``tensor`` names a tensor; ``line`` a 1-based line in a text file."""

    file: str
    member: str | None = None
    offset: int | None = None
    tensor: str | None = None
    line: int | None = None

    def child(self, member: str) -> Location:
        """The location of ``member`` inside the archive this location points at."""
        joined = f"{self.member}!{member}" if self.member else member
        return Location(file=self.file, member=joined)

    def at(
        self, *, offset: int | None = None, tensor: str | None = None, line: int | None = None
    ) -> Location:
        return Location(
            file=self.file,
            member=self.member,
            offset=offset if offset is not None else self.offset,
            tensor=tensor if tensor is not None else self.tensor,
            line=line if line is not None else self.line,
        )

    def display(self) -> str:
        text = self.file
        if self.member:
            text += f"!{self.member}"
        if self.tensor:
            text += f"[{self.tensor}]"
        if self.line is not None:
            text += f":{self.line}"
        if self.offset is not None:
            text += f"@{self.offset}"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass(frozen=True)
class Finding:
    rule_id: str
    severity: Severity
    title: str
    location: Location
    evidence: Mapping[str, Any] = field(default_factory=dict)
    remediation: str = ""
    stage: str = "scan"

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule_id,
            "severity": self.severity.value,
            "title": self.title,
            "stage": self.stage,
            "location": self.location.to_dict(),
            "evidence": _jsonable(self.evidence),
            "remediation": self.remediation,
        }


@dataclass(frozen=True)
class Metric:
    """A measured number with its 95% confidence interval (``ci_low``/``ci_high`` may be None for
    exact quantities) and the number of units it was measured on."""

    name: str
    value: float
    ci_low: float | None = None
    ci_high: float | None = None
    n: int | None = None
    stage: str = ""
    description: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "n": self.n,
            "stage": self.stage,
            "description": self.description,
        }


@dataclass(frozen=True)
class StageResult:
    name: str
    status: StageStatus
    reason: str = ""
    seconds: float | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"status": self.status.value, "reason": self.reason}
        if self.seconds is not None:
            out["seconds"] = round(self.seconds, 3)
        return out


@dataclass(frozen=True)
class FileDigest:
    path: str  # relative, POSIX separators
    sha256: str
    size: int

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "sha256": self.sha256, "size": self.size}


@dataclass(frozen=True)
class Manifest:
    """Per-file digests sorted by path plus a root digest over them (see ``warden.scan.manifest``)."""

    files: tuple[FileDigest, ...]
    root_digest: str
    algorithm: str = "sha256"

    def to_dict(self) -> dict[str, Any]:
        return {
            "algorithm": self.algorithm,
            "root_digest": self.root_digest,
            "files": [f.to_dict() for f in self.files],
        }


@dataclass(frozen=True)
class ModelRef:
    ref: str  # what the user named: a path or a hub id (with revision)
    root_digest: str | None = None
    resolved_path: str | None = None
    revision: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"ref": self.ref, "root_digest": self.root_digest}
        if self.revision:
            out["revision"] = self.revision
        return out


@dataclass
class Report:
    """Everything one run of Warden established about one model."""

    model: ModelRef
    manifest: Manifest | None = None
    findings: list[Finding] = field(default_factory=list)
    metrics: dict[str, Metric] = field(default_factory=dict)
    stages: dict[str, StageResult] = field(default_factory=dict)
    verdict: Verdict | None = None
    verdict_reasons: list[str] = field(default_factory=list)
    # Plot-ready data and per-stage details (e.g. per-layer energy profiles), keyed by stage.
    data: dict[str, Any] = field(default_factory=dict)

    def add(self, findings: Iterable[Finding]) -> None:
        self.findings.extend(findings)

    def add_metric(self, metric: Metric) -> None:
        self.metrics[metric.name] = metric

    def max_severity(self) -> Severity | None:
        if not self.findings:
            return None
        return max((f.severity for f in self.findings), key=lambda s: s.rank)

    def at_or_above(self, threshold: Severity) -> list[Finding]:
        return [f for f in self.findings if f.severity >= threshold]

    def evidence_gaps(self) -> list[str]:
        """What an audit verdict rests on no evidence of, in plain words (shown in every renderer's
        banner): the behavioural stage or the weight forensics did not run."""
        if self.verdict is None:
            return []
        gaps = []
        for stage, what in (("eval", "behaviour evidence"), ("forensics", "weight evidence")):
            st = self.stages.get(stage)
            if st is None or st.status is not StageStatus.RAN:
                why = f"{stage} {st.status.value}: {st.reason}" if st else f"{stage} not run"
                gaps.append(f"no {what} ({why})")
        return gaps

    def sorted_findings(self) -> list[Finding]:
        return sorted(
            self.findings,
            key=lambda f: (
                -f.severity.rank,
                f.location.file,
                f.location.member or "",
                f.location.offset or 0,
                f.rule_id,
            ),
        )

    def to_dict(self) -> dict[str, Any]:
        from warden import __version__

        return {
            "schema_version": SCHEMA_VERSION,
            "tool": {"name": "warden", "version": __version__},
            "model": self.model.to_dict(),
            "manifest": self.manifest.to_dict() if self.manifest else None,
            "findings": [f.to_dict() for f in self.sorted_findings()],
            "metrics": {name: m.to_dict() for name, m in sorted(self.metrics.items())},
            "stages": {name: s.to_dict() for name, s in self.stages.items()},
            "verdict": self.verdict.value if self.verdict else None,
            "verdict_reasons": list(self.verdict_reasons),
            "data": _jsonable(self.data),
        }


def _jsonable(value: Any) -> Any:
    """Make evidence JSON-safe and deterministic (bytes → hex preview, tuples → lists, numpy → py)."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [_jsonable(v) for v in value]
        return sorted(items, key=repr) if isinstance(value, (set, frozenset)) else items
    if isinstance(value, bytes):
        return value[:64].hex() + ("…" if len(value) > 64 else "")
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, str):
        # untrusted strings may carry lone surrogates (from bytes decoded with surrogateescape):
        # they cannot be encoded as UTF-8 JSON, so replace them at the contract level
        return value.encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, (int, float, bool)) or value is None:
        if isinstance(value, float) and value != value:  # NaN is not valid JSON
            return None
        return value
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item):
        try:
            return _jsonable(item())
        except (TypeError, ValueError):
            pass
    tolist = getattr(value, "tolist", None)
    if callable(tolist):
        return _jsonable(tolist())
    return str(value)
