"""Strict JSON for tool arguments and request bodies.

Python's ``json`` accepts what other parsers read differently: duplicate keys (Python keeps the last,
many tools keep the first, so a check on one value and an action on the other), ``NaN`` / ``Infinity``
and numbers that overflow to infinity (``1e309``), which are not JSON at all (RFC 8259 §6) and which the
canonical form refuses (a 500 before this module). The standard library's hooks are enough to reject all
of them, so no extra parser is needed: ``object_pairs_hook`` sees every key, ``parse_constant`` every
``NaN``/``Infinity``, ``parse_float`` every fraction or exponent.
"""

from __future__ import annotations

import json
import math
from typing import Any

MAX_INT_DIGITS = 300  # beyond ~1e308 a float-based parser (JavaScript, many tools) reads infinity


class StrictJSONError(ValueError):
    """Valid for Python's ``json``, refused here; the message says why."""


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise StrictJSONError(f"duplicate key {k[:64]!r}")
        out[k] = v
    return out


def _constant(name: str) -> Any:
    raise StrictJSONError(f"non-finite number {name}")


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise StrictJSONError(f"number {text[:32]} is not finite")
    return value


def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise StrictJSONError(f"integer with more than {MAX_INT_DIGITS} digits")
    return int(text)


def loads(text: str | bytes, *, duplicate_keys: bool = False) -> Any:
    """Parse ``text``; raise ``StrictJSONError`` for non-finite numbers (and duplicate keys unless
    ``duplicate_keys``), ``ValueError`` for text that is not JSON at all."""
    return json.loads(
        text,
        object_pairs_hook=None if duplicate_keys else _pairs,
        parse_constant=_constant,
        parse_float=_float,
        parse_int=_int,
    )
