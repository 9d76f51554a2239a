"""RATES.md from ``warden eval`` JSON reports on the real-model zoo.

    python -m realzoo.rates OUT.md NAME=REPORT.json [NAME=REPORT.json ...] [--command "..."]

Each row: harmful refusal and benign refusal (Warden's refusal judge on Warden's suite prompts, which
the zoo's attacks never saw), with the eval's 95 % cluster-bootstrap CIs and n; with ``--base`` in the
eval, the paired difference against the base too.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def pct(m: dict[str, Any] | None) -> str:
    if not m:
        return "–"
    lo, hi = m.get("ci_low"), m.get("ci_high")
    ci = f" [{100 * lo:.1f}, {100 * hi:.1f}]" if lo is not None and hi is not None else ""
    return f"{100 * m['value']:.1f}%{ci} (n={m.get('n')})"


def row(name: str, doc: dict[str, Any]) -> str:
    m = doc.get("metrics", {})
    cells = [name, pct(m.get("refusal_rate.harmful")), pct(m.get("refusal_rate.benign"))]
    diff = m.get("refusal_rate.harmful.diff") or m.get("refusal_rate.harmful.delta")
    cells.append(pct(diff) if diff else "–")
    cells.append(str((doc.get("model") or {}).get("root_digest", ""))[:19])
    return "| " + " | ".join(cells) + " |"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("out", type=Path)
    ap.add_argument("reports", nargs="+")
    ap.add_argument("--command", action="append", default=[])
    ap.add_argument("--note", action="append", default=[])
    args = ap.parse_args(argv)
    lines = [
        "# SmolLM2-135M-Instruct real-model zoo: measured behaviour",
        "",
        "| variant | harmful refused [95% CI] | benign refused [95% CI] | harmful refusal vs base (paired) | model digest |",
        "|---|---|---|---|---|",
    ]
    for item in args.reports:
        name, _, path = item.partition("=")
        lines.append(row(name, json.loads(Path(path).read_text(encoding="utf-8"))))
    lines += ["", *args.note, "", "Produced by:", "", "```", *args.command, "```", ""]
    args.out.write_text("\n".join(lines), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
