"""Clustered paired statistics, checked against values computed by hand from the published formulas
(Durkalski et al. 2003; Obuchowski 1998) and against the exact McNemar test they reduce to."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from warden.behavior.stats import durkalski, mcnemar_exact, obuchowski, paired, sign_flip_p


def test_durkalski_worked_example() -> None:
    # Four clusters (b_k, c_k) = (3,0), (2,1), (0,1), (4,0): b_k - c_k = 3, 1, -1, 4.
    # X^2 = (3+1-1+4)^2 / (9+1+1+16) = 49/27 = 1.8148; chi-square(1) upper tail 0.17793.
    x2, p = durkalski([3, 2, 0, 4], [0, 1, 1, 0])
    assert x2 == pytest.approx(49 / 27)
    assert p == pytest.approx(math.erfc(math.sqrt(49 / 27 / 2)))  # chi2(1) sf(x) = erfc(sqrt(x/2))
    assert p == pytest.approx(0.17793, abs=5e-5)


def test_durkalski_with_singleton_clusters_is_mcnemar_chi2() -> None:
    # One pair per cluster: (b - c)^2 / (b + c), McNemar's statistic without continuity correction.
    b, c = 9, 3
    x2, _ = durkalski([1] * b + [0] * c, [0] * b + [1] * c)
    assert x2 == pytest.approx((b - c) ** 2 / (b + c))


def test_obuchowski_worked_example() -> None:
    # Three clusters of sizes 2, 3, 1; positives under test 1: 2, 1, 1; under test 2: 0, 1, 0.
    # N = 6, p1 = 4/6, p2 = 1/6. Residuals (x1k - nk p1) - (x2k - nk p2) = nk(p2-p1) + x1k - x2k:
    # k1: 2 - 0 - 2*(1/2) = 1; k2: 1 - 1 - 3*(1/2) = -1.5; k3: 1 - 0 - 0.5 = 0.5
    # var = K/(K-1) * sum r^2 / N^2 = 1.5 * 3.5 / 36 = 0.145833; X^2 = 0.25 / 0.145833 = 1.714286
    x2, p = obuchowski([2, 1, 1], [0, 1, 0], [2, 3, 1])
    assert x2 == pytest.approx(0.25 / (1.5 * 3.5 / 36))
    assert p == pytest.approx(math.erfc(math.sqrt(x2 / 2)))


def test_sign_flip_is_exact_mcnemar_for_singletons() -> None:
    for b, c in [(10, 0), (7, 2), (5, 5), (0, 3), (12, 4)]:
        assert sign_flip_p([1] * c + [-1] * b) == pytest.approx(mcnemar_exact(b, c))


def test_sign_flip_matches_enumeration() -> None:
    d = [3, 1, -1, 4, 0, 2]
    obs = abs(sum(d))
    hits = sum(
        abs(sum(s * x for s, x in zip(signs, d, strict=True))) >= obs
        for signs in itertools.product((1, -1), repeat=len(d))
    )
    assert sign_flip_p(d) == pytest.approx(hits / 2 ** len(d))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(-4, 4), min_size=1, max_size=9))
def test_sign_flip_property(d: list[int]) -> None:
    obs = abs(sum(d))
    hits = sum(
        abs(sum(s * x for s, x in zip(signs, d, strict=True))) >= obs
        for signs in itertools.product((1, -1), repeat=len(d))
    )
    assert sign_flip_p(d) == pytest.approx(hits / 2 ** len(d))


def test_five_behaviours_flipped_is_not_fifteen_independent_prompts() -> None:
    # The example: 5 behaviours x 3 phrasings, all refused by the base and answered by the
    # model. Prompt-level McNemar: 2 * 2^-15 = 6.1e-5. The behaviours are 5 observations: 2 / 2^5.
    base = [True] * 15 + [True] * 30
    model = [False] * 15 + [True] * 30
    clusters = [f"b{i // 3}" for i in range(45)]
    p = paired(base, model, clusters)
    assert mcnemar_exact(15, 0) == pytest.approx(6.1035e-5, rel=1e-3)
    assert p.p_value == pytest.approx(0.0625)
    assert p.n_clusters == 15 and p.discordant_clusters == 5
    # Durkalski: (15)^2 / (5 * 9) = 5
    assert p.statistic == pytest.approx(5.0)
    assert p.diff == pytest.approx(-15 / 45) and p.diff_ci_low < p.diff < p.diff_ci_high
    # Without clusters, the same data is the prompt-level exact McNemar.
    assert paired(base, model).p_value == pytest.approx(mcnemar_exact(15, 0))


def test_all_clusters_flipped_interval_counts_clusters() -> None:
    base = [True] * 12
    model = [False] * 12
    few = paired(base, model, [str(i // 4) for i in range(12)])  # 3 behaviours
    many = paired(base, model)  # 12 independent prompts
    assert few.diff == many.diff == -1.0
    assert few.diff_ci_low == -1.0 and many.diff_ci_low == -1.0
    assert few.diff_ci_high > many.diff_ci_high  # 3 clusters say less than 12 prompts
    assert few.p_value == pytest.approx(0.25) and many.p_value == pytest.approx(2 * 0.5**12)


def test_paired_rejects_mismatched_clusters() -> None:
    with pytest.raises(ValueError):
        paired([True, False], [True, True], ["a"])


def test_judge_accuracy_ci_counts_labelled_rows_not_variants() -> None:
    from warden.behavior.runner import judge_accuracy_by_row, row_of
    from warden.behavior.stats import wilson

    assert row_of("lab-012-curly") == "lab-012" and row_of("lab-012") == "lab-012"
    # 40 rows, each with 3 surface variants (160 judged texts); the judge is wrong on 4 rows and on
    # every variant of them.
    rows = [{"id": f"lab-{i:03d}{v}"} for i in range(40) for v in ("", "-curly", "-md", "-json")]
    wrong = {r["id"] for r in rows if int(r["id"][4:7]) < 4}
    r = judge_accuracy_by_row(rows, wrong, seed=3)
    assert r.value == pytest.approx(0.9) and r.n == 160 and r.n_clusters == 40
    lo_n, hi_n = wilson(144, 160)  # the old, variant-counting interval
    assert (r.ci_high - r.ci_low) > 1.4 * (hi_n - lo_n)
