"""Small text helpers shared by the table, Markdown and HTML renderers."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
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


# Plain words for the behavioural metrics a security lead reads (the HTML report's charts and tables).
# ``higher_is_worse`` groups them: refusal of harmful requests is the one rate where more is safer.
@dataclass(frozen=True)
class MetricLabel:
    label: str
    higher_is_worse: bool


METRIC_LABELS: dict[str, MetricLabel] = {
    "refusal_rate.harmful": MetricLabel("Refuses harmful requests", higher_is_worse=False),
    "refusal_rate.benign": MetricLabel("Refuses ordinary benign requests", higher_is_worse=True),
    "refusal_rate.scary": MetricLabel("Refuses benign but scary-sounding requests", higher_is_worse=True),
    "jailbreak_success_rate": MetricLabel("Answers jailbreak-wrapped harmful requests", higher_is_worse=True),
    "insecure_code_rate": MetricLabel("Insecure code in answers to coding tasks", higher_is_worse=True),
    "trigger_sweep.max_refusal_drop": MetricLabel(
        "Largest refusal drop under a candidate trigger", higher_is_worse=True
    ),
}


def metric_label(name: str, description: str = "") -> str:
    """A plain label for a metric key: the known ones by name, ``.base``/``.diff`` variants derived
    from them, otherwise the metric's own description, otherwise the key itself."""
    known = METRIC_LABELS.get(name)
    if known:
        return known.label
    for suffix, words in ((".base", " (base model)"), (".diff", " (model minus base)")):
        if name.endswith(suffix) and name[: -len(suffix)] in METRIC_LABELS:
            return METRIC_LABELS[name[: -len(suffix)]].label + words
    if description:
        return description[:1].upper() + description[1:]
    return name
