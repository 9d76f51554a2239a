"""The audit policy: what passes, warns or fails. Untrusted input (a YAML file), parsed with pydantic.

A policy says which severities fail or warn, which stages are required, thresholds on metrics (with
which CI bound to compare, so a threshold can demand statistical evidence), waivers for specific
findings (each with a justification and an optional expiry), and the ``verify`` rules for attestations.
"""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from warden.attest.api import VerifyPolicy
from warden.errors import WardenError
from warden.report.model import Severity

DEFAULT_POLICY_PATH = Path(__file__).parent / "policies" / "default.yaml"


class PolicyError(WardenError):
    """The policy file is missing, not YAML, or does not match the policy schema."""


class MetricRule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    min: float | None = None
    max: float | None = None
    # Which number to compare: the point estimate, or a CI bound (ci_high for a minimum means "fail only
    # when even the optimistic bound is below": the shortfall is statistically supported).
    bound: Literal["value", "ci_low", "ci_high"] = "value"
    action: Literal["fail", "warn"] = "fail"
    description: str = ""


class Waiver(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rule_id: str
    path: str = "*"  # glob on the finding's file
    justification: str = Field(min_length=10)
    expires: date | None = None


class StageSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    scan: bool = True
    forensics: bool = True
    eval: bool = True


class EvalSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # a budget by name (warden.behavior.profiles); `suites` and `limit` below override its parts
    profile: Literal["quick", "standard", "full"] = "standard"
    suites: list[str] | None = None
    limit: int | None = Field(default=None, ge=1)
    seed: int = 0
    trigger_sweep: bool = True


class Policy(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: Literal[1] = 1
    name: str = "custom"
    fail_on: Severity = Severity.HIGH
    warn_on: Severity = Severity.MEDIUM
    required_stages: list[Literal["scan", "forensics", "eval"]] = ["scan", "forensics", "eval"]
    stages: StageSettings = StageSettings()
    eval: EvalSettings = EvalSettings()
    metrics: dict[str, MetricRule] = {}
    waivers: list[Waiver] = []
    verify: VerifyPolicy = VerifyPolicy()

    def required(self) -> list[str]:
        """The stages the verdict needs evidence from: ``required_stages`` less those the policy itself
        turns off under ``stages`` (an explicit choice, still shown as "no … evidence" in the report)."""
        on = self.stages.model_dump()
        return [s for s in self.required_stages if on.get(s, True)]

    @field_validator("fail_on", "warn_on", mode="before")
    @classmethod
    def _lower(cls, v: object) -> object:
        return v.lower() if isinstance(v, str) else v


def load_policy(path: Path | None) -> tuple[Policy, str]:
    """Load ``path`` (or the shipped default); returns the policy and the SHA-256 of its bytes."""
    p = path or DEFAULT_POLICY_PATH
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise PolicyError("policy file not found", path=str(p)) from None
    try:
        doc = yaml.safe_load(raw) or {}
    except yaml.YAMLError as exc:
        raise PolicyError(f"policy is not valid YAML: {exc}", path=str(p)) from None
    try:
        policy = Policy.model_validate(doc)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(x) for x in err["loc"])
        raise PolicyError(f"invalid policy: {err['msg']} at {where or 'top level'}", path=str(p)) from None
    return policy, hashlib.sha256(raw).hexdigest()
