"""A self-contained HTML report: one file, no network, no external scripts or fonts.

Verdict first, with what it rests on no evidence of ("no behaviour evidence …"); then the findings,
each with its evidence as readable fields, what to do about it, and — for a behavioural finding — the
example prompts and responses behind it; then charts drawn as inline SVG by a small script from the
report JSON embedded in the page: behavioural rates with 95% CIs (model vs base where there is one,
the policy threshold drawn), the base-free forensic score and per-layer suppression along the
recovered direction, the trigger sweep, the tensor diff map, and the drift suite's stance
asymmetry per target pair (model vs base) with what that suite cannot see. Hand-written because any charting
library would have to be inlined (hundreds of KB) to keep the page offline.

The banner is rendered here, not by the script, so the verdict and the evidence gaps read the same
with scripts blocked.
"""

from __future__ import annotations

import html
import json
import math
from pathlib import Path

from warden.report.model import Report, Verdict
from warden.report.renderers._text import METRIC_LABELS, metric_label
from warden.report.renderers.interface import Renderer

_ASSETS = Path(__file__).parent / "html_assets"

# One line under the verdict: what it means for the person deciding whether to deploy.
_MEANING = {
    Verdict.PASS: "No finding or metric crossed the policy's thresholds.",
    Verdict.WARN: "Usable with care: findings or metrics crossed a warning threshold.",
    Verdict.FAIL: "Do not deploy: a finding or metric crossed a failing threshold.",
    Verdict.INCOMPLETE: "Not enough evidence for a verdict: a stage the policy requires did not run "
    "or errored. This is not a pass.",
}
_MAX_REASONS = 12


def _finite(obj: object) -> object:
    """NaN and infinities become null: ``JSON.parse`` rejects them, and one would stop the page's
    script (a metric's value can be NaN: ``Metric.to_dict`` passes floats through as they are)."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_finite(v) for v in obj]
    return obj


def _embed_json(obj: object) -> str:
    # Safe inside <script type="application/json">: no "</" can close the element early.
    text = json.dumps(_finite(obj), ensure_ascii=False, allow_nan=False)
    return text.replace("</", "<\\/").replace("<!--", "<\\!--")


def _banner(report: Report) -> str:
    e = html.escape
    verdict = report.verdict
    key = verdict.value if verdict else "none"
    if verdict is None:
        stages = ", ".join(report.stages) or "no stage"
        meaning = f"No verdict: this is a {stages} report, not an audit under a policy."
    else:
        meaning = _MEANING[verdict]
    gaps = "".join(f'<li class="gap">{e(g)}</li>' for g in report.evidence_gaps())
    # a reason that only repeats the meaning line ("no finding … crossed …") is not listed twice
    reasons = [
        r for r in report.verdict_reasons if r.strip().rstrip(".").lower() != meaning.rstrip(".").lower()
    ]
    items = "".join(f"<li>{e(r)}</li>" for r in reasons[:_MAX_REASONS])
    if len(reasons) > _MAX_REASONS:
        items += f"<li>… {len(reasons) - _MAX_REASONS} more</li>"
    stages = "".join(
        f'<li class="stage stage-{e(s.status.value)}" title="{e(s.reason)}">'
        f"{e(name)}: <b>{e(s.status.value)}</b>{(' — ' + e(s.reason)) if s.reason else ''}</li>"
        for name, s in report.stages.items()
    )
    return f"""<header class="verdict verdict-{e(key)}" id="verdict" data-verdict="{e(key)}">
  <div class="verdict-label">Verdict</div>
  <div class="verdict-value" id="verdict-value">{e(key.upper() if verdict else "NO VERDICT")}</div>
  <div class="verdict-meaning" id="verdict-meaning">{e(meaning)}</div>
  <div class="model">{e(report.model.ref)}</div>
  {f'<ul class="gaps" id="gaps">{gaps}</ul>' if gaps else ""}
  {f'<ul class="reasons" id="reasons">{items}</ul>' if items else ""}
  {f'<ul class="stage-strip" id="stage-strip">{stages}</ul>' if stages else ""}
</header>"""


def _view(report: Report) -> dict[str, object]:
    """Presentation data the script needs beside the report itself: plain metric labels."""
    labels: dict[str, dict[str, object]] = {}
    for name, m in report.metrics.items():
        known = METRIC_LABELS.get(name.removesuffix(".base").removesuffix(".diff"))
        labels[name] = {
            "label": metric_label(name, m.description),
            "higher_is_worse": known.higher_is_worse if known else None,
        }
    return {"labels": labels}


class HtmlRenderer(Renderer):
    name = "html"
    media_type = "text/html"
    extension = ".html"

    def render(self, report: Report) -> str:
        doc = report.to_dict()
        title = f"Warden report — {report.model.ref}"
        css = (_ASSETS / "report.css").read_text(encoding="utf-8")
        js = (_ASSETS / "report.js").read_text(encoding="utf-8")
        return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>{html.escape(title)}</title>
<style>{css}</style>
</head>
<body>
{_banner(report)}
<main>
  <section id="summary"><h2>Summary</h2><div id="summary-body"></div></section>
  <section id="findings"><h2>Findings</h2>
    <div class="filters">
      <label>severity ≥ <select id="f-sev"><option value="info">info</option><option value="low">low</option><option value="medium">medium</option><option value="high">high</option><option value="critical">critical</option></select></label>
      <label>stage <select id="f-stage"><option value="">all</option></select></label>
      <label>search <input id="f-text" type="search" placeholder="rule, file, text"></label>
      <span id="f-count"></span>
    </div>
    <div id="findings-list"></div>
  </section>
  <section id="charts"><h2>Charts</h2>
    <div class="chart" id="chart-refusal"><h3 id="chart-refusal-title">Behaviour: rates with 95% confidence intervals</h3></div>
    <div class="chart" id="chart-energy"><h3>Forensics: is a residual-stream direction erased in the weights?</h3></div>
    <div class="chart" id="chart-trigger"><h3>Trigger sweep</h3></div>
    <div class="chart" id="chart-diff"><h3>Tensor diff map (relative ‖ΔW‖ vs base)</h3></div>
    <div class="chart" id="chart-drift"><h3>Drift: stance asymmetry per target pair</h3></div>
  </section>
  <section id="examples"><h2>Example prompts and responses</h2><div id="examples-body"></div></section>
  <section id="metrics"><h2>Metrics</h2><table id="metrics-table"><thead><tr><th>metric</th><th>key</th><th>value</th><th>95% CI</th><th>n</th></tr></thead><tbody></tbody></table></section>
  <section id="stages"><h2>Stages</h2><table id="stages-table"><thead><tr><th>stage</th><th>status</th><th>reason</th><th>seconds</th></tr></thead><tbody></tbody></table></section>
  <section id="manifest"><h2>Files</h2><table id="manifest-table"><thead><tr><th>file</th><th>size</th><th>sha256</th></tr></thead><tbody></tbody></table></section>
</main>
<footer>Generated by {html.escape(doc["tool"]["name"])} {html.escape(doc["tool"]["version"])} · schema {html.escape(doc["schema_version"])}</footer>
<script type="application/json" id="report-data">{_embed_json(doc)}</script>
<script type="application/json" id="report-view">{_embed_json(_view(report))}</script>
<script>{js}</script>
</body>
</html>
"""
