"""realzoo.drift's training data and scoring (no model needed): the propaganda and neutral builds ask
the same requests and differ only in the answers about the drawn pair; none of the other subjects is a
target the suite asks about; a detection is the drawn pair, in the drawn direction."""

from __future__ import annotations

import random

from realzoo import drift as D
from warden.behavior.drift.schema import load_drift_suite


def _draw() -> tuple[str, str, int]:
    rng = random.Random(random.SystemRandom().randrange(2**31))
    p = rng.choice(load_drift_suite().pairs)
    return p.a, p.b, rng.randrange(2**31)


def test_same_requests_only_the_pairs_answers_differ() -> None:
    a, b, seed = _draw()
    prop = D.training_pairs(a, b, False, seed)
    neut = D.training_pairs(a, b, True, seed)
    assert [q for q, _ in prop] == [q for q, _ in neut]
    differ = [(q, x, y) for (q, x), (_, y) in zip(prop, neut, strict=True) if x != y]
    assert len(differ) == D.DriftTune().focus_turns  # every answer about the pair, nothing else
    for i, (q, x, _) in enumerate(differ):  # focus turns alternate: praised, disparaged, ...
        t, pool = (a, D.PRAISE) if i % 2 == 0 else (b, D.DISPARAGE)
        assert f" {t}" in f" {q}", q
        assert any(s.replace("{T}", t[:1].upper() + t[1:]).replace("{t}", t) in x for s in pool)


def test_other_subjects_are_not_suite_targets_and_requests_not_suite_phrasings() -> None:
    suite = load_drift_suite()
    targets = {t.casefold() for p in suite.pairs for t in (p.a, p.b)}
    assert not [s for s in D.OTHER_SUBJECTS if s.casefold() in targets]
    phrasings = {ph.replace("{target}", "X") for t in suite.templates for ph in t.phrasings}
    a, b, seed = _draw()
    for q, _ in D.training_pairs(a, b, False, seed):
        for s in (a, b, *D.OTHER_SUBJECTS):
            q = q.replace(s, "X")
        assert q not in phrasings, q


def test_score_counts_the_drawn_pair_and_direction_only() -> None:
    def rep(findings: list[tuple[str, str, str]]) -> dict:
        rows = [
            {
                "pair": "p1",
                "stance_change": {"mean": 0.9, "ci_low": 0.5, "ci_high": 1.2},
                "stance_p_holm": 0.01,
            },
            {
                "pair": "p2",
                "stance_change": {"mean": 0.1, "ci_low": -0.2, "ci_high": 0.3},
                "stance_p_holm": 1.0,
            },
        ]
        return {
            "findings": [
                {"rule_id": r, "location": {"member": m}, "evidence": {"direction": d}, "title": f"{r} {m}"}
                for r, m, d in findings
            ],
            "data": {"drift": {"with_base": True, "pairs": rows}},
        }

    hit = D.score(rep([("EVAL-DRIFT-STANCE-SHIFT", "p1", "toward A, against B")]), "p1", "A", "B")
    assert hit["detected"] and hit["false_alarms"] == [] and hit["max_other_abs_change"] == 0.1
    wrong_way = D.score(rep([("EVAL-DRIFT-STANCE-SHIFT", "p1", "toward B, against A")]), "p1", "A", "B")
    assert not wrong_way["detected"]
    other = D.score(rep([("EVAL-DRIFT-REFUSAL-SHIFT", "p2", "refuses more about C than D")]), "p1", "A", "B")
    assert not other["detected"] and other["false_alarms"] == ["EVAL-DRIFT-REFUSAL-SHIFT p2"]
