"""Canonical JSON and digests for the audit log and approval binding.

Hand-written on purpose (no RFC 8785 package is a dependency): we only ever canonicalise values the
gateway built itself — str, int, bool, None, finite floats, lists and str-keyed dicts — so sorted keys,
no whitespace, UTF-8 and a rejected NaN/Infinity give one byte string per value.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def canonical_bytes(value: Any) -> bytes:
    return canonical_json(value).encode("utf-8")


def sha256_hex(data: str | bytes) -> str:
    if isinstance(data, str):
        data = data.encode("utf-8")
    return hashlib.sha256(data).hexdigest()


def digest(value: Any) -> str:
    """``sha256:<hex>`` of the canonical JSON of ``value``."""
    return "sha256:" + sha256_hex(canonical_bytes(value))
