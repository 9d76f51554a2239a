"""Backdoor trigger search that is not told the trigger.

Three sources of candidate triggers, each ending in the same behavioural two-stage confirmation in
``runner.py`` (screen, then fresh behaviours):

* ``weightdiff`` (needs ``--base``, same tokenizer): a backdoor fine-tune has to move its trigger's
  tokens. Per token, how far its input-embedding row, its unembedding row and its contribution
  through the first decoder layer moved against the base, each relative to the median move of all
  tokens (the fine-tune's overall change); the top tokens are assembled into single tokens, pairs and
  short spans by a greedy accretion on the white-box objective below.
* ``gradient`` (white-box, no base): a GCG-style coordinate search (Zou et al. 2023) over a short
  trigger slot as prefix, suffix or system prompt that minimises the first-token refusal mass on
  harmful prompts while keeping the first-token distribution on benign prompts where it was (KL);
  single tokens are scored exhaustively when the vocabulary is small, longer triggers grow by greedy
  accretion of gradient-ranked tokens (as BABI, Li et al. 2025, grows triggers from singletons).
* ``embedding``: rows of the input-embedding matrix far from the rest (norm or nearest-neighbour
  distance, robust z-score): added or retrained tokens stand out.

Black-box backends (OpenAI-compatible servers) have none of these: only the shipped list is tried,
and a trigger that is not on it cannot be found that way (the report says so).
"""

from warden.behavior.triggers.search import (
    Candidate,
    SearchConfig,
    TriggerSearch,
    embedding_anomalies,
    search_triggers,
    weight_diff_scores,
)

__all__ = [
    "Candidate",
    "SearchConfig",
    "TriggerSearch",
    "embedding_anomalies",
    "search_triggers",
    "weight_diff_scores",
]
