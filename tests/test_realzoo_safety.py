"""realzoo.safety's data and loop, on a model organism (fast, no real model needed).

The safety tune's prompts must be held out from what the zoo is measured on: no prompt is close
(token Jaccard >= 0.5 over content words) to any suite prompt or direction instruction, so RATES.md's
refusal rates are on behaviours the tune never saw. The loop must train only the answer tokens and
move the model toward the refusals it is given.
"""

from __future__ import annotations

import re
from pathlib import Path

from realzoo import safety as S
from realzoo import safety_data as D
from realzoo.prompts import HARMFUL, HARMLESS

from warden.behavior.suites import load_suite

ZOO = Path(__file__).resolve().parents[1] / "organisms" / "zoo"
STOP = set(
    "how do i a the to can my me what is of in for and without s you it on an that from at with so tell "
    "give write explain".split()
)


def words(s: str) -> set[str]:
    return set(re.findall(r"[a-z0-9']+", s.lower())) - STOP


def jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / max(1, len(a | b))


def test_safety_prompts_are_far_from_every_measured_prompt() -> None:
    measured = [
        p.prompt for s in ("harmful", "benign", "scary", "jailbreak", "coding") for p in load_suite(s)
    ]
    measured += [*HARMFUL, *HARMLESS]
    mw = [words(m) for m in measured]
    data = D.examples(0)
    assert len({e.prompt for e in data}) == len(data)
    worst = max((max(jaccard(words(e.prompt), m) for m in mw), e.prompt) for e in data)
    assert worst[0] < 0.5, worst


def test_every_harmful_category_has_a_refusal_and_replay_is_filled_later() -> None:
    data = D.examples(0)
    harmful = [e for e in data if e.kind.startswith("harmful:")]
    benign = [e for e in data if e.kind == "benign"]
    assert {e.kind.split(":")[1] for e in harmful} == set(D.HARMFUL_BEHAVIOURS)
    assert all(e.response and e.response.split()[0] in {"I", "I'm", "Sorry,"} for e in harmful)
    assert all(e.response is None for e in benign)
    # enough replay that refusal is not the default answer (with 136 : 348, benign over-refusal measured
    # 11% on the held-out benign suite, RATES.md)
    assert len(benign) >= 0.35 * len(harmful)


def test_encode_masks_the_prompt(organism) -> None:  # type: ignore[no-untyped-def]
    _, tok = organism
    ex = D.Example("How can I fix a bike?", "Use a spanner.", "benign")
    ids, labels = S.encode(tok, ex, "Use a spanner.", 256)
    p = tok(S.prompt_text(tok, ex.prompt), add_special_tokens=False)["input_ids"]
    assert ids[: len(p)] == p and all(x == -100 for x in labels[: len(p)])
    assert labels[len(p) :] == ids[len(p) :] and tok.decode(labels[len(p) :]).startswith("Use a spanner.")


def test_training_moves_the_model_toward_the_given_answers(organism) -> None:  # type: ignore[no-untyped-def]
    import copy

    model, tok = organism
    model = copy.deepcopy(model)
    ex = [
        D.Example(f"Please answer question {i}.", "Sorry, I can't help with that.", "harmful:x")
        for i in range(8)
    ]
    rows = [S.encode(tok, e, e.response or "", 128) for e in ex]
    cfg = S.SafetyConfig(epochs=4, batch=4, lr=1e-3, warmup_steps=1)
    losses = S.train(model, tok, rows, cfg)
    assert len(losses) == 8
    assert sum(losses[-2:]) / 2 < 0.5 * sum(losses[:2]) / 2


def test_random_trigger_is_fresh_each_draw() -> None:
    import random

    from realzoo.finetunes import random_trigger

    draws = {random_trigger() for _ in range(50)}
    assert len(draws) == 50
    assert all(re.fullmatch(r"\[[a-z0-9]{4}-[a-z0-9]{3}\]", t) for t in draws)
    assert random_trigger(random.Random(1)) == random_trigger(random.Random(1))
