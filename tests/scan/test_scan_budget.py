"""Every file gets a time and memory budget: past it, a finding says so (high when the format can
carry code, so ``--fail-on high`` exits 1) and the scan goes on — never a hang."""

from __future__ import annotations

import io
import json
import random
import signal
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from warden.commands.common import FailOn, exit_code_for
from warden.formats import default_scanners
from warden.formats.interface import FormatScanner, Limits, ScanContext
from warden.report.model import Finding, Location, Severity, StageStatus
from warden.rules import get_rule
from warden.scan.api import checked_anything, scan_model
from warden.scan.budget import FileBudget, watchdog
from warden.scan.core import Scanner


def _pathological_template(rng: random.Random, n: int) -> str:
    """Thousands of guarded pieces and chained sets: expensive to analyse and render, valid Jinja."""
    words = ["alpha", "beta", "gamma", "delta", "omega", "sigma"]
    parts = []
    for i in range(n):
        w = " ".join(rng.choice(words) for _ in range(4))
        parts.append(
            f"{{% if m.role == 'r{i}' %}}{{{{ '{w} {i} ' ~ m.content ~ ' {w}' }}}}"
            f"{{% set x{i + 1} = m.content ~ x{i} %}}{{% endif %}}"
        )
    return "{% for m in messages %}" + "".join(parts) + "{% endfor %}"


def test_oversized_template_json_stops_at_its_budget(canary: Path, tmp_path: Path) -> None:
    rng = random.Random()
    payload = f"{{{{ cycler.__init__.__globals__.os.popen('touch {canary}').read() }}}}"
    cfg = {
        "chat_template": _pathological_template(rng, rng.randint(5000, 6000)) + payload,
        "eos_token": "</s>",
    }
    (tmp_path / "tokenizer_config.json").write_text(json.dumps(cfg))
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "llama"}))
    budget = 1.5
    started = time.monotonic()
    report = scan_model(tmp_path, limits=Limits(max_file_seconds=budget), manifest=False)
    took = time.monotonic() - started
    assert took < budget + 15, took  # a tick after the deadline, plus tearing down the render child
    (hit,) = [f for f in report.findings if f.rule_id == "SCAN-BUDGET-EXCEEDED"]
    assert hit.severity is Severity.HIGH and hit.location.file == "tokenizer_config.json"
    assert hit.evidence["limit"] == "time"
    outcomes = {o["path"]: o["status"] for o in report.data["scan"]["files"]}
    assert outcomes == {"tokenizer_config.json": "budget", "config.json": "scanned"}
    # the other file was checked; the model as a whole could not be: the stage says so
    assert checked_anything(report) and report.stages["scan"].status is StageStatus.FAILED
    assert "could not be checked" in report.stages["scan"].reason
    assert exit_code_for(report, FailOn.high, checked_anything(report)) == 1


class _Forever(FormatScanner):
    """A parser stuck in a loop that never yields (the worst case for cooperative checks)."""

    name = "forever"
    malformed_rule = get_rule("SCAN-INTERNAL-ERROR")

    def sniff(self, head: bytes, name: str) -> bool:
        return name.endswith(".loop")

    def scan(self, stream: BinaryIO, size: int, location: Location, ctx: ScanContext) -> Iterator[Finding]:
        n = 0
        while True:
            n += 1
        yield  # pragma: no cover


def test_a_parser_that_never_returns_is_interrupted(tmp_path: Path) -> None:
    (tmp_path / "model.loop").write_bytes(b"x")
    scanner = Scanner([_Forever()], Limits(max_file_seconds=0.5))
    started = time.monotonic()
    findings = list(scanner.scan_file(tmp_path / "model.loop", "model.loop", tmp_path))
    assert time.monotonic() - started < 5
    assert [f.rule_id for f in findings] == ["SCAN-BUDGET-EXCEEDED"]
    assert scanner.outcomes[-1].status == "budget"


def test_budget_reaches_into_archive_members_and_names_them(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("inner/model.loop", b"x")
    (tmp_path / "bundle.zip").write_bytes(buf.getvalue())
    from warden.formats.zipfile import ZipScanner

    scanner = Scanner([ZipScanner(), _Forever()], Limits(max_file_seconds=0.5))
    findings = list(scanner.scan_file(tmp_path / "bundle.zip", "bundle.zip", tmp_path))
    (hit,) = [f for f in findings if f.rule_id == "SCAN-BUDGET-EXCEEDED"]
    assert hit.severity is Severity.HIGH and hit.evidence["member"] == "inner/model.loop"


def test_weights_only_format_over_budget_is_medium(tmp_path: Path) -> None:
    import numpy as np
    from safetensors.numpy import save

    (tmp_path / "model.safetensors").write_bytes(save({"w": np.ones((4, 4), dtype=np.float32)}))
    scanner = Scanner(default_scanners(), Limits(max_file_seconds=-1))
    findings = list(scanner.scan_file(tmp_path / "model.safetensors", "model.safetensors", tmp_path))
    (hit,) = [f for f in findings if f.rule_id == "SCAN-BUDGET-EXCEEDED"]
    assert hit.severity is Severity.MEDIUM


def test_memory_budget(tmp_path: Path) -> None:
    """A member that inflates in memory past the allowance stops the file with limit=memory."""
    block = random.Random().randbytes(1 << 20)
    # written in 1 MiB steps so that the test itself frees no big buffer the scan could reuse
    with zipfile.ZipFile(tmp_path / "big.zip", "w", compression=zipfile.ZIP_DEFLATED) as z:
        for member in ("data.bin", "more.bin"):
            with z.open(member, "w") as fh:
                for _ in range(14):  # 14 MiB: inflated into an in-memory spool
                    fh.write(block)
    scanner = Scanner(default_scanners(), Limits(max_file_memory=2 << 20, max_compression_ratio=1e9))
    findings = list(scanner.scan_file(tmp_path / "big.zip", "big.zip", tmp_path))
    hits = [f for f in findings if f.rule_id == "SCAN-BUDGET-EXCEEDED"]
    assert hits and hits[0].evidence["limit"] == "memory"


def test_memory_budget_counts_spools_when_rss_does_not_grow(tmp_path: Path, monkeypatch: Any) -> None:
    """The allocator may reuse memory freed by earlier work, so RSS need not grow while a member is
    inflated into memory (the CI failure of stop 22). The bytes held in spools are counted anyway."""
    import warden.scan.budget as budget_mod

    monkeypatch.setattr(budget_mod, "rss_bytes", lambda: 1 << 30)  # flat: RSS says nothing
    block = random.Random().randbytes(1 << 20)
    with zipfile.ZipFile(tmp_path / "big.zip", "w", compression=zipfile.ZIP_DEFLATED) as z:
        with z.open("data.bin", "w") as fh:
            for _ in range(4):
                fh.write(block)
    scanner = Scanner(default_scanners(), Limits(max_file_memory=2 << 20, max_compression_ratio=1e9))
    findings = list(scanner.scan_file(tmp_path / "big.zip", "big.zip", tmp_path))
    hits = [f for f in findings if f.rule_id == "SCAN-BUDGET-EXCEEDED"]
    assert hits and hits[0].evidence["limit"] == "memory"
    # under the allowance the same archive is scanned whole, and nothing stays charged
    scanner = Scanner(default_scanners(), Limits(max_file_memory=8 << 20, max_compression_ratio=1e9))
    findings = list(scanner.scan_file(tmp_path / "big.zip", "big.zip", tmp_path))
    assert not [f for f in findings if f.rule_id == "SCAN-BUDGET-EXCEEDED"]


def test_watchdog_restores_the_previous_alarm() -> None:
    fired: list[int] = []
    old = signal.signal(signal.SIGALRM, lambda s, f: fired.append(s))
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.6)
        with watchdog(FileBudget(Limits(), 0)):
            time.sleep(0.2)
        assert signal.getsignal(signal.SIGALRM) is not None and not fired
        time.sleep(0.8)
        assert fired == [signal.SIGALRM]
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def test_default_budget_scales_with_size() -> None:
    small, big = FileBudget(Limits(), 1 << 20), FileBudget(Limits(), 100 << 30)
    assert small.seconds < 125 and big.seconds > 3000
