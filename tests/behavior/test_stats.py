from __future__ import annotations

import math

import pytest

from warden.behavior.stats import holm, mcnemar_exact, paired, rate, wilson


def test_wilson_known_values() -> None:
    lo, hi = wilson(8, 10)
    assert lo == pytest.approx(0.4902, abs=1e-3) and hi == pytest.approx(0.9433, abs=1e-3)
    assert wilson(0, 20)[0] == 0.0 and wilson(20, 20)[1] == 1.0


def test_cluster_bootstrap_is_wider_when_prompts_are_correlated() -> None:
    # 10 clusters of 6 identical outcomes: effectively 10 observations, not 60.
    ys = [i % 2 == 0 for i in range(10) for _ in range(6)]
    cl = [str(i) for i in range(10) for _ in range(6)]
    clustered = rate(ys, cl, seed=1)
    naive = rate(ys)
    assert clustered.method == "cluster-bootstrap" and naive.method == "wilson"
    assert (clustered.ci_high - clustered.ci_low) > 1.5 * (naive.ci_high - naive.ci_low)
    # Independent outcomes (one per cluster) fall back to Wilson.
    assert rate(ys, [str(i) for i in range(60)]).method == "wilson"


def test_constant_outcome_never_gives_a_zero_width_interval() -> None:
    r = rate([False] * 30, [str(i // 3) for i in range(30)])
    assert r.value == 0.0 and r.ci_high > 0.1


def test_mcnemar_exact_matches_binomial() -> None:
    assert mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(10, 0) == pytest.approx(2 * 0.5**10)
    assert mcnemar_exact(5, 5) == pytest.approx(1.0)


def test_paired_regression_and_null() -> None:
    base = [True] * 30
    drop = [True] * 5 + [False] * 25
    p = paired(base, drop)
    assert p.diff == pytest.approx(-25 / 30) and p.p_value < 1e-6 and p.diff_ci_high < 0
    same = paired(base, base)
    assert same.p_value == 1.0 and same.diff == 0.0 and same.diff_ci_low < 0 < same.diff_ci_high
    with pytest.raises(ValueError):
        paired([True], [True, False])


def test_holm() -> None:
    assert holm([0.01, 0.04, 0.03, 0.5]) == pytest.approx([0.04, 0.09, 0.09, 0.5])
    adj = holm([1e-6] + [0.02] * 9)
    assert adj[0] < 0.05 and all(a >= 0.02 for a in adj[1:])
    assert math.isclose(max(holm([0.9, 0.9])), 1.0)  # capped at 1
