"""TorchScript archives are judged by what their code references (never loaded here)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import torch

from tests.samples.containers import scan_bytes
from warden.formats.torchscript import is_torchscript_resolved, torchscript_code_refs
from warden.report.model import Severity


def _scripted_bytes() -> bytes:
    buf = io.BytesIO()
    torch.jit.save(torch.jit.script(torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.ReLU())), buf)
    return buf.getvalue()


def _with_code(data: bytes, line: str) -> bytes:
    """Rewrite the archive, appending ``line`` to the forward() of its top-level code file (what a
    hand-edited archive looks like: torch.jit.load compiles whatever code it finds)."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    done = False
    with zipfile.ZipFile(out, "w") as z:
        for info in src.infolist():
            body = src.read(info)
            # the first forward() in any code file (its layout depends on what this process already
            # scripted, so no particular line is assumed): the line goes right after the signature
            start = body.find(b"def forward(") if not done and info.filename.endswith(".py") else -1
            if start >= 0:
                end = body.index(b":\n", start) + 2
                body = body[:end] + f"    {line}\n".encode() + body[end:]
                done = True
            z.writestr(info, body)
    assert done, "no forward() found in the TorchScript archive"
    return out.getvalue()


def test_file_op_in_torchscript_code_is_critical(canary: Path, tmp_path: Path) -> None:
    data = _with_code(_scripted_bytes(), f"_f = torch.from_file({str(canary)!r}, True, 4)")
    findings = scan_bytes(tmp_path, "model.pt", data, with_pickle=True)
    (hit,) = [f for f in findings if f.rule_id == "TORCHSCRIPT-FILE-OP"]
    assert hit.severity is Severity.CRITICAL and hit.evidence["operator"] == "torch.from_file"
    assert hit.location.line is not None


def test_custom_op_namespace_is_medium(canary: Path, tmp_path: Path) -> None:
    data = _with_code(_scripted_bytes(), "_f = ops.evilns.run_it(input)")
    findings = scan_bytes(tmp_path, "model.pt", data, with_pickle=True)
    (hit,) = [f for f in findings if f.rule_id == "TORCHSCRIPT-CUSTOM-OP"]
    assert hit.severity is Severity.MEDIUM and hit.evidence["operator"] == "ops.evilns.run_it"


def test_load_library_through_ops_is_critical() -> None:
    refs = torchscript_code_refs(b"def f(x):\n    torch.ops.load_library('/tmp/x.so')\n    return x\n")
    assert [name for name, _ in refs.file_ops] == ["torch.ops.load_library"]


def test_dangerous_global_in_torchscript_pickle_still_reported(canary: Path, tmp_path: Path) -> None:
    """Only torch.jit.load's own globals are cleared: os.system in data.pkl is still critical."""
    from tests.samples import pickles as P

    src = zipfile.ZipFile(io.BytesIO(_scripted_bytes()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for info in src.infolist():
            body = P.os_system(canary, proto=2) if info.filename.endswith("/data.pkl") else src.read(info)
            z.writestr(info, body)
    findings = scan_bytes(tmp_path, "model.pt", out.getvalue(), with_pickle=True)
    assert any(f.rule_id == "PICKLE-DANGEROUS-GLOBAL" and f.severity is Severity.CRITICAL for f in findings)


def test_resolved_globals_are_narrow() -> None:
    assert is_torchscript_resolved("torch.jit._pickle", "build_intlist")
    assert is_torchscript_resolved("__torch__.torch.nn.modules.linear", "Linear")
    assert not is_torchscript_resolved("torch.jit._pickle", "anything_else")
    assert not is_torchscript_resolved("__torch__.x", "__reduce__")
    assert not is_torchscript_resolved("torch.jit", "load")
