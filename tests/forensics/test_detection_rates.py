"""Detection rate, false positives and AUROC of the base-free detector on real trained weights
(all-MiniLM-L6-v2), computed here from real runs: several directions (refusal-style mean-difference
directions from MiniLM's own activations, and random ones) x attacks, against clean and benign-edit
negatives, in fp32 and bf16. The flag threshold is the library's calibrated default, not tuned here."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from tests.forensics import edits as E
from tests.forensics import models as MD
from warden.forensics import BaseFreeConfig, run_forensics

W = MD.MINILM_WRITERS
LORA_TARGETS = [
    f"encoder.layer.{i}.attention.self.{k}.weight" for i in range(6) for k in ("query", "value")
] + [n for n, _ in W]
Attack = Callable[[E.StateDict, torch.Tensor, int], E.StateDict]
ATTACKS: dict[str, Attack] = {
    "classic": lambda sd, r, s: E.ablate(sd, W, r, 1.0, embedding=MD.MINILM_EMBEDDING),
    "partial-w1.0": lambda sd, r, s: E.ablate(sd, W, r, 1.0),
    "partial-w0.8": lambda sd, r, s: E.ablate(sd, W, r, 0.8),
    "partial-w0.5": lambda sd, r, s: E.ablate(sd, W, r, 0.5),
    "tent-w1.0": lambda sd, r, s: E.ablate(sd, W, r, E.per_layer(E.tent(6, 1.0, 1 + s % 4, 1.5), 2)),
    "normpres-rank3": lambda sd, r, s: E.normpreserving(sd, W, r, 1.0),
}
NEGATIVES: dict[str, Callable[[E.StateDict, int], E.StateDict]] = {
    "clean": lambda sd, s: sd,
    "lora-r4": lambda sd, s: E.lora_merge(sd, LORA_TARGETS, 4, seed=s),
    "lora-r8": lambda sd, s: E.lora_merge(sd, LORA_TARGETS, 8, seed=100 + s, rel=0.2),
    "finetune-noise": lambda sd, s: E.finetune_noise(sd, seed=s, rel=0.01 if s % 2 else 0.05),
}
DETECTABLE = ("classic", "partial-w1.0", "partial-w0.8", "tent-w1.0", "normpres-rank3")


def auroc(pos: list[float], neg: list[float]) -> float:
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


def measure(
    sd: E.StateDict, base: Path, tmp: Path, n_act: int, n_rand: int, neg_seeds: int, diff_dirs: int = 0
) -> dict:
    acts = MD.minilm_directions()
    rng = random.Random(0)
    dirs = [acts[i] for i in rng.sample(range(len(acts)), n_act)] + [
        E.random_direction(384, 1000 + i) for i in range(n_rand)
    ]
    thr = BaseFreeConfig().gap_threshold

    diff_hits: dict[str, list[bool]] = {}

    def score(model: E.StateDict, diff_as: str | None = None) -> float:
        path = E.save(model, tmp / "m", like=MD.minilm_dir())
        if diff_as is not None:  # diff mode too: is an ablation reported against the base?
            rep = run_forensics(path, base=base)
            hit = any(f.rule_id == "FORENSICS-ABLATION-DIRECTIONAL" for f in rep.findings)
            diff_hits.setdefault(diff_as, []).append(hit)
            return float(rep.data["forensics"]["basefree"]["score"])
        return float(run_forensics(path).data["forensics"]["basefree"]["score"])

    out: dict = {"threshold": thr, "attacks": {}, "negatives": {}}
    for dtype in (torch.float32, torch.bfloat16):
        tag = "fp32" if dtype is torch.float32 else "bf16"
        neg = []
        for name, make in NEGATIVES.items():
            for s in range(1 if name == "clean" else neg_seeds):
                v = score(E.cast(make(sd, s), dtype), f"{name}/{tag}" if diff_dirs else None)
                neg.append(v)
                out["negatives"].setdefault(f"{name}/{tag}", []).append(round(v, 3))
        for name, attack in ATTACKS.items():
            pos = [
                score(E.cast(attack(sd, r, i), dtype), f"{name}/{tag}" if i < diff_dirs else None)
                for i, r in enumerate(dirs)
            ]
            out["attacks"][f"{name}/{tag}"] = {
                "scores": [round(v, 3) for v in pos],
                "tpr": sum(v >= thr for v in pos) / len(pos),
                "auroc": auroc(pos, neg),
            }
        out[f"fpr/{tag}"] = sum(v >= thr for v in neg) / len(neg)
        out[f"max_negative/{tag}"] = max(neg)
    out["diff"] = {k: f"{sum(v)}/{len(v)}" for k, v in diff_hits.items()}
    return out


def check(res: dict) -> None:
    for key, hits in res["diff"].items():  # diff mode: every attack found, no negative called one
        n_hit, n = map(int, hits.split("/"))
        assert n_hit == (n if key.split("/")[0] in ATTACKS else 0), (key, hits)
    for tag in ("fp32", "bf16"):
        assert res[f"fpr/{tag}"] == 0.0, res["negatives"]
        for name in DETECTABLE:
            a = res["attacks"][f"{name}/{tag}"]
            assert a["tpr"] == 1.0 and a["auroc"] == 1.0, (name, tag, a)


def test_minilm_detection_rates(minilm_sd, minilm_base: Path, tmp_path: Path) -> None:
    res = measure(minilm_sd, minilm_base, tmp_path, n_act=1, n_rand=1, neg_seeds=1)
    check(res)


@pytest.mark.slow
def test_minilm_detection_rates_full(minilm_sd, minilm_base: Path, tmp_path: Path) -> None:
    """The full table quoted in CALIBRATION.md (6 activation + 6 random directions, 3 seeds each)."""
    res = measure(minilm_sd, minilm_base, tmp_path, n_act=6, n_rand=6, neg_seeds=3, diff_dirs=3)
    for k, v in res["attacks"].items():
        print(f"{k:24s} tpr={v['tpr']:.2f} auroc={v['auroc']:.3f} scores={v['scores']}")
    for k, v in res["negatives"].items():
        print(f"{k:24s} {v}")
    print({k: v for k, v in res.items() if k.startswith(("fpr", "max_"))})
    print("diff mode (ABLATION-DIRECTIONAL reported):", res["diff"])
    check(res)


@pytest.mark.slow
def test_minilm_weight_sweep(minilm_sd, tmp_path: Path) -> None:
    """Where the base-free detector's reach ends (CALIBRATION.md): uniform partial ablation of all
    12 MiniLM writers with weight w along 6 random directions, fp32."""
    thr = BaseFreeConfig().gap_threshold
    tpr = {}
    for w in (0.6, 0.65, 0.7, 0.75):
        scores = []
        for i in range(6):
            sd = E.ablate(minilm_sd, W, E.random_direction(384, 1000 + i), w)
            path = E.save(sd, tmp_path / "m", like=MD.minilm_dir())
            scores.append(float(run_forensics(path).data["forensics"]["basefree"]["score"]))
        tpr[w] = sum(s >= thr for s in scores)
        print(f"w={w:<5} flagged {tpr[w]}/6  scores {min(scores):.3f}-{max(scores):.3f}")
    assert tpr[0.6] == 0 and tpr[0.75] == 6, tpr
