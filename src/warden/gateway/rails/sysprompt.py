"""System-prompt leakage (output rail): word n-gram overlap between the response and the system prompt.

Score = the share of the system prompt's n-grams (default 5 words) that appear in the response; it fires
at ``threshold`` (default 0.3) or when ``min_run`` (default 12) consecutive system-prompt words appear.
Short system prompts (fewer than n words) are not checked: nothing distinctive to leak.
"""

from __future__ import annotations

import re

from warden.gateway.rails.interface import Action, Detection, Rail, RailContext, register

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower().replace("\u2019", "'"))


def _ngrams(words: list[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


@register
class SystemPromptLeakRail(Rail):
    type = "system_prompt_leak"
    stages = frozenset({"output"})
    actions = frozenset({Action.BLOCK, Action.FLAG})

    def detect_output(self, text: str, ctx: RailContext) -> Detection | None:
        n = int(self.options.get("ngram", 5))
        threshold = float(self.options.get("threshold", 0.3))
        min_run = int(self.options.get("min_run", 12))
        sys_words = _words(ctx.system_prompt)
        if len(sys_words) < n:
            return None
        sys_grams = _ngrams(sys_words, n)
        out_grams = _ngrams(_words(text), n)
        shared = sys_grams & out_grams
        if not shared:
            return None
        share = len(shared) / len(sys_grams)
        # a run of min_run consecutive words contains (min_run - n + 1) consecutive shared n-grams
        long_run = (
            len(shared) >= max(1, min_run - n + 1) and _longest_run(_words(text), sys_grams, n) >= min_run
        )
        if share >= threshold or long_run:
            return Detection(reason=f"response repeats {share:.0%} of the system prompt", score=share)
        return None


def _longest_run(words: list[str], grams: set[tuple[str, ...]], n: int) -> int:
    best = run = 0
    for i in range(len(words) - n + 1):
        if tuple(words[i : i + n]) in grams:
            run = run + 1 if run else n
            best = max(best, run)
        else:
            run = 0
    return best
