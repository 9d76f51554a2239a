"""`warden forensics` on the command line: JSON output, exit codes, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.forensics import edits as E
from tests.forensics import models as MD
from warden.cli import main


@pytest.fixture(scope="module")
def ablated(tmp_path_factory: pytest.TempPathFactory, tiny_llama: Path) -> Path:
    sd = E.load(tiny_llama / "model.safetensors")
    r = E.random_direction(64, 4)
    out = E.ablate(sd, MD.llama_writers(4), r, 1.0, embedding="model.embed_tokens.weight")
    return E.save(out, tmp_path_factory.mktemp("cli") / "abl", like=tiny_llama)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    rc = main(["forensics", *args])
    captured = capsys.readouterr()
    run.err = captured.err  # type: ignore[attr-defined]
    return rc, captured.out


def test_json_report_and_exit_1_on_ablation(capsys, ablated: Path, tiny_llama: Path) -> None:
    rc, out = run(capsys, str(ablated), "--base", str(tiny_llama), "--format", "json", "-q")
    assert rc == 1
    doc = json.loads(out)
    ids = {f["rule_id"] for f in doc["findings"]}
    assert {"FORENSICS-ABLATION-DIRECTIONAL", "FORENSICS-ABLATION-BASEFREE"} <= ids
    assert doc["stages"]["forensics"]["status"] == "ran"
    fd = doc["data"]["forensics"]
    assert len(fd["basefree"]["energy_profile"]) == 4
    assert all(t["rel_norm"] is not None for t in fd["diff"]["tensors"])
    assert doc["metrics"]["forensics.basefree.score"]["n"] == 8


def test_clean_exits_0_and_fail_on_never(capsys, ablated: Path, tiny_llama: Path) -> None:
    assert run(capsys, str(tiny_llama), "--format", "json", "-q")[0] == 0
    assert run(capsys, str(ablated), "--fail-on", "never", "--format", "json", "-q")[0] == 0


def test_output_file_and_other_formats(capsys, ablated: Path, tmp_path: Path) -> None:
    out = tmp_path / "r" / "report.json"
    rc, _ = run(capsys, str(ablated), "--format", "json", "--output", str(out), "-q")
    assert rc == 1 and json.loads(out.read_text())["findings"]
    for fmt in ("markdown", "sarif"):
        rc, text = run(capsys, str(ablated), "--format", fmt, "-q")
        assert rc == 1 and "FORENSICS-ABLATION-BASEFREE" in text


def test_errors_exit_2(capsys, tmp_path: Path) -> None:
    assert run(capsys, str(tmp_path / "missing"), "-q")[0] == 2
    assert "no such file" in run.err  # type: ignore[attr-defined]
    (tmp_path / "pytorch_model.bin").write_bytes(b"\x80\x04K\x01.")
    assert run(capsys, str(tmp_path), "-q")[0] == 2
    assert "pickle" in run.err and "pytorch_model.bin" in run.err  # type: ignore[attr-defined]


def test_unknown_architecture_exits_2(capsys, tmp_path: Path) -> None:
    import torch
    from safetensors.torch import save_file

    save_file({"foo.weight": torch.randn(4, 4)}, str(tmp_path / "model.safetensors"))
    rc, out = run(capsys, str(tmp_path), "--format", "json", "-q")
    assert rc == 2 and "FORENSICS-UNKNOWN-ARCH" in out
