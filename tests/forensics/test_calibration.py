"""The calibration behind BaseFreeConfig.gap_threshold (CALIBRATION.md): base-free scores of clean
checkpoints of every supported architecture, random-init and trained, must stay below it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from tests.forensics import edits as E
from tests.forensics import models as MD
from warden.forensics import BaseFreeConfig, run_forensics
from warden.forensics.activation import family_threshold
from warden.forensics.config import ActivationConfig

ARCHS = [*MD.SMALL, "gpt2", "gpt_neox", "bert"]


def score(path: Path) -> float:
    return run_forensics(path).data["forensics"]["basefree"]["score"]


def clean_scores(
    tmp: Path, sizes: list[tuple[int, int]], trained_seeds: list[int], steps: int
) -> dict[str, float]:
    out = {"minilm/fp32": score(MD.minilm_dir())}
    sd = E.load(MD.minilm_dir() / "model.safetensors")
    out["minilm/bf16"] = score(E.save(E.cast(sd, torch.bfloat16), tmp / "minilm-bf16", like=MD.minilm_dir()))
    for mt in ARCHS:
        for d, layers in sizes:
            p = MD.build_random(mt, tmp / f"{mt}-{d}-{layers}", d=d, layers=layers, seed=d + layers)
            out[f"random/{mt}/d{d}/L{layers}"] = score(p)
    for seed in trained_seeds:
        p = MD.build_trained_llama(tmp / f"trained-{seed}", d=128, layers=4, seed=seed, steps=steps)
        out[f"trained-llama/d128/L4/seed{seed}"] = score(p)
    return out


def test_clean_checkpoints_stay_below_threshold(tmp_path: Path) -> None:
    scores = clean_scores(tmp_path, [(64, 2)], [], 0)
    thr = BaseFreeConfig().gap_threshold
    assert max(scores.values()) < 0.8 * thr, scores


@pytest.mark.slow
def test_clean_calibration_full(tmp_path: Path) -> None:
    scores = clean_scores(tmp_path, [(64, 2), (128, 4), (256, 8)], [0, 1], 300)
    for k, v in sorted(scores.items(), key=lambda kv: -kv[1]):
        print(f"{k:40s} {v:.3f}")
    thr = BaseFreeConfig().gap_threshold
    q = np.quantile(list(scores.values()), [0.5, 0.9, 0.95, 1.0])
    print(
        f"max {max(scores.values()):.3f} over {len(scores)} clean checkpoints; threshold {thr}; "
        f"quantiles 50/90/95/100%: {' / '.join(f'{x:.3f}' for x in q)}"
    )
    assert max(scores.values()) < 0.8 * thr


ZOO = Path(__file__).resolve().parents[2] / "organisms" / "zoo"
CLEAN_ZOO = ("base", "finetuned-benign", "lora-merged")  # the activation threshold's calibration set
REAL = Path.home() / ".cache" / "warden" / "real"


def signals(path: Path) -> tuple[float, float | None]:
    fd = run_forensics(path).data["forensics"]
    return fd["basefree"]["score"], fd["activation"]["score"]


@pytest.mark.skipif(not (ZOO / "base" / "config.json").exists(), reason="organisms/zoo not built")
def test_activation_threshold_rule_held_out() -> None:
    """The organisms' family threshold (ActivationConfig.calibrated_families) is twice the largest
    clean score, rounded to 0.01.
    Held out: each calibration model against the threshold that rule gives from the other two; and
    the configured threshold against all three (margin printed)."""
    scores = {n: signals(ZOO / n)[1] for n in CLEAN_ZOO}
    assert all(v is not None for v in scores.values()), scores
    s = {k: float(v) for k, v in scores.items() if v is not None}
    for name, v in s.items():
        loo = round(2 * max(x for k, x in s.items() if k != name), 2)
        assert v < loo, (name, v, loo)
    thr = family_threshold("llama", 4, 128, ActivationConfig())
    assert thr is not None
    print(f"\nactivation scores {s}; threshold {thr}; margin {thr / max(s.values()):.2f}x")
    mean, sd = float(np.mean(list(s.values()))), float(np.std(list(s.values()), ddof=1))
    print(f"clean null mean {mean:.4f} sd {sd:.4f} (ActivationConfig.activation_null)")
    assert max(s.values()) <= thr / 1.9


@pytest.mark.slow
def test_real_model_null() -> None:
    """The clean real model another session caches as ~/.cache/warden/real/original (SmolLM2-135M):
    both signals, printed for CALIBRATION.md. Its family has no activation threshold, so the
    activation score is reported without a verdict; the weight signal must stay below its threshold."""
    p = REAL / "original"
    if not (p / "config.json").is_file():
        pytest.skip("no real model at ~/.cache/warden/real/original")
    rep = run_forensics(p)
    fd = rep.data["forensics"]
    print(f"{p}: weight {fd['basefree']['score']:.3f}, activation {fd['activation']}")
    assert fd["basefree"]["score"] < BaseFreeConfig().gap_threshold
    assert not fd["combined"]["flagged"]
