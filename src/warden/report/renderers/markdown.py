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
        lines += _drift(report.data.get("drift"))
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


def _ci(x: object) -> str:
    if not isinstance(x, dict) or not isinstance(x.get("mean"), (int, float)):
        return "–"
    return f"{x['mean']:+.2f} [{x.get('ci_low', float('nan')):+.2f}, {x.get('ci_high', float('nan')):+.2f}]"


def _drift(d: object) -> list[str]:
    """The drift suite's per-pair table (flagged pairs first) and what the suite cannot see."""
    if not isinstance(d, dict) or not isinstance(d.get("pairs"), list):
        return []
    rows = [r for r in d["pairs"] if isinstance(r, dict)]
    base = bool(d.get("with_base"))
    out = ["## Drift: stance asymmetry per target pair", ""]
    head = "| pair | a vs b | model: stance(a) − stance(b) [95% CI] |"
    head += " base | change vs base | p (Holm) | flagged |" if base else " p (Holm) | flagged |"
    out += [head, "|" + "---|" * (head.count("|") - 1)]
    key = "stance_change" if base else "stance_asymmetry"
    rows.sort(
        key=lambda r: (
            not (r.get("stance_flagged") or r.get("refusal_flagged")),
            -abs(r.get(key, {}).get("mean", 0)),
        )
    )
    for r in rows:
        flag = " + ".join(k for k in ("stance", "refusal") if r.get(f"{k}_flagged"))
        cells = [
            f"`{_cell(str(r.get('pair')))}`",
            _cell(f"{r.get('a')} vs {r.get('b')}"),
            _ci(r.get("stance_asymmetry")),
        ]
        if base:
            cells += [_ci(r.get("base_stance_asymmetry")), _ci(r.get("stance_change"))]
        p = r.get("stance_p_holm")
        cells += [f"{p:.3g}" if isinstance(p, (int, float)) else "–", flag or "no"]
        out.append("| " + " | ".join(cells) + " |")
    out.append("")
    cannot = [c for c in d.get("cannot_see") or [] if isinstance(c, str)]
    if cannot:
        out += ["What this suite cannot see:", ""] + [f"- {_cell(c)}" for c in cannot] + [""]
    return out
