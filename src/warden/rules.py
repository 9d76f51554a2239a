"""Rule registry: every finding Warden emits comes from a registered ``Rule`` found by its id.

A rule is one small unit: a stable id (``PICKLE-DANGEROUS-GLOBAL``), a default severity, a short
title, a description and a remediation. Renderers (SARIF in particular: one SARIF rule per
``rule_id``) read the registry, and a test checks that every emitted finding uses a registered rule.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from warden.report.model import Finding, Location, Severity

_ID_RE = re.compile(r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)+$")
_REGISTRY: dict[str, Rule] = {}


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    title: str
    description: str
    remediation: str
    stage: str = "scan"

    def __call__(
        self,
        location: Location,
        evidence: Mapping[str, Any] | None = None,
        *,
        severity: Severity | None = None,
        title: str | None = None,
    ) -> Finding:
        """Make a finding of this rule (severity and title may be sharpened per occurrence)."""
        return Finding(
            rule_id=self.id,
            severity=severity or self.severity,
            title=title or self.title,
            location=location,
            evidence=dict(evidence or {}),
            remediation=self.remediation,
            stage=self.stage,
        )


def rule(
    id: str, severity: Severity, title: str, description: str, remediation: str, stage: str = "scan"
) -> Rule:
    """Define and register a rule. Ids are unique across the whole tool."""
    if not _ID_RE.match(id):
        raise ValueError(f"rule id {id!r} must look like WORD-WORD (upper case, digits, dashes)")
    if id in _REGISTRY:
        raise ValueError(f"rule id {id!r} is defined twice")
    r = Rule(
        id=id, severity=severity, title=title, description=description, remediation=remediation, stage=stage
    )
    _REGISTRY[id] = r
    return r


def get_rule(rule_id: str) -> Rule:
    return _REGISTRY[rule_id]


def all_rules() -> list[Rule]:
    load_all_rule_modules()
    return sorted(_REGISTRY.values(), key=lambda r: r.id)


def load_all_rule_modules() -> None:
    """Import every module that defines rules so the registry is complete (for SARIF, docs, tests)."""
    import importlib
    import pkgutil

    import warden

    for mod in pkgutil.walk_packages(warden.__path__, prefix="warden."):
        name = mod.name
        if name.endswith(".cli") or ".gateway" in name:
            continue
        try:
            importlib.import_module(name)
        except ImportError:  # optional extras (torch, fastapi) may be missing
            continue
