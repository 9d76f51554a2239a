"""Markdown report (for pull requests, tickets and wikis)."""

from __future__ import annotations

from warden.report.model import Report, Severity
from warden.report.renderers._text import evidence_summary, metric_text, severity_counts
from warden.report.renderers.interface import Renderer


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


class MarkdownRenderer(Renderer):
    name = "markdown"
    media_type = "text/markdown"
    extension = ".md"

    def render(self, report: Report) -> str:
        m = report.model
        lines = [f"# Warden report: `{m.ref}`", ""]
        if report.verdict:
            lines += [f"**Verdict: {report.verdict.value.upper()}**", ""]
            lines += [f"> **{_cell(gap)}**" for gap in report.evidence_gaps()] + (
                [""] if report.evidence_gaps() else []
            )
            lines += [f"- {_cell(r)}" for r in report.verdict_reasons] + (
                [""] if report.verdict_reasons else []
            )
        if m.root_digest:
            lines += [
                f"Root SHA-256: `{m.root_digest}`" + (f" (revision `{m.revision}`)" if m.revision else ""),
                "",
            ]
        counts = severity_counts(report)
        lines += [
            "| " + " | ".join(s.value for s in reversed(list(Severity))) + " |",
            "|" + "---|" * len(Severity),
        ]
        lines += ["| " + " | ".join(str(counts[s]) for s in reversed(list(Severity))) + " |", ""]
        if report.stages:
            lines += ["## Stages", "", "| stage | status | reason |", "|---|---|---|"]
            for name, st in report.stages.items():
                lines.append(f"| {name} | {st.status.value} | {_cell(st.reason)} |")
            lines.append("")
        lines += ["## Findings", ""]
        findings = report.sorted_findings()
        if findings:
            lines += ["| severity | rule | location | title | evidence |", "|---|---|---|---|---|"]
            for f in findings:
                lines.append(
                    f"| {f.severity.value} | `{f.rule_id}` | `{_cell(f.location.display())}` | {_cell(f.title)} | "
                    f"{_cell(evidence_summary(f.evidence))} |"
                )
        else:
            lines.append("No findings.")
        lines.append("")
        if report.metrics:
            lines += ["## Metrics", "", "| metric | value [95% CI] (n) |", "|---|---|"]
            for name, metric in sorted(report.metrics.items()):
                lines.append(f"| {name} | {metric_text(metric)} |")
            lines.append("")
        if report.manifest:
            lines += [
                f"## Manifest ({len(report.manifest.files)} files)",
                "",
                "| file | size | sha256 |",
                "|---|---|---|",
            ]
            for fd in report.manifest.files:
                lines.append(f"| `{_cell(fd.path)}` | {fd.size} | `{fd.sha256}` |")
            lines.append("")
        return "\n".join(lines)
