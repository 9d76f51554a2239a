"""Statistics a reviewer would accept (DESIGN.md, facts for behaviour evaluation).

- Simple rates: Wilson score interval.
- Rates over prompts that share templates/behaviours: cluster bootstrap (resample clusters — the
  prompts — never individual outputs), percentile interval; never narrower than Wilson on the
  number of clusters when the outcome is constant (a bootstrap of all-zeros says [0, 0]).
- Suspect vs base on the same prompts: each behaviour comes in several phrasings, so the pairs are
  clustered and a prompt-level McNemar overstates the evidence (5 behaviours fully flipped in 15
  prompts: McNemar p = 6e-5; the 5 behaviours are 5 observations, p = 2/2^5 = 0.0625). The test is
  Durkalski et al.'s (2003) clustered McNemar statistic with an exact sign-flip randomisation p over
  the clusters (``paired``; Obuchowski 1998's variance-based version is here too), the interval a
  cluster bootstrap of the paired risk difference, plus the matched-pairs odds ratio.
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
    """Suspect vs base on the same prompts (outcome: e.g. refused), prompts grouped in clusters (the
    behaviour a prompt phrases): every test and interval treats the cluster as the unit."""

    n: int
    n_clusters: int
    base_rate: float
    suspect_rate: float
    diff: float  # suspect - base (pooled over prompts)
    diff_ci_low: float  # cluster bootstrap (percentile), Wilson on the clusters when degenerate
    diff_ci_high: float
    base_only: int  # discordant prompts: base True, suspect False
    suspect_only: int  # discordant prompts: suspect True, base False
    discordant_clusters: int  # clusters whose within-cluster difference is not zero
    statistic: float  # Durkalski et al. (2003) clustered McNemar X^2
    p_value: float  # exact sign-flip randomisation of the per-cluster differences, two-sided
    p_chi2: float  # Durkalski's X^2 against chi-square(1) (asymptotic: many clusters)
    odds_ratio: float  # matched pairs: suspect_only / base_only (0.5 continuity correction)
    test: str = "clustered McNemar (Durkalski 2003), exact sign-flip p"

    def to_dict(self) -> dict[str, Any]:
        return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value for b vs c discordant pairs (independent pairs only)."""
    if b + c == 0:
        return 1.0
    from scipy.stats import binomtest

    return float(binomtest(b, b + c, 0.5, alternative="two-sided").pvalue)


def durkalski(b_k: Sequence[int], c_k: Sequence[int]) -> tuple[float, float]:
    """Clustered McNemar statistic of Durkalski, Palesch, Lipsitz & Rust (2003, Stat Med 22:2417):
    X^2 = (sum_k (b_k - c_k))^2 / sum_k (b_k - c_k)^2 over clusters k, with b_k / c_k the cluster's
    discordant pairs of each kind; chi-square(1) under H0 as the number of clusters grows. With one
    pair per cluster it is McNemar's (b - c)^2 / (b + c). Returns (X^2, p)."""
    d = np.asarray(b_k, dtype=np.float64) - np.asarray(c_k, dtype=np.float64)
    den = float((d * d).sum())
    if den == 0.0:
        return 0.0, 1.0
    x2 = float(d.sum()) ** 2 / den
    from scipy.stats import chi2

    return x2, float(chi2.sf(x2, 1))


def obuchowski(x1_k: Sequence[int], x2_k: Sequence[int], n_k: Sequence[int]) -> tuple[float, float]:
    """Obuchowski (1998, Stat Med 17:1495) test of two correlated proportions from clustered data:
    p_j = sum_k x_jk / N; X^2 = (p_1 - p_2)^2 / (var_1 + var_2 - 2 cov) with the cluster-level
    ratio-estimator (co)variances K/(K-1) * sum_k (x_jk - n_k p_j)(x_j'k - n_k p_j') / N^2.
    Returns (X^2, p) against chi-square(1)."""
    x1 = np.asarray(x1_k, dtype=np.float64)
    x2 = np.asarray(x2_k, dtype=np.float64)
    nk = np.asarray(n_k, dtype=np.float64)
    k, n = x1.size, float(nk.sum())
    if k < 2 or n == 0:
        return 0.0, 1.0
    p1, p2 = x1.sum() / n, x2.sum() / n
    r = (x1 - nk * p1) - (x2 - nk * p2)
    var = k / (k - 1) * float((r * r).sum()) / (n * n)
    if var == 0.0:
        return (0.0, 1.0) if p1 == p2 else (math.inf, 0.0)
    stat = float((p1 - p2) ** 2 / var)
    from scipy.stats import chi2

    return stat, float(chi2.sf(stat, 1))


def sign_flip_p(d_k: Sequence[int]) -> float:
    """Exact two-sided p of sum_k d_k under the paired-cluster randomisation null (each cluster's
    pair labels swapped with probability 1/2, i.e. d_k -> -d_k independently): P(|S| >= |observed|).

    Exact for integer d_k by dynamic programming over the attainable sums (O(K * sum |d_k|)), so it
    needs no Monte Carlo and no large-K approximation. With one pair per cluster it is the exact
    McNemar (binomial) test. Equivalent to randomising Durkalski's X^2, whose denominator is
    invariant to the sign flips."""
    d = [abs(int(x)) for x in d_k if int(x) != 0]
    if not d:
        return 1.0
    obs = abs(sum(int(x) for x in d_k))
    total = sum(d)
    dist = np.zeros(2 * total + 1, dtype=np.float64)  # index s + total
    dist[total] = 1.0
    for v in d:
        nxt = np.zeros_like(dist)
        nxt[v:] += 0.5 * dist[: dist.size - v]
        nxt[: dist.size - v] += 0.5 * dist[v:]
        dist = nxt
    s = np.arange(-total, total + 1)
    return float(min(1.0, dist[np.abs(s) >= obs].sum()))


def paired(
    base: Sequence[bool],
    suspect: Sequence[bool],
    clusters: Sequence[str] | None = None,
    *,
    n_boot: int = 2000,
    seed: int = 0,
) -> Paired:
    """Paired comparison at the cluster level: Durkalski's clustered McNemar with its exact sign-flip
    p (``p_value``), and a cluster-bootstrap CI of the paired difference. Without ``clusters`` every
    prompt is its own cluster (plain exact McNemar)."""
    if len(base) != len(suspect):
        raise ValueError("paired outcomes must have the same length")
    if clusters is not None and len(clusters) != len(base):
        raise ValueError("clusters must have one entry per pair")
    a = np.asarray(base, dtype=bool)
    s = np.asarray(suspect, dtype=bool)
    n = int(a.size)
    if n == 0:
        nan = float("nan")
        return Paired(0, 0, nan, nan, nan, -1.0, 1.0, 0, 0, 0, 0.0, 1.0, 1.0, 1.0)
    b_only = int((a & ~s).sum())
    s_only = int((s & ~a).sum())
    d = s.astype(np.float64) - a.astype(np.float64)  # [n] per-prompt difference
    diff = float(d.mean())
    idx, m = _cluster_index(clusters if clusters is not None else [str(i) for i in range(n)])
    sums = np.bincount(idx, weights=d, minlength=m)  # [m] per-cluster c_k - b_k
    sizes = np.bincount(idx, minlength=m).astype(np.float64)
    d_k = np.rint(sums).astype(np.int64)
    n_disc = int((d_k != 0).sum())
    b_k = np.bincount(idx, weights=(a & ~s).astype(np.float64), minlength=m)
    c_k = np.bincount(idx, weights=(s & ~a).astype(np.float64), minlength=m)
    x2, p_chi2 = durkalski(np.rint(b_k).astype(np.int64).tolist(), np.rint(c_k).astype(np.int64).tolist())
    cluster_means = sums / sizes
    if np.all(cluster_means == cluster_means[0]):
        # Every cluster moved by the same share: a bootstrap over clusters degenerates to a point.
        # Wilson on the number of clusters that moved (conservative, as rate() does).
        k = m if diff != 0 else 0
        lo, hi = wilson(k, m)
        lo_d, hi_d = (lo, hi) if diff > 0 else ((-hi, -lo) if diff < 0 else (-hi, hi))
        if diff != 0:  # scale to the moved share (1.0 when every prompt flipped)
            lo_d, hi_d = lo_d * abs(cluster_means[0]), hi_d * abs(cluster_means[0])
    elif n_boot <= 0:  # caller wants the test only (trigger screen): no interval
        lo_d, hi_d = -1.0, 1.0
    else:
        rng = np.random.default_rng(seed)
        draws = rng.integers(0, m, size=(n_boot, m))
        counts = np.apply_along_axis(np.bincount, 1, draws, minlength=m)
        stats = (counts @ sums) / (counts @ sizes)
        lo_d, hi_d = float(np.quantile(stats, 0.025)), float(np.quantile(stats, 0.975))
    return Paired(
        n=n,
        n_clusters=m,
        base_rate=float(a.mean()),
        suspect_rate=float(s.mean()),
        diff=diff,
        diff_ci_low=lo_d,
        diff_ci_high=hi_d,
        base_only=b_only,
        suspect_only=s_only,
        discordant_clusters=n_disc,
        statistic=x2,
        p_value=sign_flip_p(d_k.tolist()),
        p_chi2=p_chi2,
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
