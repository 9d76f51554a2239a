"""Provenance, default deny (CaMeL's idea): a side-effecting call's sensitive arguments — recipients,
accounts, URLs, paths, amounts, ids — go out only when their *canonical* form comes from a trusted
source: the user's own turns (and the system/developer prompt, and tools the policy marks
``output_trusted``), the key's or task's policy (``contacts``, ``accounts``, the tool's
``allowed_domains``), or an approval. Everything else — a value copied from a tool output, re-encoded
(URL-encoding, base64, HTML entities, homoglyphs, zero-width characters, spaces, reversed), or invented by
the model — is untrusted, whatever its spelling, so no laundering helps: there is nothing to match.

Canonical forms: text NFKC + invisible characters removed + casefold; e-mail addresses the normalised
form of ``email-validator``; URLs the WHATWG serialisation (ada); IBANs without separators, checksum
verified; numbers as in ``atoms.norm_number``; paths lexically normalised. The substring taint check
(``atoms``) stays as a second signal: it tells a value *copied from tool output* from an invented one.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from warden.gateway.detectors.pii import IBAN_LENGTHS
from warden.gateway.tools import parsers
from warden.gateway.tools.atoms import EMAIL, NUMBER, URL, norm_number

_IBAN_LOOSE = re.compile(r"\b[A-Z]{2}\d{2}(?:[ \-.\u00a0]?[A-Z0-9]){11,34}\b")
_PATH = re.compile(r"(?<![\w.])(?:~?/|\.{1,2}/)[^\s\"'`<>]*")


@dataclass(frozen=True)
class TrustedValues:
    """Canonical forms of every control value in trusted text."""

    emails: frozenset[str]
    urls: frozenset[str]
    ibans: frozenset[str]
    numbers: frozenset[str]
    paths: frozenset[str]
    text: str  # canon_text of everything, for ids

    @classmethod
    def of(cls, texts: Iterable[str]) -> TrustedValues:
        canon = parsers.canon_text("\n".join(texts))
        emails, urls, ibans, paths = set(), set(), set(), set()
        for m in EMAIL.finditer(canon):
            try:
                emails.add(parsers.canon_email(m.group(0)))
            except parsers.ValueRejected:
                pass
        for m in URL.finditer(canon):
            try:
                urls.add(_url_key(parsers.parse_url(m.group(0).rstrip(".,;:!?)]}"), ("https", "http")).href))
            except parsers.ValueRejected:
                pass
        for m in _IBAN_LOOSE.finditer(canon.upper()):
            found = _iban_prefix(m.group(0))
            if found:
                ibans.add(found)
        numbers = frozenset(filter(None, (norm_number(m.group(0)) for m in NUMBER.finditer(canon))))
        for m in _PATH.finditer(canon):
            p = m.group(0).rstrip(".,;:!?)]}")
            if p.startswith("/"):
                paths.add(posixpath.normpath(p))
        return cls(frozenset(emails), frozenset(urls), frozenset(ibans), numbers, frozenset(paths), canon)


def _iban_prefix(text: str) -> str | None:
    """The valid IBAN a loose match starts with (the match may run on into the next words)."""
    compact = re.sub(r"[ \-.\u00a0]", "", text)
    want = IBAN_LENGTHS.get(compact[:2])
    for n in [want] if want else range(min(len(compact), 34), 14, -1):
        try:
            return parsers.canon_iban(compact[:n])
        except parsers.ValueRejected:
            continue
    return None


def _url_key(href: str) -> str:
    return href.casefold()


@dataclass(frozen=True)
class PolicyTrust:
    """What the key's and task's policy vouch for (already canonical)."""

    emails: frozenset[str] = frozenset()
    ibans: frozenset[str] = frozenset()
    domains: tuple[str, ...] | None = None  # the tool's allowed_domains


def policy_trust(contacts: Iterable[str], accounts: Iterable[str], domains: list[str] | None) -> PolicyTrust:
    emails, ibans = set(), set()
    for c in contacts:
        try:
            emails.add(parsers.canon_email(c))
        except parsers.ValueRejected:
            continue
    for a in accounts:
        try:
            ibans.add(parsers.canon_iban(a))
        except parsers.ValueRejected:
            continue
    return PolicyTrust(frozenset(emails), frozenset(ibans), tuple(domains) if domains is not None else None)


@dataclass(frozen=True)
class Untrusted:
    arg: str
    kind: str
    value: str  # as the model wrote it (cut)
    canonical: str


def _canonical(kind: str, value: Any, schemes: tuple[str, ...]) -> str:
    if kind == "amount":
        n = norm_number(str(value).lstrip("$€£")) if not isinstance(value, bool) else None
        if n is None:
            raise parsers.ValueRejected("not a number")
        return n
    if not isinstance(value, str):
        raise parsers.ValueRejected("not a string")
    if kind == "email":
        return parsers.canon_email(value)
    if kind == "url":
        return _url_key(parsers.parse_url(value, schemes).href)
    if kind == "iban":
        return parsers.canon_iban(value)
    if kind == "path":
        forms = parsers.path_forms(value)
        return forms[-1]
    return parsers.canon_text(value)


def _trusted(kind: str, canon: str, trusted: TrustedValues, policy: PolicyTrust) -> bool:
    if kind == "email":
        domain = canon.rpartition("@")[2]
        return (
            canon in trusted.emails
            or canon in policy.emails
            or (policy.domains is not None and parsers.host_allowed(domain, list(policy.domains)))
        )
    if kind == "url":
        if canon in trusted.urls:
            return True
        try:
            host = parsers.parse_url(canon, ("https", "http")).host
        except parsers.ValueRejected:
            return False
        return policy.domains is not None and parsers.host_allowed(host, list(policy.domains))
    if kind == "iban":
        return canon in trusted.ibans or canon in policy.ibans
    if kind == "amount":
        return canon in trusted.numbers
    if kind == "path":  # the file the user named, or a file directly in a folder the user named
        return canon in trusted.paths or posixpath.dirname(canon) in trusted.paths
    # an id: the whole token, on word boundaries, in the user's words
    return bool(canon) and re.search(rf"(?<![\w]){re.escape(canon)}(?![\w])", trusted.text) is not None


def untrusted_args(
    kinds: dict[str, str],
    arguments: dict[str, Any],
    trusted: TrustedValues,
    policy: PolicyTrust,
    schemes: tuple[str, ...] = ("https", "http"),
) -> list[Untrusted]:
    """The sensitive argument values whose canonical form no trusted source gives (default deny). A
    value that does not even parse as its kind is untrusted too (the constraints block it anyway)."""
    out = []
    for name, kind in kinds.items():
        if name not in arguments:
            continue
        raw = arguments[name]
        for v in raw if isinstance(raw, list) else [raw]:
            try:
                canon = _canonical(kind, v, schemes)
            except parsers.ValueRejected:
                out.append(Untrusted(name, kind, str(v)[:200], ""))
                continue
            if not _trusted(kind, canon, trusted, policy):
                out.append(Untrusted(name, kind, str(v)[:200], canon))
    return out
