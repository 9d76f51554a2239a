"""One parser per kind of control value, the same one everywhere a decision reads that value.

Allowlists by domain fail on parser differentials: ``https://evil.com\\@example.com/`` is ``example.com``
to Python's ``urlsplit`` and ``evil.com`` to a browser, curl or any WHATWG client. So URLs are parsed
once, by ada (``ada-url``, a WHATWG URL Standard implementation), and anything a lenient parser would
"repair" differently is refused outright: control characters and backslashes, a scheme without ``//``,
scheme-relative and scheme-less text, user info, schemes the tool does not list. Hosts are compared in
their IDNA (punycode) form on label boundaries; a public suffix (``com``, ``github.io``, from the Public
Suffix List snapshot bundled with ``publicsuffixlist``, offline) allows only itself, never every name
under it. E-mail addresses go through ``email-validator`` (RFC 5322 / 6531 syntax, no DNS) and only its
normalised ASCII form is used; quoted local parts, IP literals and dotless domains are refused by it,
``%`` and ``!`` (source routing through an allowed relay) by us. Paths are checked as written *and*
percent-decoded + NFKC (``%2e%2e``, full-width dots); symlinks cannot be seen from here: the tool that
opens the file must resolve them (docs/gateway-policy.md).
"""

from __future__ import annotations

import posixpath
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import unquote

from warden.gateway.detectors.pii import iban_ok

MAX_VALUE_CHARS = 4096
_CONTROL = re.compile(r"[\x00-\x20\x7f\\]")  # C0 controls, space, DEL, backslash
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_INVISIBLE = {"Cf", "Cc", "Zl", "Zp"}  # format (zero-width, bidi), controls, line/paragraph separators


class ValueRejected(ValueError):
    """The value is not a well-formed instance of its kind; the message says why."""


def canon_text(text: str) -> str:
    """NFKC, invisible characters removed, casefolded: the form in which two texts are compared."""
    text = unicodedata.normalize("NFKC", text)
    text = "".join(ch for ch in text if unicodedata.category(ch) not in _INVISIBLE or ch in "\n\t")
    return text.casefold()


@lru_cache(maxsize=1)
def _psl() -> Any:
    from publicsuffixlist import PublicSuffixList

    return PublicSuffixList()  # the bundled snapshot: nothing is fetched


def ascii_host(host: str) -> str:
    """A host name in its IDNA (punycode) form, lower case, no trailing dot."""
    import ada_url

    host = host.strip().rstrip(".").lower()
    if not host or host.isascii():
        return host
    if any(unicodedata.category(ch) in _INVISIBLE for ch in host):
        raise ValueRejected("host contains an invisible character")
    try:
        out = ada_url.idna_to_ascii(host)
    except Exception as exc:  # noqa: BLE001 - ada raises plain errors for bad IDNA
        raise ValueRejected(f"host {host[:64]!r} is not a valid IDNA name") from exc
    text = out.decode("ascii", "replace") if isinstance(out, bytes) else str(out)
    if not text:
        raise ValueRejected(f"host {host[:64]!r} is not a valid IDNA name")
    return text.lower().rstrip(".")


def registrable(host: str) -> str | None:
    """The registrable domain (``example.co.uk`` for ``a.b.example.co.uk``); None for a public suffix."""
    result = _psl().privatesuffix(host)
    return str(result) if result else None


def host_allowed(host: str, allowed: list[str]) -> bool:
    """``host`` is an allowed domain or a name under one. An allowed entry that is a public suffix (or
    not registrable at all) allows only itself: ``github.io`` does not allow ``attacker.github.io``."""
    try:
        h = ascii_host(host)
    except ValueRejected:
        return False
    if not h:
        return False
    for entry in allowed:
        try:
            d = ascii_host(entry)
        except ValueRejected:
            continue
        if h == d:
            return True
        if h.endswith("." + d) and registrable(d) is not None:
            return True
    return False


@dataclass(frozen=True)
class ParsedURL:
    href: str  # the WHATWG serialisation: what any conformant client will request
    scheme: str  # without ":"
    host: str  # ASCII (punycode)


def parse_url(text: str, schemes: tuple[str, ...] = ("https", "http")) -> ParsedURL:
    """Parse ``text`` as an absolute URL of one of ``schemes``, or raise ``ValueRejected``."""
    import ada_url

    if len(text) > MAX_VALUE_CHARS:
        raise ValueRejected("URL too long")
    if _CONTROL.search(text):
        raise ValueRejected("URL contains a control character, a space or a backslash")
    if any(unicodedata.category(ch) in _INVISIBLE for ch in text):
        raise ValueRejected("URL contains an invisible character")
    m = _SCHEME.match(text)
    if m is None:
        raise ValueRejected("not an absolute URL with scheme:// (scheme-less, scheme-relative or scheme:/)")
    if m.group(1).lower() not in schemes:
        raise ValueRejected(f"scheme {m.group(1).lower()!r} is not allowed (allowed: {', '.join(schemes)})")
    try:
        parts = ada_url.parse_url(text)
    except ValueError:
        raise ValueRejected("not a valid URL (WHATWG URL Standard)") from None
    if parts["username"] or parts["password"]:
        raise ValueRejected("URL carries user info (user@ or user:password@)")
    host = str(parts["hostname"]).lower().rstrip(".")
    if not host:
        raise ValueRejected("URL has no host")
    return ParsedURL(href=str(parts["href"]), scheme=str(parts["protocol"]).rstrip(":"), host=host)


def parse_email(text: str) -> str:
    """The normalised ASCII form of one e-mail address (local part as given, domain lower-case
    punycode), or ``ValueRejected``. No DNS lookups."""
    from email_validator import EmailNotValidError, validate_email

    if len(text) > 320:
        raise ValueRejected("address too long")
    if _CONTROL.search(text):  # a trailing newline is how a Bcc: header gets in
        raise ValueRejected("address contains a control character, a space or a backslash")
    try:
        v = validate_email(text, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        raise ValueRejected(str(exc)) from None
    local, _, domain = str(v.ascii_email or v.normalized).rpartition("@")
    if "%" in local or "!" in local:
        raise ValueRejected("'%' or '!' in the local part routes mail through another host")
    return f"{local}@{domain.lower()}"


def canon_email(text: str) -> str:
    """The comparison form of an address: normalised, then casefolded."""
    return parse_email(text).casefold()


_IBAN_SEP = re.compile(r"[\s\-\u00a0.]")


def canon_iban(text: str) -> str:
    """An IBAN without separators (spaces, hyphens, dots), upper case, checksum verified."""
    raw = _IBAN_SEP.sub("", unicodedata.normalize("NFKC", text)).upper()
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}", raw) or not iban_ok(raw):
        raise ValueRejected("not a valid IBAN")
    return raw


def path_forms(text: str) -> list[str]:
    """The path as written and as a tool that percent-decodes and NFKC-normalises would read it, each
    lexically normalised. A check must hold for every form. Raises ``ValueRejected`` for a NUL or other
    control character."""
    if any(unicodedata.category(ch) == "Cc" for ch in text):
        raise ValueRejected("path contains a control character")
    decoded = text
    for _ in range(3):  # %252e%252e decodes twice
        step = unquote(decoded)
        if step == decoded:
            break
        decoded = step
    decoded = unicodedata.normalize("NFKC", decoded)
    if any(unicodedata.category(ch) == "Cc" for ch in decoded):
        raise ValueRejected("path decodes to a control character")
    forms = []
    for f in dict.fromkeys([text, decoded, decoded.replace("\\", "/")]):
        forms.append(posixpath.normpath(f) if f else f)
    return forms
