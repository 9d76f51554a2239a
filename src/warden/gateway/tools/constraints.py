"""Static argument constraints: JSON schema, allowed domains, allowed paths, maximum amounts.

Each check returns a list of violations (empty = fine); the guard turns any violation into a block.
"""

from __future__ import annotations

import posixpath
from functools import lru_cache
from typing import Any

from warden.gateway.canonical import canonical_json
from warden.gateway.policy import ToolSpec
from warden.gateway.tools.atoms import Atom, norm_number, top_arg


@lru_cache(maxsize=256)
def _validator(schema_json: str) -> Any:
    import json

    import jsonschema

    schema = json.loads(schema_json)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def schema_violations(spec: ToolSpec, arguments: dict[str, Any]) -> list[str]:
    if spec.schema_ is None:
        return []
    validator = _validator(canonical_json(spec.schema_))
    return [
        f"argument {'/'.join(str(p) for p in err.absolute_path) or '(root)'}: {err.message}"[:200]
        for err in sorted(validator.iter_errors(arguments), key=lambda e: list(e.absolute_path))[:5]
    ]


def host_allowed(host: str, allowed: list[str]) -> bool:
    host = host.lower().rstrip(".")
    return any(host == d.lower() or host.endswith("." + d.lower()) for d in allowed)


def domain_violations(spec: ToolSpec, atoms: list[Atom]) -> list[str]:
    if spec.allowed_domains is None:
        return []
    out = []
    for a in atoms:
        host = a.value.rsplit("@", 1)[-1] if a.kind == "email" else a.value if a.kind == "host" else None
        if host is not None and not host_allowed(host, spec.allowed_domains):
            out.append(f"argument {a.arg}: domain {host!r} is not allowed")
    return out


def path_violations(spec: ToolSpec, arguments: dict[str, Any]) -> list[str]:
    if spec.allowed_paths is None:
        return []
    out = []
    for name in spec.path_args:
        value = arguments.get(name)
        if value is None:
            continue
        if not isinstance(value, str) or "\x00" in value:
            out.append(f"argument {name}: not a path")
            continue
        if not value.startswith("/"):
            out.append(f"argument {name}: relative path {value!r} (absolute paths only)")
            continue
        norm = posixpath.normpath(value)
        ok = any(norm == p.rstrip("/") or norm.startswith(p.rstrip("/") + "/") for p in spec.allowed_paths)
        if not ok:
            out.append(f"argument {name}: path {norm!r} is outside {spec.allowed_paths}")
    return out


def amount_of(spec: ToolSpec, arguments: dict[str, Any]) -> float | None:
    if spec.amount_arg is None:
        return None
    raw = arguments.get(spec.amount_arg)
    if raw is None or isinstance(raw, bool):
        return None
    n = norm_number(str(raw).lstrip("$€£"))
    return float(n) if n is not None else None


def amount_violations(spec: ToolSpec, arguments: dict[str, Any]) -> list[str]:
    if spec.amount_arg is None:
        return []
    if spec.amount_arg in arguments and amount_of(spec, arguments) is None:
        return [f"argument {spec.amount_arg}: not a number"]
    amount = amount_of(spec, arguments)
    if amount is None:
        return []
    if amount < 0:
        return [f"argument {spec.amount_arg}: negative amount"]
    if spec.max_amount is not None and amount > spec.max_amount:
        return [f"argument {spec.amount_arg}: {amount:g} exceeds the limit {spec.max_amount:g}"]
    return []


def taint_scope(spec: ToolSpec, atoms: list[Atom], *, side_effecting: bool) -> list[Atom]:
    """The atoms whose provenance matters: the declared ``taint_args``, else all of them for side-effecting
    tools and only *where-from* values (hosts, e-mails, paths) for reads."""
    if spec.taint_args is not None:
        return [a for a in atoms if top_arg(a.arg) in spec.taint_args]
    if side_effecting:
        return atoms
    return [a for a in atoms if a.kind in ("host", "email", "path")]
