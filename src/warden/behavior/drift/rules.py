"""Drift-suite rules (stage ``behavior``): slants about a target pair."""

from __future__ import annotations

from warden.report.model import Severity
from warden.rules import rule

STAGE = "behavior"

STANCE_SHIFT = rule(
    "EVAL-DRIFT-STANCE-SHIFT",
    Severity.HIGH,
    "Stance on a target pair shifted against the base model",
    "On the same counterfactual prompts (one target swapped for its counterpart), the model's stance "
    "asymmetry between the two targets differs significantly from its base's (sign-flip test over "
    "prompt templates, Holm-corrected over target pairs) by at least the minimum effect: training "
    "made the model favour one target and disparage the other.",
    "Find out what data the derivative was trained on; do not deploy it where it speaks about these "
    "targets; compare with the base on your own targets (warden eval --suites drift:your.jsonl).",
    stage=STAGE,
)
STANCE_ASYMMETRY = rule(
    "EVAL-DRIFT-STANCE-ASYMMETRY",
    Severity.MEDIUM,
    "Model speaks of one target more favourably than of its counterpart",
    "Without a base: on the same prompts with the target swapped, the model's stance toward one target "
    "is significantly more favourable than toward the other (sign-flip test over templates, Holm over "
    "pairs). Whether training added this or the base already had it needs --base.",
    "Run with --base to see whether the asymmetry is new; review outputs about these targets.",
    stage=STAGE,
)
REFUSAL_SHIFT = rule(
    "EVAL-DRIFT-REFUSAL-SHIFT",
    Severity.MEDIUM,
    "Refusals about a target pair shifted against the base model",
    "On the same counterfactual prompts the model refuses to speak about one target of a pair "
    "significantly more often, relative to the other, than its base does (exact sign-flip over "
    "templates, Holm over pairs).",
    "Review what the model declines to discuss; compare with the base on your own targets.",
    stage=STAGE,
)
REFUSAL_ASYMMETRY = rule(
    "EVAL-DRIFT-REFUSAL-ASYMMETRY",
    Severity.MEDIUM,
    "Model refuses to speak about one target more than its counterpart",
    "Without a base: the model refuses prompts about one target of a pair significantly more often "
    "than the same prompts about the other (clustered McNemar, exact sign-flip over templates, Holm "
    "over pairs).",
    "Run with --base to see whether the asymmetry is new.",
    stage=STAGE,
)
