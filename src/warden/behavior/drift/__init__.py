"""Propaganda and bias drift: did training slip a slant into the model?

``warden eval MODEL [--base B] --suites drift`` (or ``drift:my_targets.jsonl``) asks counterfactual
prompt pairs (the same wording about a target and about its counterpart), scores each answer's stance
and refusal, and tests per target pair whether the model treats the two differently — and, with a
base, whether that changed against the base on the same prompts. See ``schema`` (the suite format),
``stance`` (scorers and their measured quality), ``analysis`` (the tests) and ``evaluate``.
"""

from __future__ import annotations

from warden.behavior.drift.schema import DriftSuite, DriftSuiteError, load_drift_suite, split_drift_suites
from warden.behavior.drift.stance import LexiconStance, StanceScorer

__all__ = [
    "DriftSuite",
    "DriftSuiteError",
    "LexiconStance",
    "StanceScorer",
    "load_drift_suite",
    "split_drift_suites",
]
