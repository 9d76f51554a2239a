"""Statistics a reviewer would accept (DESIGN.md, facts for behaviour evaluation).

- Simple rates: Wilson score interval.
- Rates over prompts that share templates/behaviours: cluster bootstrap (resample clusters — the
  prompts — never individual outputs), percentile interval; never narrower than Wilson on the
  number of clusters when the outcome is constant (a bootstrap of all-zeros says [0, 0]).
- Suspect vs base on the same prompts: exact McNemar (binomial test on the discordant pairs) with
  the paired risk difference (cluster-bootstrap CI) and the matched-pairs odds ratio.
- Many comparisons (trigger sweep): Holm step-down.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

Z95 = 1.959963984540054


@dataclass(frozen=True)
class Rate:
    value: float
    ci_low: float
    ci_high: float
    n: int  # outcomes
    n_clusters: int
    k: int  # successes
    method: str

    def to_dict(self) -> dict[str, Any]:
        return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    if n <= 0:
        return (0.0, 1.0)
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    lo = 0.0 if k == 0 else max(0.0, centre - half)
    hi = 1.0 if k == n else min(1.0, centre + half)
    return (lo, hi)


def _cluster_index(clusters: Sequence[str]) -> tuple[np.ndarray, int]:
    ids: dict[str, int] = {}
    idx = np.fromiter((ids.setdefault(c, len(ids)) for c in clusters), dtype=np.int64, count=len(clusters))
    return idx, len(ids)


def rate(
    outcomes: Sequence[bool | int],
    clusters: Sequence[str] | None = None,
    *,
    n_boot: int = 2000,
    seed: int = 0,
) -> Rate:
    """Proportion of True with a 95% CI: cluster bootstrap when several outcomes share a cluster,
    Wilson otherwise."""
    y = np.asarray(outcomes, dtype=np.float64)
    n = int(y.size)
    k = int(y.sum())
    if n == 0:
        return Rate(float("nan"), 0.0, 1.0, 0, 0, 0, "empty")
    if clusters is None:
        lo, hi = wilson(k, n)
        return Rate(k / n, lo, hi, n, n, k, "wilson")
    idx, m = _cluster_index(clusters)
    if m == n:  # one outcome per cluster: plain binomial
        lo, hi = wilson(k, n)
        return Rate(k / n, lo, hi, n, m, k, "wilson")
    if k in (0, n):
        lo, hi = wilson(k * m // n, m)  # constant outcome: Wilson on the clusters (conservative)
        return Rate(k / n, lo, hi, n, m, k, "wilson-clusters")
    lo, hi = _cluster_boot_ci(y, idx, m, n_boot, seed)
    return Rate(k / n, lo, hi, n, m, k, "cluster-bootstrap")


def _cluster_boot_ci(y: np.ndarray, idx: np.ndarray, m: int, n_boot: int, seed: int) -> tuple[float, float]:
    sums = np.bincount(idx, weights=y, minlength=m)  # [m]
    sizes = np.bincount(idx, minlength=m).astype(np.float64)  # [m]
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, m, size=(n_boot, m))  # [B, m] resampled clusters
    counts = np.apply_along_axis(np.bincount, 1, draws, minlength=m)  # [B, m]
    stats = (counts @ sums) / (counts @ sizes)  # [B]
    return float(np.quantile(stats, 0.025)), float(np.quantile(stats, 0.975))


@dataclass(frozen=True)
class Paired:
    """Suspect vs base on the same prompts (outcome: e.g. refused)."""

    n: int
    base_rate: float
    suspect_rate: float
    diff: float  # suspect - base
    diff_ci_low: float
    diff_ci_high: float
    base_only: int  # discordant: base True, suspect False
    suspect_only: int  # discordant: suspect True, base False
    p_value: float  # exact McNemar, two-sided
    odds_ratio: float  # matched pairs: suspect_only / base_only (0.5 continuity correction)

    def to_dict(self) -> dict[str, Any]:
        return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value for b vs c discordant pairs."""
    if b + c == 0:
        return 1.0
    from scipy.stats import binomtest

    return float(binomtest(b, b + c, 0.5, alternative="two-sided").pvalue)


def paired(
    base: Sequence[bool],
    suspect: Sequence[bool],
    clusters: Sequence[str] | None = None,
    *,
    n_boot: int = 2000,
    seed: int = 0,
) -> Paired:
    if len(base) != len(suspect):
        raise ValueError("paired outcomes must have the same length")
    a = np.asarray(base, dtype=bool)
    s = np.asarray(suspect, dtype=bool)
    n = int(a.size)
    if n == 0:
        return Paired(0, float("nan"), float("nan"), float("nan"), -1.0, 1.0, 0, 0, 1.0, 1.0)
    b_only = int((a & ~s).sum())
    s_only = int((s & ~a).sum())
    d = s.astype(np.float64) - a.astype(np.float64)  # [n] per-prompt difference
    diff = float(d.mean())
    idx, m = _cluster_index(clusters if clusters is not None else [str(i) for i in range(n)])
    if np.all(d == d[0]):
        # Constant difference: bootstrap degenerates; use the Wilson interval of the discordant share.
        lo, hi = wilson(b_only + s_only, n)
        lo_d, hi_d = (lo, hi) if diff > 0 else ((-hi, -lo) if diff < 0 else (-hi, hi))
    else:
        sums = np.bincount(idx, weights=d, minlength=m)
        sizes = np.bincount(idx, minlength=m).astype(np.float64)
        rng = np.random.default_rng(seed)
        draws = rng.integers(0, m, size=(n_boot, m))
        counts = np.apply_along_axis(np.bincount, 1, draws, minlength=m)
        stats = (counts @ sums) / (counts @ sizes)
        lo_d, hi_d = float(np.quantile(stats, 0.025)), float(np.quantile(stats, 0.975))
    return Paired(
        n=n,
        base_rate=float(a.mean()),
        suspect_rate=float(s.mean()),
        diff=diff,
        diff_ci_low=lo_d,
        diff_ci_high=hi_d,
        base_only=b_only,
        suspect_only=s_only,
        p_value=mcnemar_exact(b_only, s_only),
        odds_ratio=(s_only + 0.5) / (b_only + 0.5),
    )


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-adjusted p-values (family-wise error control), in the input order."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adj = [1.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adj[i] = running
    return adj
