"""Control values inside tool arguments, and where they came from.

An *atom* is a value that steers a tool call: an e-mail address, a URL's host, a path, an IBAN, a
number, or an identifier (a single token with digits or punctuation; plain words are not control values). Free text (an e-mail body) contributes only the atoms embedded
in it, so a legitimate summary of a tool output is not tainted, but an attacker's address inside it is.

Provenance of an atom: ``trusted`` when it occurs in the user's (or system's, or a trusted tool's) text,
``tainted`` when it occurs only in untrusted text (tool outputs, earlier model output), ``unknown`` when it
occurs nowhere (the model made it up).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from warden.gateway.detectors.pii import PATTERNS as PII_PATTERNS
from warden.gateway.detectors.pii import iban_ok

EMAIL = PII_PATTERNS["email"][0]
URL = re.compile(r"\b(?:https?|ftp)://[^\s<>\"'`]+", re.I)
HOST = re.compile(r"\b(?:[a-z0-9-]{1,63}\.)+[a-z]{2,24}\b", re.I)
NUMBER = re.compile(r"(?<![\w.])[-+]?\d[\d,]*(?:\.\d+)?(?![\w])")
IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b")
IDENTIFIER = re.compile(r"[0-9_#:@-]")  # plain words are language, not control values
PATHLIKE = re.compile(r"^(?:~?/|\.{1,2}/|[A-Za-z]:\\)\S*$|^[\w.-]+/[\w./-]+$")


def url_host(raw: str) -> str | None:
    """The host a WHATWG client would contact for ``raw`` (``parsers.parse_url``), None when the URL
    does not parse strictly."""
    from warden.gateway.tools.parsers import ValueRejected, parse_url

    try:
        return parse_url(raw.rstrip(".,;:!?)]}"), ("https", "http", "ftp")).host
    except ValueRejected:
        return None


@dataclass(frozen=True)
class Atom:
    arg: str  # argument path: "to", "recipients[0]", "payment.iban"
    kind: str  # email | host | url | path | iban | number | token
    value: str  # normalised


def norm_number(text: str) -> str | None:
    raw = text.replace(",", "").lstrip("+")
    try:
        value = float(raw)
    except ValueError:
        return None
    if value != value or value in (float("inf"), float("-inf")):
        return None
    return f"{value:.6f}".rstrip("0").rstrip(".")


def _leaves(value: Any, path: str) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _leaves(v, f"{path}.{k}" if path else str(k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _leaves(v, f"{path}[{i}]")
    else:
        yield path, value


def top_arg(path: str) -> str:
    return re.split(r"[.\[]", path, maxsplit=1)[0]


def extract(arguments: dict[str, Any], *, min_chars: int = 3) -> list[Atom]:
    atoms: list[Atom] = []
    for path, leaf in _leaves(arguments, ""):
        if isinstance(leaf, bool) or leaf is None:
            continue
        if isinstance(leaf, (int, float)):
            n = norm_number(str(leaf))
            if n is not None:
                atoms.append(Atom(path, "number", n))
            continue
        text = str(leaf)
        found = False
        for m in EMAIL.finditer(text):
            atoms.append(Atom(path, "email", m.group(0).lower()))
            found = True
        for m in URL.finditer(text):
            host = url_host(m.group(0))
            atoms.append(Atom(path, "host", host) if host else Atom(path, "bad_url", m.group(0).lower()))
            found = True
        for m in IBAN.finditer(text):
            if iban_ok(m.group(0)):
                atoms.append(Atom(path, "iban", m.group(0).replace(" ", "").upper()))
                found = True
        stripped = text.strip()
        if found or not stripped or len(stripped) > 256 or re.search(r"\s", stripped):
            continue  # free text contributes only its embedded atoms
        if norm_number(stripped.lstrip("$€£")) is not None:
            atoms.append(Atom(path, "number", norm_number(stripped.lstrip("$€£")) or ""))
        elif PATHLIKE.match(stripped):
            atoms.append(Atom(path, "path", stripped.lower()))
        elif HOST.fullmatch(stripped):
            atoms.append(Atom(path, "host", stripped.lower()))
        elif len(stripped) >= min_chars and IDENTIFIER.search(stripped):
            atoms.append(Atom(path, "token", stripped.lower()))  # an id (ACC-9931, user_42), not a word
    return atoms


@dataclass(frozen=True)
class Corpus:
    """Text of one trust level, pre-normalised for fast membership tests."""

    text: str
    numbers: frozenset[str]
    hosts: frozenset[str]

    @classmethod
    def of(cls, texts: list[str]) -> Corpus:
        text = "\n".join(texts).lower()
        numbers = frozenset(filter(None, (norm_number(m.group(0)) for m in NUMBER.finditer(text))))
        hosts = (
            frozenset(url_host(m.group(0)) or "" for m in URL.finditer(text))
            | frozenset(h.group(0) for h in HOST.finditer(text))
            | frozenset(m.group(0).split("@", 1)[1] for m in EMAIL.finditer(text))
        )
        return cls(text=text, numbers=numbers, hosts=hosts)

    def has(self, atom: Atom) -> bool:
        if atom.kind == "number":
            return atom.value in self.numbers
        if atom.kind == "host":
            return atom.value in self.hosts or atom.value in self.text
        if atom.kind == "iban":
            return atom.value.lower() in self.text.replace(" ", "")
        return atom.value in self.text


def provenance(atom: Atom, trusted: Corpus, untrusted: Corpus) -> str:
    if trusted.has(atom):
        return "trusted"
    if untrusted.has(atom):
        return "tainted"
    return "unknown"
