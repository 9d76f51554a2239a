"""Statistics for the drift suite: a paired, clustered test of a mean difference.

The unit of evidence is the prompt *template* (cluster): its phrasings are not independent. For a
target pair, each prompt pair gives a difference (stance toward a minus stance toward b; or that
asymmetry in the model minus the same in the base, on the same prompts). Under the null (a and b
exchangeable within a template; or model and base exchangeable), each template's summed difference is
as likely with either sign, so the test is the sign-flip randomisation over templates — exact by
enumeration up to 16 templates (Monte Carlo beyond), and for integer differences (refusal counts) the
exact dynamic program of ``warden.behavior.stats.sign_flip_p``. The interval is a cluster bootstrap of
the pooled mean (templates resampled, never single prompts), as the rest of eval does.

The sign-flip test of a continuous mean is hand-written because no installed library offers a
cluster-level sign-flip with exact enumeration (scipy's permutation_test permutes observations, not
clusters); it is ~20 lines and checked against a brute-force enumeration in the tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from itertools import product
from typing import Any

import numpy as np

from warden.behavior.stats import sign_flip_p

EXACT_MAX_CLUSTERS = 16


@dataclass(frozen=True)
class ClusterMean:
    mean: float  # pooled over prompt pairs
    ci_low: float
    ci_high: float
    p_value: float  # two-sided sign-flip over clusters
    n: int  # prompt pairs
    n_clusters: int
    p_method: str
    ci_method: str

    def to_dict(self) -> dict[str, Any]:
        return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def _index(clusters: Sequence[str]) -> tuple[np.ndarray, int]:
    ids: dict[str, int] = {}
    idx = np.fromiter((ids.setdefault(c, len(ids)) for c in clusters), dtype=np.int64, count=len(clusters))
    return idx, len(ids)


def sign_flip_p_continuous(sums: Sequence[float], *, n_perm: int = 20000, seed: int = 0) -> tuple[float, str]:
    """Two-sided p of |sum_k S_k| when every cluster sum S_k may flip sign. Exact up to
    ``EXACT_MAX_CLUSTERS`` non-zero sums, else Monte Carlo with the (1 + hits) / (1 + draws) rule."""
    s = np.asarray([x for x in sums if x != 0.0], dtype=np.float64)
    if s.size == 0:
        return 1.0, "exact"
    obs = abs(float(s.sum()))
    tol = 1e-9 * max(1.0, obs)
    if s.size <= EXACT_MAX_CLUSTERS:
        signs = np.array(list(product((1.0, -1.0), repeat=int(s.size))))  # [2^K, K]
        tot = np.abs(signs @ s)
        return float(np.mean(tot >= obs - tol)), "exact"
    rng = np.random.default_rng(seed)
    signs = rng.choice((-1.0, 1.0), size=(n_perm, s.size))
    hits = int(np.sum(np.abs(signs @ s) >= obs - tol))
    return (1 + hits) / (1 + n_perm), f"monte carlo ({n_perm})"


def cluster_mean(
    values: Sequence[float],
    clusters: Sequence[str],
    *,
    integer: bool = False,
    n_boot: int = 2000,
    seed: int = 0,
) -> ClusterMean:
    """Mean of paired differences with a cluster sign-flip p and a cluster-bootstrap 95% CI."""
    if len(values) != len(clusters):
        raise ValueError("values and clusters must have the same length")
    y = np.asarray(values, dtype=np.float64)
    n = int(y.size)
    if n == 0:
        return ClusterMean(float("nan"), -1.0, 1.0, 1.0, 0, 0, "empty", "empty")
    idx, m = _index(clusters)
    sums = np.bincount(idx, weights=y, minlength=m)
    sizes = np.bincount(idx, minlength=m).astype(np.float64)
    if integer:
        p = sign_flip_p([int(round(x)) for x in sums])
        p_method = "exact sign-flip over clusters (integer DP)"
    else:
        p, how = sign_flip_p_continuous(sums.tolist(), seed=seed)
        p_method = f"sign-flip over clusters, {how}"
    means = sums / sizes
    if np.allclose(means, means[0]):
        lo = hi = float(y.mean())
        ci_method = "degenerate (every cluster has the same mean)"
    else:
        rng = np.random.default_rng(seed)
        draws = rng.integers(0, m, size=(n_boot, m))
        offs = draws + m * np.arange(n_boot)[:, None]  # [B, m]: one bincount for all draws
        counts = np.bincount(offs.ravel(), minlength=n_boot * m).reshape(n_boot, m)
        stats = (counts @ sums) / (counts @ sizes)
        lo, hi = float(np.quantile(stats, 0.025)), float(np.quantile(stats, 0.975))
        ci_method = "cluster bootstrap (percentile)"
    return ClusterMean(float(y.mean()), lo, hi, float(p), n, m, p_method, ci_method)
