"""The activation signal's plumbing: when it runs, when it is skipped (and says why), its prompt split,
and how its verdict reaches the report. Detection rates are in test_basefree_grid.py."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import pytest

from tests.forensics import heretic_grid as G
from warden.behavior.suites import load_suite
from warden.cli import main
from warden.forensics import ForensicsConfig, run_forensics
from warden.forensics.activation import (
    ActivationResult,
    _cluster_parity,
    combine,
    family_threshold,
    run_activation,
    steer_indices,
    suite_split,
)
from warden.forensics.config import ActivationConfig

needs_zoo = pytest.mark.skipif(
    not (G.ZOO / "base" / "config.json").exists(), reason="organisms/zoo not built"
)


def test_detector_and_held_out_prompts_share_no_cluster() -> None:
    for suite in ("harmful", "benign"):
        prompts = load_suite(suite)
        det, held = set(suite_split(suite)), set(suite_split(suite, detector=False))
        assert det and held and not det & held
        assert det | held == {p.prompt for p in prompts}
        clusters = {p.cluster_id for p in prompts if p.prompt in det}
        assert not clusters & {p.cluster_id for p in prompts if p.prompt in held}
        assert {_cluster_parity(c) for c in clusters} == {0}


def test_steer_indices_stay_inside_the_stack() -> None:
    assert steer_indices(1, 4) == []
    assert steer_indices(4, 4) == [1, 2, 3]
    idx = steer_indices(32, 4)
    assert len(idx) == 4 and idx[0] == 1 and idx[-1] == 31


def test_skips_say_why(tmp_path: Path, tiny_llama: Path) -> None:
    cfg = ActivationConfig()
    assert run_activation(tiny_llama, 10, cfg).reason == "skipped: no tokenizer files next to the weights"
    assert run_activation(tiny_llama / "model.safetensors", 10, cfg).reason.startswith(
        "skipped: no tokenizer"
    )
    assert run_activation(tmp_path / "none", 10, cfg).reason.startswith("skipped: not a model directory")
    assert "over the CPU cap" in run_activation(tiny_llama, 10**10, cfg).reason
    remote = tmp_path / "remote"
    shutil.copytree(tiny_llama, remote)
    conf = json.loads((remote / "config.json").read_text())
    (remote / "config.json").write_text(json.dumps(conf | {"auto_map": {"AutoModel": "x.Model"}}))
    (remote / "tokenizer.json").write_text("{}")
    assert "auto_map" in run_activation(remote, 10, cfg).reason
    off = run_activation(tiny_llama, 10, ActivationConfig(enabled=False))
    assert not off.ran and off.reason == "skipped: disabled in the configuration"


@needs_zoo
def test_gguf_gets_both_signals(capsys: pytest.CaptureFixture[str]) -> None:
    """A GGUF file is loaded through transformers' GGUF loader for the activation signal."""
    g = G.ZOO / "abliterated-gguf" / "abliterated-Q8_0.gguf"
    rc = main(["forensics", str(g), "--format", "json", "-q"])
    doc = json.loads(capsys.readouterr().out)
    assert rc == 1 and doc["stages"]["forensics"]["status"] == "ran"
    fd = doc["data"]["forensics"]
    assert fd["activation"]["ran"] and fd["activation"]["flagged"], fd["activation"]
    (f,) = [f for f in doc["findings"] if f["rule_id"] == "FORENSICS-ABLATION-BASEFREE"]
    assert f["evidence"]["signals"] == ["weight_energy", "activation"]
    assert f["evidence"]["kind"] == "classic"


def test_unloadable_gguf_is_skipped_with_a_reason(tmp_path: Path) -> None:
    bad = tmp_path / "m.gguf"
    bad.write_bytes(b"GGUF" + b"\0" * 64)
    res = run_activation(bad, 10, ActivationConfig())
    assert not res.ran and res.reason.startswith("skipped: transformers could not load the GGUF file")


@needs_zoo
def test_reflected_edit_is_reported_by_the_activation_signal(tmp_path: Path) -> None:
    """A uniform weight drawn from 1.8-2.0 on every writer (global direction): the weight-energy signal
    sees little lost energy; the finding comes from the activation signal and says so."""
    seed = G.run_seed()
    rng = random.Random(seed)
    org = G.Organism(seed)
    v = G.draw(rng, org.n_layers, "uniform", "global", "none", "fp32", (1.8, 2.0))
    sd = org.edit(v)
    assert org.refusal(sd) <= 0.5 * org.base_refusal, (seed, v)
    rep = run_forensics(org.save(sd, tmp_path / "reflected"))
    fd = rep.data["forensics"]
    assert fd["activation"]["ran"] and fd["activation"]["flagged"], (seed, fd["activation"])
    (f,) = [f for f in rep.findings if f.rule_id == "FORENSICS-ABLATION-BASEFREE"]
    assert "activation" in f.evidence["signals"]
    assert f.evidence["activation"]["score"] >= f.evidence["activation"]["threshold"]
    assert fd["combined"]["flagged"] and fd["combined"]["ratio"] >= 1.0
    assert rep.metrics["forensics.activation.score"].value == fd["activation"]["score"]
    # with the activation signal off, the same model passes the weight signal alone (the gap #21 closes)
    off = run_forensics(
        tmp_path / "reflected", config=ForensicsConfig(activation=ActivationConfig(enabled=False))
    )
    weight_alone = off.data["forensics"]["basefree"]["flagged"]
    assert weight_alone == any(x.rule_id == "FORENSICS-ABLATION-BASEFREE" for x in off.findings)


def test_uncalibrated_family_reports_without_a_verdict() -> None:
    """A family without a clean null (e.g. SmolLM2-135M: llama/30/576) gets its score and no flag."""
    cfg = ActivationConfig()
    assert family_threshold("llama", 4, 128, cfg) == 0.06
    assert family_threshold("llama", 30, 576, cfg) is None
    res = ActivationResult(ran=True, score=0.82, family="llama/30/576", threshold=None, flagged=False)
    assert res.inconsistent_indices == ()
    c = combine(True, 0.79, 1.0, res, cfg)
    assert not c.flagged and c.activation_score == 0.82 and c.activation_threshold is None
    assert c.activation_status.startswith("ran, uncalibrated family llama/30/576")
    assert c.weight_z is None and c.activation_z is None and c.ratio == 0.79
    calibrated = ActivationResult(ran=True, score=0.3, family="llama/4/128", threshold=0.06, flagged=True)
    c = combine(True, 0.4, 1.0, calibrated, cfg)
    assert c.flagged and c.activation_flagged and not c.weight_flagged and c.ratio == 5.0
