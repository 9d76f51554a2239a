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

__all__ = [
    "SCHEMA_VERSION",
    "FileDigest",
    "Finding",
    "Location",
    "Manifest",
    "Metric",
    "ModelRef",
    "Report",
    "Severity",
    "StageResult",
    "StageStatus",
    "Verdict",
]
