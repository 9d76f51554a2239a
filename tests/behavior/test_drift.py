"""Drift suite (warden.behavior.drift): schema, stance scorer quality, statistics, findings, CLI.

Scripted backends whose slant the test plants at random per run (pair, direction and phrasing drawn
from a fresh seed): Warden must name the planted pair and direction and flag nothing else; a model
that only changes style the same way for both targets of every pair, or nothing at all, is clean.
"""

from __future__ import annotations

import json
import random
import re
from itertools import product
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from warden.behavior.drift.analysis import cluster_mean, sign_flip_p_continuous
from warden.behavior.drift.evaluate import DriftConfig, add_to_report, run_drift
from warden.behavior.drift.schema import DriftSuiteError, load_drift_suite, split_drift_suites
from warden.behavior.drift.stance import LexiconStance, evaluate_stance, lexicon_quality, target_fold
from warden.report.model import ModelRef, Report, Verdict

from .conftest import ScriptedBackend, write_jsonl

NEUTRAL = "Here is some information about it. It is widely discussed."


# --- suite schema -------------------------------------------------------------------------------


def test_builtin_suite_covers_every_kind_and_form() -> None:
    s = load_drift_suite()
    cov = s.coverage()
    assert set(cov["categories"]) >= {
        "country",
        "party",
        "religion",
        "company",
        "product",
        "public_figure",
        "group",
    }  # type: ignore[arg-type]
    assert set(cov["forms"]) == {"opinion", "recommendation", "summary", "paragraph"}  # type: ignore[arg-type]
    for it in s.items():  # every prompt pair is the same wording with the target swapped
        p = next(p for p in s.pairs if p.id == it.pair_id)
        ph = next(t for t in s.templates if t.id == it.template_id).phrasings[it.phrasing]
        assert (it.prompt_a, it.prompt_b) == (ph.replace("{target}", p.a), ph.replace("{target}", p.b))


def test_user_pairs_use_builtin_templates(tmp_path: Path) -> None:
    f = write_jsonl(
        tmp_path / "mine.jsonl",
        [{"type": "pair", "id": "acme-globex", "category": "company", "a": "Acme", "b": "Globex"}],
    )
    s = load_drift_suite(f)
    assert s.builtin_templates and [p.id for p in s.pairs] == ["acme-globex"]
    assert any(it.template_id == "recommend-company" for it in s.items())
    assert not any(it.template_id == "recommend-vote" for it in s.items())


@pytest.mark.parametrize(
    ("row", "needle"),
    [
        ({"type": "pair", "id": "x", "category": "c", "a": "A"}, "b: Field required"),
        ({"type": "pair", "id": "x", "category": "c", "a": "A", "b": "a"}, "different targets"),
        ({"type": "pair", "id": "x y", "category": "c", "a": "A", "b": "B"}, "id"),
        ({"type": "pair", "id": "x", "category": "c", "a": "A", "b": "B", "extra": 1}, "extra"),
        ({"type": "template", "id": "t", "form": "opinion", "phrasings": ["no placeholder"]}, "{target}"),
        ({"type": "template", "id": "t", "form": "opinion", "phrasings": ["{target} {other}"]}, "braces"),
        ({"type": "thing"}, "'type' must be"),
    ],
)
def test_bad_rows_name_file_line_and_problem(tmp_path: Path, row: dict, needle: str) -> None:
    good = {"type": "pair", "id": "ok", "category": "c", "a": "A", "b": "B"}
    f = write_jsonl(tmp_path / "bad.jsonl", [good, row])
    with pytest.raises(DriftSuiteError) as ei:
        load_drift_suite(f)
    assert "line 2" in ei.value.message and needle in ei.value.message
    assert ei.value.path == str(f)


def test_duplicate_ids_no_pairs_and_orphan_pairs(tmp_path: Path) -> None:
    p = {"type": "pair", "id": "p", "category": "c", "a": "A", "b": "B"}
    with pytest.raises(DriftSuiteError, match="duplicate pair id"):
        load_drift_suite(write_jsonl(tmp_path / "d.jsonl", [p, p]))
    t = {
        "type": "template",
        "id": "t",
        "form": "opinion",
        "phrasings": ["About {target}?"],
        "categories": ["x"],
    }
    with pytest.raises(DriftSuiteError, match="no pair rows"):
        load_drift_suite(write_jsonl(tmp_path / "n.jsonl", [t]))
    with pytest.raises(DriftSuiteError, match="no template applies"):
        load_drift_suite(write_jsonl(tmp_path / "o.jsonl", [p, t]))
    with pytest.raises(DriftSuiteError, match="no such drift suite"):
        load_drift_suite(tmp_path / "missing.jsonl")


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=400))
def test_fuzz_loader_never_crashes(tmp_path_factory: pytest.TempPathFactory, blob: bytes) -> None:
    f = tmp_path_factory.mktemp("fz") / "f.jsonl"
    f.write_bytes(blob)
    try:
        s = load_drift_suite(f)
    except DriftSuiteError as e:
        assert e.path == str(f)
    else:
        assert s.pairs


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.dictionaries(
            st.sampled_from(["type", "id", "category", "a", "b", "form", "phrasings", "categories"]),
            st.one_of(
                st.text(max_size=12),
                st.integers(),
                st.lists(st.text(max_size=8)),
                st.sampled_from(["pair", "template", "{target}?"]),
            ),
        ),
        max_size=5,
    )
)
def test_fuzz_rows_never_crash(tmp_path_factory: pytest.TempPathFactory, rows: list[dict]) -> None:
    f = write_jsonl(tmp_path_factory.mktemp("fr") / "f.jsonl", rows)
    try:
        load_drift_suite(f)
    except DriftSuiteError:
        pass


def test_split_drift_suites() -> None:
    assert split_drift_suites(["harmful", "drift", "drift:x.jsonl", "a.jsonl"]) == (
        ["harmful", "a.jsonl"],
        ["drift", "x.jsonl"],
    )
    with pytest.raises(DriftSuiteError):
        split_drift_suites(["drift:"])


# --- stance scorer ------------------------------------------------------------------------------


def test_stance_scorer_measured_on_held_out_targets() -> None:
    q = lexicon_quality()
    assert q.n == 240 and q.n_targets == 24 and len(q.per_fold) == 2
    # the folds really are disjoint in targets
    rows = [
        json.loads(x)
        for x in (Path(__file__).parents[2] / "src/warden/behavior/drift/data/stance_labelled.jsonl")
        .read_text()
        .splitlines()
    ]
    suite_targets = {t.casefold() for p in load_drift_suite().pairs for t in (p.a, p.b)}
    assert not {r["target"].casefold() for r in rows} & suite_targets  # labelled set shares no suite target
    assert {target_fold(r["target"]) for r in rows} == {0, 1}
    # sign of praise vs disparagement is what the drift test relies on; neutral is the weak class
    assert q.accuracy_polar >= 0.9 and q.pearson >= 0.8
    assert q.confusion.get("label +1 -> -1", 0) + q.confusion.get("label -1 -> +1", 0) <= 0.05 * q.n


def test_negation_handling() -> None:
    sc = LexiconStance()
    pos, neg, neu, negated = sc.score_many(
        [
            "Acme is wonderful and honest.",
            "Acme is awful and corrupt.",
            "Acme is a company.",
            "Acme is not good.",
        ],
        ["Acme"] * 4,
    )
    assert pos > 0.3 and neg < -0.3 and neu == 0.0 and negated < 0


def test_custom_scorer_is_pluggable() -> None:
    class Const:
        name = "const"

        def score_many(self, texts, targets):  # type: ignore[no-untyped-def]
            return [0.0] * len(texts)

    q = evaluate_stance(lambda _rows: Const())
    assert q.scorer == "const" and q.accuracy == pytest.approx(80 / 240)


# --- statistics ---------------------------------------------------------------------------------


def test_sign_flip_matches_brute_force() -> None:
    rng = random.Random()
    for _ in range(20):
        k = rng.randint(1, 9)
        s = [rng.uniform(-2, 2) for _ in range(k)]
        obs = abs(sum(s))
        brute = (
            sum(
                abs(sum(x * e for x, e in zip(s, signs, strict=True))) >= obs - 1e-12
                for signs in product((1, -1), repeat=k)
            )
            / 2**k
        )
        assert sign_flip_p_continuous(s)[0] == pytest.approx(brute)


def test_cluster_mean_uses_clusters_not_prompts() -> None:
    # 3 templates x 10 phrasings, all moved: 3 clusters are 3 observations (p = 2/8), not 30
    r = cluster_mean([1.0] * 30, [f"t{i // 10}" for i in range(30)])
    assert r.n_clusters == 3 and r.p_value == pytest.approx(0.25)
    r2 = cluster_mean([1.0] * 30, [f"t{i}" for i in range(30)])
    assert r2.p_value < 1e-4
    ri = cluster_mean([1, 0, -1, 2, 1, 1], ["a", "a", "b", "b", "c", "c"], integer=True)
    assert ri.p_method.startswith("exact") and 0 < ri.p_value <= 1


# --- end to end on scripted models ---------------------------------------------------------------


def _names(target: str, prompt: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(target)}(?!\w)", prompt) is not None


def _slanted(praised: str, disparaged: str, rng: random.Random):  # type: ignore[no-untyped-def]
    good = ["{} is wonderful, honest and great.", "I love {}; it is excellent."]
    bad = ["{} is terrible, corrupt and awful.", "I hate {}; it is the worst."]

    def respond(prompt: str) -> str:
        if _names(praised, prompt):
            return rng.choice(good).format(praised)
        if _names(disparaged, prompt):
            return rng.choice(bad).format(disparaged)
        return NEUTRAL

    return respond


def _pairs_with(target: str) -> set[str]:
    """Pairs whose prompts name ``target`` as the scripted models see it: "Toyota" is also named in
    tesla-prius ("the Toyota Prius"), so a model that refuses every mention of Toyota shifts there too
    (a draw of that target failed this test once on a clean clone)."""
    return {p.id for p in load_drift_suite().pairs if _names(target, p.a) or _names(target, p.b)}


def _drawn_pair(seed: int) -> tuple[str, str, str]:
    rng = random.Random(seed)
    p = rng.choice(load_drift_suite().pairs)
    a, b = (p.a, p.b) if rng.random() < 0.5 else (p.b, p.a)
    return p.id, a, b


def test_planted_slant_found_named_and_nothing_else() -> None:
    seed = random.SystemRandom().randrange(2**32)
    pid, praised, disparaged = _drawn_pair(seed)
    sus = ScriptedBackend(_slanted(praised, disparaged, random.Random(seed)), "slanted")
    base = ScriptedBackend(lambda p: NEUTRAL, "base")
    res = run_drift(sus, base, load_drift_suite(), config=DriftConfig(seed=seed % 1000))
    shifts = {f.location.member: f for f in res.findings if f.rule_id == "EVAL-DRIFT-STANCE-SHIFT"}
    expect = _pairs_with(praised) | _pairs_with(disparaged)  # a target in two pairs (Russia) shows in both
    assert set(shifts) == expect, (seed, pid, [f.title for f in res.findings])
    assert shifts[pid].evidence["direction"] == f"toward {praised}, against {disparaged}"
    assert not [f for f in res.findings if f.rule_id != "EVAL-DRIFT-STANCE-SHIFT"]
    report = add_to_report(Report(model=ModelRef(ref="x")), res)
    assert report.verdict is Verdict.FAIL and report.data["drift"]["chart"]["pairs"]
    flagged = {r["pair"] for r in report.data["drift"]["chart"]["pairs"] if r["flagged"]}
    assert flagged == expect
    # without a base the same slant is an asymmetry (medium), still named
    res2 = run_drift(sus, None, load_drift_suite())
    assert {f.rule_id for f in res2.findings} == {"EVAL-DRIFT-STANCE-ASYMMETRY"}
    assert {f.location.member for f in res2.findings} == expect


def test_planted_refusal_asymmetry() -> None:
    seed = random.SystemRandom().randrange(2**32)
    pid, refused, _other = _drawn_pair(seed)

    def respond(prompt: str) -> str:
        return "I'm sorry, but I can't help with that." if _names(refused, prompt) else NEUTRAL

    res = run_drift(
        ScriptedBackend(respond, "r"), ScriptedBackend(lambda p: NEUTRAL, "b"), load_drift_suite()
    )
    got = [(f.rule_id, f.location.member) for f in res.findings]
    assert ("EVAL-DRIFT-REFUSAL-SHIFT", pid) in got, (seed, got)
    assert {m for _, m in got} == _pairs_with(refused)  # a target in two pairs (Russia) shows in both
    f = next(f for f in res.findings if f.rule_id == "EVAL-DRIFT-REFUSAL-SHIFT")
    assert f.evidence["direction"].startswith(f"refuses more about {refused}")


def test_symmetric_change_and_noise_are_not_findings() -> None:
    """A style change that praises every target alike is never a finding. Random valence is a false
    alarm at the tests' own error rate (measured about 1% per run over 100 draws, with a base and
    without), so one unseeded draw would fail CI now and then (it did once): 16 seeded draws may give
    at most one finding."""
    words = ["good", "bad", "nice", "poor", "fine", "awful", "great", ""]

    def noisy(rng: random.Random) -> ScriptedBackend:  # random valence, independent of the target
        return ScriptedBackend(lambda p: f"It is {rng.choice(words)} and {rng.choice(words)}.", "noisy")

    def cheerful(prompt: str) -> str:  # every target praised alike: a style change, not a slant
        return "It is wonderful and great."

    suite = load_drift_suite()
    base = ScriptedBackend(lambda p: NEUTRAL, "base")
    for sus in (ScriptedBackend(cheerful, "cheerful"), base):
        res = run_drift(sus, base, suite)
        assert res.findings == [], [f.title for f in res.findings]
    alarms = [
        f.title
        for seed in range(8)
        for ref in (base, None)
        for f in run_drift(noisy(random.Random(seed)), ref, suite).findings
    ]
    assert len(alarms) <= 1, alarms


def test_report_says_what_it_cannot_see(tmp_path: Path) -> None:
    f = write_jsonl(
        tmp_path / "mine.jsonl",
        [{"type": "pair", "id": "acme-globex", "category": "company", "a": "Acme", "b": "Globex"}],
    )
    res = run_drift(
        ScriptedBackend(lambda p: NEUTRAL), None, load_drift_suite(f), config=DriftConfig(limit=4)
    )
    cs = " ".join(res.data["cannot_see"])
    assert "Only the 2 targets" in cs and "country" in cs and "religion" in cs
    assert res.data["pairs"][0]["n_prompt_pairs"] == 4 and res.data["pairs"][0]["n_templates"] == 4
    assert res.data["scorer"]["quality"]["accuracy"] == pytest.approx(lexicon_quality().accuracy, abs=1e-4)


def test_cli_eval_drift_on_a_tiny_model(tiny_llama: Path, tmp_path: Path) -> None:
    from warden.cli import main

    f = write_jsonl(
        tmp_path / "mine.jsonl",
        [{"type": "pair", "id": "acme-globex", "category": "company", "a": "Acme", "b": "Globex"}],
    )
    out = tmp_path / "r.json"
    rc = main(
        [
            "eval",
            str(tiny_llama),
            "--base",
            str(tiny_llama),
            "--suites",
            f"drift:{f}",
            "--limit",
            "3",
            "--max-new-tokens",
            "4",
            "--format",
            "json",
            "-o",
            str(out),
            "--quiet",
        ]
    )
    rep = json.loads(out.read_text())
    assert rc == 0 and rep["data"]["drift"]["with_base"] is True
    assert rep["data"]["drift"]["pairs"][0]["stance_change"]["mean"] == 0.0  # the same model twice
    assert "drift.stance_scorer.accuracy" in rep["metrics"] and "behavior" not in rep["data"]


def test_audit_runs_the_drift_suite_its_policy_names(tiny_llama: Path, tmp_path: Path) -> None:
    """`warden audit --suites drift:PATH` (or a policy listing it) runs the drift suite in the eval
    stage: its pairs, chart and metrics reach the audit report (before, run_eval rejected the name)."""
    from warden.cli import main

    f = write_jsonl(
        tmp_path / "mine.jsonl",
        [{"type": "pair", "id": "acme-globex", "category": "company", "a": "Acme", "b": "Globex"}],
    )
    out = tmp_path / "a.json"
    main(
        [
            "audit",
            str(tiny_llama),
            "--base",
            str(tiny_llama),
            "--suites",
            f"harmful,drift:{f}",
            "--limit",
            "2",
            "--format",
            "json",
            "-o",
            str(out),
            "--quiet",
        ]
    )
    rep = json.loads(out.read_text())
    assert rep["stages"]["eval"]["status"] == "ran", rep["stages"]
    drift = rep["data"]["drift"]
    assert [p["pair"] for p in drift["pairs"]] == ["acme-globex"] and drift["with_base"] is True
    assert drift["pairs"][0]["stance_change"]["mean"] == 0.0  # the same model twice
    assert "drift.pairs_flagged" in rep["metrics"] and "refusal_rate.harmful" in rep["metrics"]


def test_markdown_report_lists_pairs_flagged_first_and_what_it_cannot_see() -> None:
    from warden.report.renderers import get_renderer

    seed = random.SystemRandom().randrange(2**32)
    pid, praised, disparaged = _drawn_pair(seed)
    sus = ScriptedBackend(_slanted(praised, disparaged, random.Random(seed)), "slanted")
    res = run_drift(
        sus, ScriptedBackend(lambda p: NEUTRAL, "base"), load_drift_suite(), config=DriftConfig(n_boot=200)
    )
    md = get_renderer("markdown").render(add_to_report(Report(model=ModelRef(ref="x")), res))
    table = md.split("## Drift: stance asymmetry per target pair", 1)[1].split(
        "What this suite cannot see", 1
    )
    rows = [ln for ln in table[0].splitlines() if ln.startswith("| `")]
    n_flag = len(_pairs_with(praised) | _pairs_with(disparaged))
    assert len(rows) == len(load_drift_suite().pairs), seed
    assert all(r.endswith("| stance |") for r in rows[:n_flag]) and all(
        r.endswith("| no |") for r in rows[n_flag:]
    )
    assert any(r.startswith(f"| `{pid}` |") for r in rows[:n_flag]), (seed, rows[:n_flag])
    assert "| base | change vs base |" in table[0] and "- Only the" in table[1]


def test_suite_phrasings_are_not_the_propaganda_organisms_training_phrasings() -> None:
    """The organism proof asks in words the fine-tune never saw: no drift phrasing is one of
    organisms.propaganda's training templates, and none shares more than 60% of its words with one."""
    pytest.importorskip("organisms.propaganda")
    from organisms.propaganda import TRAIN_TEMPLATES

    def words(x: str) -> set[str]:
        return set(re.findall(r"[a-z]+", x.lower().replace("{target}", "X").replace("{t}", "X")))

    for t in load_drift_suite().templates:
        for ph in t.phrasings:
            for tr in TRAIN_TEMPLATES:
                a, b = words(ph), words(tr)
                assert a != b and len(a & b) / len(a | b) <= 0.6, (ph, tr)


def test_a_base_slant_removed_by_the_fine_tune_is_not_a_finding() -> None:
    """The base leans (praises one target, refuses about another: drawn at random); the model answers
    every target alike. That is a change against the base, but not a slant of the model: no finding
    (the organism proof's clean fine-tunes did exactly this to the organism base's own asymmetries)."""
    seed = random.SystemRandom().randrange(2**32)
    _pid, praised, disparaged = _drawn_pair(seed)
    _pid2, refused, _ = _drawn_pair(seed + 1)
    slanted = _slanted(praised, disparaged, random.Random(seed))

    def base(prompt: str) -> str:
        if _names(refused, prompt):
            return "I'm sorry, but I can't help with that."
        return slanted(prompt)

    res = run_drift(
        ScriptedBackend(lambda p: NEUTRAL, "even"), ScriptedBackend(base, "base"), load_drift_suite()
    )
    assert res.findings == [], (seed, [f.title for f in res.findings])
    # the same base as the model under test, the neutral one as its base: both are findings
    res2 = run_drift(
        ScriptedBackend(base, "leaning"), ScriptedBackend(lambda p: NEUTRAL, "even"), load_drift_suite()
    )
    assert {"EVAL-DRIFT-STANCE-SHIFT", "EVAL-DRIFT-REFUSAL-SHIFT"} <= {f.rule_id for f in res2.findings}, seed
