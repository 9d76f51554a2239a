"""Train the injection head: all-MiniLM-L6-v2 embeddings → L2-regularised logistic regression (numpy,
full-batch gradient descent), threshold chosen on the validation split for ≤5% false positives, then
measured on the held-out test split, the hard-benign set and the scenarios' tool outputs.

    python -m warden.gateway.classifier.train [--out PATH]

Deterministic (seeded data, zero init, fixed steps). Writes JSON — weights, bias, threshold, metrics.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from warden.gateway.classifier.dataset import generate

OUT = Path(__file__).parent / "injection_head.json"


def fit(
    x: np.ndarray, y: np.ndarray, *, l2: float = 1e-3, steps: int = 3000, lr: float = 2.0
) -> tuple[np.ndarray, float]:
    """x [N, 384], y [N] in {0,1} → (w [384], b). Class-balanced logistic loss."""
    n, d = x.shape
    w, b = np.zeros(d), 0.0
    pos = y.mean()
    sw = np.where(y == 1, 0.5 / pos, 0.5 / (1 - pos))  # [N] balanced weights
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(x @ w + b)))  # [N]
        g = sw * (p - y)  # [N]
        w -= lr * (x.T @ g / n + l2 * w)
        b -= lr * float(g.mean())
    return w, b


def rates(p: np.ndarray, y: np.ndarray, t: float) -> dict[str, float | None]:
    pred = p >= t
    tp, fp = int((pred & (y == 1)).sum()), int((pred & (y == 0)).sum())
    fn, tn = int((~pred & (y == 1)).sum()), int((~pred & (y == 0)).sum())
    return {
        "n": int(len(y)), "positives": int((y == 1).sum()),
        "precision": round(tp / (tp + fp), 4) if tp + fp else None, "recall": round(tp / (tp + fn), 4) if tp + fn else None,
        "fpr": round(fp / (fp + tn), 4) if fp + tn else None,
    }  # fmt: skip


def auc(p: np.ndarray, y: np.ndarray) -> float:
    pos, neg = p[y == 1], p[y == 0]
    return float((pos[:, None] > neg[None, :]).mean() + 0.5 * (pos[:, None] == neg[None, :]).mean())


def main(argv: list[str] | None = None) -> int:
    import torch

    torch.set_num_threads(1)
    from warden.gateway.embedding import Encoder
    from warden.gateway.scenarios.tasks import SCENARIOS

    argv = sys.argv[1:] if argv is None else argv
    out = Path(argv[argv.index("--out") + 1]) if "--out" in argv else OUT
    data = generate()
    enc = Encoder()
    t0 = time.time()
    emb = enc.encode([e.text for e in data])  # [N, 384]
    y = np.array([e.label for e in data], dtype=float)
    split = np.array([e.split for e in data])
    w, b = fit(emb[split == "train"], y[split == "train"])

    def prob(mask: np.ndarray) -> np.ndarray:
        return np.asarray(1 / (1 + np.exp(-(emb[mask] @ w + b))))

    pv, yv = prob(split == "val"), y[split == "val"]
    neg = np.sort(pv[yv == 0])
    threshold = float(max(0.5, neg[int(np.ceil(0.95 * len(neg))) - 1] + 1e-6))  # ≤5% FPR on validation
    pt, yt = prob(split == "test"), y[split == "test"]
    ph = prob(split == "hard_benign")
    # out of distribution: the scenarios' tool outputs, with and without their injections
    inj = [s.steps[s.inject_into].output + "\n\n" + s.injection() for s in SCENARIOS]
    clean = sorted({st.output for s in SCENARIOS for st in s.steps})
    po = 1 / (1 + np.exp(-(enc.encode(inj + clean) @ w + b)))
    yo = np.array([1] * len(inj) + [0] * len(clean), dtype=float)
    metrics: dict[str, Any] = {
        "test_unseen_templates": {**rates(pt, yt, threshold), "auc": round(auc(pt, yt), 4)},
        "hard_benign_trigger_words": rates(ph, np.zeros(len(ph)), threshold),
        "scenario_tool_outputs": {**rates(po, yo, threshold), "auc": round(auc(po, yo), 4)},
        "validation": rates(pv, yv, threshold),
    }
    head = {
        "model": "sentence-transformers/all-MiniLM-L6-v2 (mean pooling, L2-normalised)",
        "weights": [round(float(v), 6) for v in w], "bias": round(float(b), 6), "threshold": round(threshold, 6),
        "trained_on": {"generator": "warden.gateway.classifier.dataset.generate(seed=7)",
                       "sizes": {s: int((split == s).sum()) for s in ("train", "val", "test", "hard_benign")}},
        "metrics": metrics, "seconds": round(time.time() - t0, 1),
    }  # fmt: skip
    out.write_text(json.dumps(head, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(metrics, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
