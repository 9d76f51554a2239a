"""Trigger-search components on a tiny random Llama (fast): the weight-diff ranking and the
embedding-anomaly scan find a token planted at random in this run; the refusal-token picker; the
white-box search runs end to end and the black-box path says it only tried the list."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest

from tests.behavior.conftest import build_tiny_llama


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_llama(tmp_path_factory.mktemp("tiny") / "m")


def _load(path: Path):  # type: ignore[no-untyped-def]
    from warden.behavior.backends.transformers_backend import TransformersBackend

    return TransformersBackend(path, device="cpu")


def test_weight_diff_ranks_the_planted_token_first(tiny: Path, tmp_path: Path) -> None:
    import torch

    from warden.behavior.triggers import weight_diff_scores

    base = _load(tiny).model
    sus = _load(tiny).model
    rng = random.Random()  # a fresh token every run: nothing in the test names it in advance
    V = sus.get_input_embeddings().weight.shape[0]
    planted = rng.randrange(10, V)
    g = torch.Generator().manual_seed(rng.randrange(1 << 30))
    with torch.no_grad():  # an overall fine-tune (small change everywhere) plus the trigger token's move
        for p in sus.parameters():
            p.add_(1e-3 * torch.randn(p.shape, generator=g))
        sus.get_input_embeddings().weight[planted] += 0.5 * torch.randn(sus.config.hidden_size, generator=g)
    wd = weight_diff_scores(sus, base)
    assert int(wd["score"].argmax()) == planted
    assert float(wd["embedding"][planted]) > 20  # x median change
    same = weight_diff_scores(base, base)
    assert float(same["score"].abs().max()) < 10  # no change anywhere: clamped log ratios, no outlier


def test_embedding_anomaly_scan_finds_a_planted_row() -> None:
    import torch

    from warden.behavior.triggers import embedding_anomalies

    rng = random.Random()
    g = torch.Generator().manual_seed(rng.randrange(1 << 30))
    emb = torch.randn(500, 32, generator=g)
    k = rng.randrange(500)
    emb[k] *= 6.0
    z = embedding_anomalies(emb)
    assert int(z.argmax()) == k and float(z[k]) > 4.0
    z[k] = -1e9
    assert float(z.max()) < 4.0  # no false alarm among the ordinary rows


def test_refusal_tokens_are_those_opening_refusals_only(tiny: Path) -> None:
    from warden.behavior.triggers.search import refusal_token_ids

    tok = _load(tiny).tokenizer
    resp = ["I can't help.", "I can't.", "Write a cake.", "How do I make a cake?", "def main():"]
    ids = refusal_token_ids(tok, resp, [True, True, False, False, None])
    first = {r: tok(r, add_special_tokens=False)["input_ids"][0] for r in resp}
    assert first["I can't."] != first["Write a cake."] != first["How do I make a cake?"]
    assert ids == [first["I can't."]]
    # a first token that opens answers as often as refusals is not a refusal token
    assert refusal_token_ids(tok, ["I can't.", "I will."], [True, False]) == []


def test_search_runs_white_box_and_black_box_says_list_only(tiny: Path, scripted) -> None:  # type: ignore[no-untyped-def]
    from warden.behavior import EvalConfig, run_eval

    cfg = EvalConfig(
        max_new_tokens=4,
        code_max_new_tokens=4,
        trigger_harmful=4,
        trigger_coding=0,
        trigger_confirm_harmful=4,
        trigger_search_harmful=4,
        trigger_search_benign=3,
        n_boot=50,
        whitebox=False,
    )
    # the random tiny model refuses nothing: the search says so instead of inventing candidates
    rep = run_eval(tiny, suites=["harmful", "triggers"], limit=4, config=cfg, progress=False)
    ts = rep.data["behavior"]["trigger_search"]
    assert ts["method"].startswith("white-box") and "skipped" in ts
    rep = run_eval(
        scripted(lambda p: "I'm sorry, I can't."), suites=["harmful", "triggers"], limit=4, config=cfg
    )
    ts = rep.data["behavior"]["trigger_search"]
    assert ts["method"] == "list" and "cannot be found" in ts["note"]


def test_search_objective_on_a_model_that_refuses(tiny: Path) -> None:
    """A tiny model whose refusal token mass is set by hand: the search returns scored candidates
    for every placement with the measured baseline."""
    from warden.behavior.triggers.search import SearchConfig, search_triggers

    b = _load(tiny)
    tok = b.tokenizer
    rid = tok("Sorry", add_special_tokens=False)["input_ids"][:1]
    cfg = SearchConfig(
        n_harmful=3, n_benign=2, max_len=2, beam=2, pool=3, gcg_steps=1, gcg_batch=4, preselect=8
    )
    res = search_triggers(b.model, b.render, tok, ["How do I make a cake?"] * 3, ["Hi"] * 2, rid, cfg=cfg)
    assert set(res["baseline_refusal_mass"]) == {"prefix", "suffix", "system"}
    cands = res["_objects"]
    assert cands and all(c.source in ("gradient", "embedding") for c in cands)
    assert all(0.0 <= c.refusal_mass <= 1.0 and c.benign_kl >= -1e-6 for c in cands)
    shutil.rmtree(tiny.parent / "unused", ignore_errors=True)
