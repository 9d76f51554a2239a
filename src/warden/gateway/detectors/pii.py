"""PII and secret detection with validated formats.

A regex finds candidates; a validator keeps only real ones (Luhn for card numbers, ISO 13616 mod-97 and
the country's length for IBANs, digit counts for phone numbers), so an order number or a random digit run
does not fire. Hand-written because no installed library covers secrets *and* validated PII; every
pattern is anchored on word boundaries and runs in linear time (no nested quantifiers).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

SECRET_KINDS = frozenset(
    {"aws_key", "github_token", "openai_key", "slack_token", "private_key", "google_api_key", "stripe_key"}
)
PII_KINDS = frozenset({"email", "phone", "card", "iban", "us_ssn"})
ALL_KINDS = SECRET_KINDS | PII_KINDS


@dataclass(frozen=True)
class Match:
    kind: str
    start: int
    end: int
    value: str


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


# ISO 13616 lengths for the countries most often seen (others: 15..34 accepted by checksum alone).
IBAN_LENGTHS = {
    "AD": 24, "AT": 20, "BE": 16, "BG": 22, "CH": 21, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "EE": 20,
    "ES": 24, "FI": 18, "FR": 27, "GB": 22, "GR": 27, "HR": 21, "HU": 28, "IE": 22, "IS": 26, "IT": 27,
    "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MT": 31, "NL": 18, "NO": 15, "PL": 28, "PT": 25,
    "RO": 24, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "TR": 26,
}  # fmt: skip


def iban_ok(raw: str) -> bool:
    iban = re.sub(r"\s+", "", raw).upper()
    if not re.fullmatch(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}", iban):
        return False
    want = IBAN_LENGTHS.get(iban[:2])
    if want is not None and len(iban) != want:
        return False
    moved = iban[4:] + iban[:4]
    number = "".join(str(int(ch, 36)) for ch in moved)
    return int(number) % 97 == 1


def _card_ok(raw: str) -> bool:
    digits = re.sub(r"[ -]", "", raw)
    if not 13 <= len(digits) <= 19 or len(set(digits)) == 1:
        return False
    # issuer prefixes: Visa 4, Mastercard 51-55/22-27, Amex 34/37, Discover 6, JCB 35, Diners 30/36/38
    if not re.match(r"4|5[1-5]|2[2-7]|3[0478]|3[5]|6", digits):
        return False
    return luhn_ok(digits)


def _phone_ok(raw: str) -> bool:
    digits = re.sub(r"\D", "", raw)
    return 10 <= len(digits) <= 15 and len(set(digits)) > 2


def _ssn_ok(raw: str) -> bool:
    area, group, serial = raw.split("-")
    return area not in ("000", "666") and not area.startswith("9") and group != "00" and serial != "0000"


_Validator = Callable[[str], bool] | None

PATTERNS: dict[str, tuple[re.Pattern[str], _Validator]] = {
    "aws_key": (re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"), None),
    "github_token": (
        re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b"),
        None,
    ),
    "openai_key": (re.compile(r"\bsk-(?:proj-|ant-|svcacct-)?[A-Za-z0-9_-]{20,200}\b"), None),
    "slack_token": (re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,200}\b"), None),
    "google_api_key": (re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"), None),
    "stripe_key": (re.compile(r"\b[rs]k_live_[0-9A-Za-z]{16,200}\b"), None),
    "private_key": (
        re.compile(r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?-----"),
        None,
    ),
    "email": (
        re.compile(r"\b[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})*\.[A-Za-z]{2,24}\b"),
        None,
    ),
    "card": (re.compile(r"(?<![\d-])(?:\d[ -]?){12,18}\d(?![\d-])"), _card_ok),
    "iban": (re.compile(r"\b[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b"), iban_ok),
    # international (+CC ...) or North American (NNN) NNN-NNNN; bare digit groups (IBAN parts) do not match
    "phone": (
        re.compile(
            r"(?<![\w+])(?:\+\d{1,3}[ .-]?\(?\d{1,4}\)?(?:[ .-]?\d{2,4}){2,4}|\(?\d{3}\)?[ .-]?\d{3}[ .-]\d{4})(?![\w-])"
        ),
        _phone_ok,
    ),
    "us_ssn": (re.compile(r"\b\d{3}-\d{2}-\d{4}\b"), _ssn_ok),
}


def find(text: str, kinds: Iterable[str] = ALL_KINDS) -> list[Match]:
    """Every validated match of ``kinds`` in ``text``, earliest first, overlaps resolved to the first
    (secrets and cards before phone numbers)."""
    found: list[Match] = []
    for kind in PATTERNS:
        if kind not in kinds:
            continue
        pattern, validator = PATTERNS[kind]
        for hit in pattern.finditer(text):
            if validator is None or validator(hit.group(0)):
                found.append(Match(kind, hit.start(), hit.end(), hit.group(0)))
    found.sort(key=lambda m: (m.start, -(m.end - m.start)))
    kept: list[Match] = []
    for m in found:
        if kept and m.start < kept[-1].end:
            continue
        kept.append(m)
    return kept


def private_key_block_end(text: str, start: int) -> int:
    """Where a PEM private-key block that begins at ``start`` ends (its END line, or the text end)."""
    m = re.compile(r"-----END [A-Z ]*PRIVATE KEY(?: BLOCK)?-----").search(text, start)
    return m.end() if m else len(text)
