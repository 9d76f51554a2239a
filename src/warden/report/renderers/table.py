"""Terminal table (rich). ``render`` gives plain text (for files/CI), ``print`` draws to a console."""

from __future__ import annotations

import io

from rich.console import Console
from rich.table import Table

from warden.report.model import Report, Severity
from warden.report.renderers._text import SEVERITY_STYLE, evidence_summary, metric_text, severity_counts
from warden.report.renderers.interface import Renderer


class TableRenderer(Renderer):
    name = "table"
    media_type = "text/plain"
    extension = ".txt"

    def render(self, report: Report) -> str:
        buf = io.StringIO()
        self.print(report, Console(file=buf, width=160, no_color=True, force_terminal=False))
        return buf.getvalue()

    def print(self, report: Report, console: Console) -> None:
        m = report.model
        console.print(
            f"[bold]Warden report[/] for [bold]{m.ref}[/]"
            + (f"  (revision {m.revision})" if m.revision else "")
        )
        if m.root_digest:
            console.print(f"root sha256: {m.root_digest}", highlight=False)
        for name, stage in report.stages.items():
            extra = f" — {stage.reason}" if stage.reason else ""
            console.print(f"stage {name}: {stage.status.value}{extra}", highlight=False)
        everything = report.sorted_findings()
        findings = [f for f in everything if f.severity is not Severity.INFO]
        hidden = len(everything) - len(findings)
        if findings:
            table = Table(title=f"{len(findings)} finding(s)", show_lines=False, expand=False)
            table.add_column("severity")
            table.add_column("rule")
            table.add_column("location", overflow="fold")
            table.add_column("title", overflow="fold")
            table.add_column("evidence", overflow="fold", max_width=60)
            for f in findings:
                table.add_row(
                    f"[{SEVERITY_STYLE[f.severity]}]{f.severity.value}[/]",
                    f.rule_id,
                    f.location.display(),
                    f.title,
                    evidence_summary(f.evidence, limit=110),
                )
            console.print(table)
        else:
            console.print("[green]no findings at low severity or above[/]")
        if hidden:
            console.print(f"[dim]{hidden} info-level note(s) not shown (see --format json or markdown)[/]")
        if report.metrics:
            mt = Table(title="metrics")
            mt.add_column("metric")
            mt.add_column("value [95% CI] (n)")
            for name, metric in sorted(report.metrics.items()):
                mt.add_row(name, metric_text(metric))
            console.print(mt)
        counts = severity_counts(report)
        summary = ", ".join(f"{counts[s]} {s.value}" for s in reversed(list(Severity)) if counts[s])
        console.print(f"summary: {summary or 'clean'}", highlight=False)
        if report.manifest:
            console.print(f"manifest: {len(report.manifest.files)} file(s) hashed", highlight=False)
        if report.verdict:
            style = {
                "pass": "bold green",
                "warn": "bold yellow",
                "fail": "bold red",
                "incomplete": "bold magenta",
            }[report.verdict.value]
            console.print(f"verdict: [{style}]{report.verdict.value.upper()}[/]")
            for gap in report.evidence_gaps():
                console.print(f"  [bold]![/] {gap}", highlight=False)
            for reason in report.verdict_reasons:
                console.print(f"  - {reason}", highlight=False)
