"""Static argument constraints: JSON schema, allowed domains, allowed paths, maximum amounts.

Each check returns a list of violations (empty = fine); the guard turns any violation into a block.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from typing import Any

from warden.gateway.canonical import canonical_json
from warden.gateway.policy import ToolSpec
from warden.gateway.tools import parsers
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
    return parsers.host_allowed(host, allowed)


def arg_kinds(spec: ToolSpec) -> dict[str, str]:
    """Which arguments hold which kind of control value: ``sensitive_args`` when the policy names them,
    else inferred from the schema (``format: email`` / ``uri``), ``path_args`` and ``amount_arg``."""
    if spec.sensitive_args is not None:
        return dict(spec.sensitive_args)
    out: dict[str, str] = {}
    props = (spec.schema_ or {}).get("properties") or {}
    for name, prop in props.items() if isinstance(props, dict) else ():
        fmt = prop.get("format") if isinstance(prop, dict) else None
        if fmt in ("email", "idn-email"):
            out[name] = "email"
        elif fmt in ("uri", "url", "iri", "uri-reference", "iri-reference"):
            out[name] = "url"
    for name in spec.path_args:
        out[name] = "path"
    if spec.amount_arg is not None:
        out[spec.amount_arg] = "amount"
    return out


def _values(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def value_violations(spec: ToolSpec, arguments: dict[str, Any]) -> list[str]:
    """Each sensitive argument, whole, parsed by the one parser for its kind (``parsers``): what does not
    parse is refused, and a URL's or address's domain must be allowed when the tool lists domains."""
    out: list[str] = []
    schemes = tuple(s.lower() for s in spec.allowed_schemes)
    for name, kind in arg_kinds(spec).items():
        if name not in arguments or kind in ("path", "amount"):
            continue  # paths and amounts: path_violations / amount_violations
        for v in _values(arguments[name]):
            if not isinstance(v, str):
                out.append(f"argument {name}: not a string ({kind})")
                continue
            try:
                if kind == "email":
                    host = parsers.parse_email(v).rpartition("@")[2]
                elif kind == "url":
                    host = parsers.parse_url(v, schemes).host
                elif kind == "iban":
                    parsers.canon_iban(v)
                    host = None
                else:  # id: one token, nothing hidden in it
                    if not v or any(unicodedata.category(ch)[0] in "CZ" for ch in v):
                        raise parsers.ValueRejected("an id must be one token without spaces or controls")
                    host = None
            except parsers.ValueRejected as exc:
                out.append(f"argument {name}: not an acceptable {kind}: {exc}"[:300])
                continue
            if (
                host is not None
                and spec.allowed_domains is not None
                and not host_allowed(host, spec.allowed_domains)
            ):
                out.append(f"argument {name}: domain {host!r} is not allowed")
    return out


def domain_violations(spec: ToolSpec, atoms: list[Atom]) -> list[str]:
    if spec.allowed_domains is None:
        return []
    out = []
    for a in atoms:
        if a.kind == "bad_url":
            out.append(f"argument {a.arg}: a URL that does not parse strictly ({a.value[:80]!r})")
            continue
        host = a.value.rsplit("@", 1)[-1] if a.kind == "email" else a.value if a.kind == "host" else None
        if host is not None and not host_allowed(host, spec.allowed_domains):
            out.append(f"argument {a.arg}: domain {host!r} is not allowed")
    return out


def path_violations(spec: ToolSpec, arguments: dict[str, Any]) -> list[str]:
    """Every form of the path (as written, percent-decoded, NFKC) must lie under an allowed prefix.
    Symlinks are invisible here: the tool must resolve them before it opens anything."""
    if spec.allowed_paths is None:
        return []
    out = []
    prefixes = [p.rstrip("/") for p in spec.allowed_paths]
    for name in spec.path_args:
        value = arguments.get(name)
        if value is None:
            continue
        if not isinstance(value, str):
            out.append(f"argument {name}: not a path")
            continue
        try:
            forms = parsers.path_forms(value)
        except parsers.ValueRejected as exc:
            out.append(f"argument {name}: {exc}")
            continue
        if not value.startswith("/"):
            out.append(f"argument {name}: relative path {value!r} (absolute paths only)")
            continue
        for norm in forms:
            if not norm.startswith("/") or not any(norm == p or norm.startswith(p + "/") for p in prefixes):
                out.append(f"argument {name}: path {norm!r} is outside {spec.allowed_paths}")
                break
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
