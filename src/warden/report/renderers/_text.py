"""Small text helpers shared by the table and Markdown renderers."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from warden.report.model import Metric, Report, Severity

SEVERITY_STYLE = {
    Severity.CRITICAL: "bold white on red",
    Severity.HIGH: "bold red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}


def evidence_summary(evidence: Mapping[str, Any], limit: int = 160) -> str:
    parts = []
    for key, value in evidence.items():
        text = value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False)
        parts.append(f"{key}={text}")
    joined = "; ".join(parts)
    return joined if len(joined) <= limit else joined[: limit - 1] + "…"


def metric_text(m: Metric) -> str:
    text = f"{m.value:.4g}"
    if m.ci_low is not None and m.ci_high is not None:
        text += f" [{m.ci_low:.3g}, {m.ci_high:.3g}]"
    if m.n is not None:
        text += f" (n={m.n})"
    return text


def severity_counts(report: Report) -> dict[Severity, int]:
    counts = {s: 0 for s in Severity}
    for f in report.findings:
        counts[f.severity] += 1
    return counts
