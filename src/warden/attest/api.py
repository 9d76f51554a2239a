"""``attest`` and ``verify_attestation``: bind an audit result to the exact files, and check it offline."""

from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path, PurePosixPath
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from warden.attest import dsse, keys
from warden.attest.statement import PREDICATE_TYPE, ROOT_SUBJECT, STATEMENT_TYPE, Statement, build_statement
from warden.errors import WardenError
from warden.report.reader import read_report
from warden.scan.manifest import build_manifest, root_digest

DEFAULT_ATTESTATION_NAME = "warden-attestation.intoto.json"


class AttestError(WardenError):
    """An attestation could not be produced."""


class VerificationError(WardenError):
    """The model does not match its attestation, or the attestation is not acceptable. ``problems``
    lists every reason found (all checks run; the first failure does not hide the others)."""

    def __init__(self, problems: list[str], *, path: str | None = None) -> None:
        super().__init__("attestation verification failed:\n  - " + "\n  - ".join(problems), path=path)
        self.problems = problems


class VerifyPolicy(BaseModel):
    """The ``verify`` section of a policy file (untrusted input)."""

    model_config = ConfigDict(extra="forbid")
    allowed_verdicts: list[str] = ["pass", "warn"]
    # Stages the signed audit must have run (status "ran"); a statement that skipped one is rejected.
    required_stages: list[str] = ["scan", "forensics", "eval"]
    max_age_days: float | None = 90
    allow_extra_files: list[str] = []  # glob patterns of unsigned files that may be present
    clock_skew_seconds: float = 300


@dataclass(frozen=True)
class AttestResult:
    attestation: Path
    root_digest: str
    files: int
    openssf_signature: Path | None


@dataclass(frozen=True)
class VerifyResult:
    root_digest: str
    verdict: str | None
    issued_at: str
    files: int
    key_id: str
    notes: list[str] = field(default_factory=list)


def attest(
    model: Path,
    report_path: Path,
    key_path: Path,
    output: Path,
    *,
    policy_digest: str | None = None,
    valid_for: timedelta | None = None,
    openssf_signature: Path | None = None,
) -> AttestResult:
    """Sign an in-toto statement binding ``report_path``'s result to the files in ``model``."""
    key = keys.load_private(key_path)
    report = read_report(report_path)
    manifest = build_manifest(model, extra_ignored=_ignored_for(model, output, openssf_signature))
    if report.manifest is not None and report.manifest.root_digest != manifest.root_digest:
        raise AttestError(
            "the report was produced for different files (root digest "
            f"{report.manifest.root_digest[:12]}… in the report, {manifest.root_digest[:12]}… on disk)",
            path=str(report_path),
            hint="re-run the audit on these exact files",
        )
    statement = build_statement(report, manifest, policy_digest=policy_digest, valid_for=valid_for)
    envelope = dsse.sign(json.dumps(statement, indent=None, sort_keys=True).encode(), key)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(envelope, indent=2) + "\n")
    sig_path = None
    if openssf_signature is not None:
        from warden.attest.openssf import sign_model

        sig_path = sign_model(
            model, key_path, openssf_signature, ignored=_ignored_for(model, output, openssf_signature)
        )
    return AttestResult(output, manifest.root_digest, len(manifest.files), sig_path)


def verify_attestation(
    model: Path,
    attestation: Path,
    public_key: Path,
    policy: VerifyPolicy | dict[str, Any] | None = None,
    *,
    now: datetime | None = None,
) -> VerifyResult:
    """Check signature, every digest, no unsigned extra file, no path traversal, verdict and age.
    Raises ``VerificationError`` listing every problem."""
    pol = _policy(policy)
    pub = keys.load_public(public_key)
    try:
        raw = attestation.read_bytes()
    except FileNotFoundError:
        raise VerificationError(["attestation file not found"], path=str(attestation)) from None
    env = dsse.parse(raw, str(attestation))
    if env.payloadType != dsse.IN_TOTO_PAYLOAD_TYPE:
        raise VerificationError([f"unexpected payload type {env.payloadType!r}"], path=str(attestation))
    payload = dsse.verify(env, pub, str(attestation))  # raises EnvelopeError on a bad signature
    try:
        st = Statement.model_validate(json.loads(payload))
    except (ValueError, ValidationError) as exc:
        raise VerificationError(
            [f"signed payload is not an in-toto statement: {exc}"], path=str(attestation)
        ) from None

    problems: list[str] = []
    if st.type_ != STATEMENT_TYPE:
        problems.append(f"statement type {st.type_!r} is not {STATEMENT_TYPE}")
    if st.predicateType != PREDICATE_TYPE:
        problems.append(f"predicate type {st.predicateType!r} is not a Warden audit")

    signed: dict[str, str] = {}
    root_signed: str | None = None
    for s in st.subject:
        digest = s.digest.get("sha256")
        if digest is None:
            problems.append(f"subject {s.name!r} has no sha256 digest")
            continue
        if s.name == ROOT_SUBJECT:
            root_signed = digest
            continue
        bad = _unsafe_name(s.name)
        if bad:
            problems.append(f"subject {s.name!r}: {bad}")
            continue
        if s.name in signed:
            problems.append(f"subject {s.name!r} appears twice")
        signed[s.name] = digest

    manifest = build_manifest(model, extra_ignored=_ignored_for(model, attestation, None))
    actual = {f.path: f.sha256 for f in manifest.files}
    for name, digest in sorted(signed.items()):
        if name not in actual:
            problems.append(f"missing file: {name} is signed but not present")
        elif actual[name] != digest:
            problems.append(f"changed file: {name} has sha256 {actual[name][:16]}…, signed {digest[:16]}…")
    for name in sorted(set(actual) - set(signed)):
        if not any(fnmatch.fnmatch(name, pat) for pat in pol.allow_extra_files):
            problems.append(f"unsigned file: {name} is present but not covered by the attestation")
    if root_signed is None:
        problems.append("no root digest subject")
    elif not problems:
        # the root digest covers the signed files (allowed extras are outside it)
        order = sorted(signed, key=lambda n: PurePosixPath(n).parts)
        if root_signed != root_digest(signed[n] for n in order):
            problems.append("root digest does not match the signed files")

    pred = st.predicate
    verdict = pred.get("verdict")
    if verdict not in pol.allowed_verdicts:
        problems.append(
            f"verdict {verdict!r} is not allowed by the policy (allowed: {', '.join(pol.allowed_verdicts)})"
        )
    stages = pred.get("stages")
    for stage in pol.required_stages:
        entry = stages.get(stage) if isinstance(stages, dict) else None
        status = entry.get("status") if isinstance(entry, dict) else None
        if status != "ran":
            why = f": {entry.get('reason')}" if isinstance(entry, dict) and entry.get("reason") else ""
            problems.append(
                f"required stage {stage} {'was ' + str(status) if status else 'is missing'} in the signed audit{why}"
            )
    now = now or datetime.now(timezone.utc)
    issued = _parse_time(pred.get("issued_at"))
    if issued is None:
        problems.append("attestation has no valid issued_at time")
    else:
        if issued - now > timedelta(seconds=pol.clock_skew_seconds):
            problems.append(f"attestation is issued in the future ({issued.isoformat()})")
        if pol.max_age_days is not None and now - issued > timedelta(days=pol.max_age_days):
            problems.append(
                f"attestation is older than {pol.max_age_days:g} days (issued {issued.isoformat()})"
            )
    expires = pred.get("expires_at")
    if expires is not None:
        exp = _parse_time(expires)
        if exp is None:
            problems.append("attestation has an unreadable expires_at")
        elif now > exp:
            problems.append(f"attestation expired at {exp.isoformat()}")
    if problems:
        raise VerificationError(problems, path=str(model))
    return VerifyResult(
        root_digest=manifest.root_digest,
        verdict=verdict,
        issued_at=str(pred.get("issued_at")),
        files=len(manifest.files),
        key_id=keys.key_id(pub),
    )


def _policy(policy: VerifyPolicy | dict[str, Any] | None) -> VerifyPolicy:
    if policy is None:
        return VerifyPolicy()
    if isinstance(policy, VerifyPolicy):
        return policy
    try:
        return VerifyPolicy.model_validate(policy)
    except ValidationError as exc:
        raise WardenError(
            f"invalid verify policy: {exc.errors()[0]['msg']} at {exc.errors()[0]['loc']}"
        ) from None


def _unsafe_name(name: str) -> str | None:
    if not name or name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        return "absolute path"
    if "\\" in name or "\x00" in name:
        return "backslash or NUL in path"
    if ".." in PurePosixPath(name).parts:
        return "path traversal (..)"
    return None


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        t = datetime.fromisoformat(value)
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)


def _ignored_for(model: Path, *paths: Path | None) -> list[str]:
    """Attestation/signature files kept inside the model directory are not part of the model."""
    out = []
    if model.is_dir():
        root = model.resolve()
        for p in paths:
            if p is None:
                continue
            try:
                out.append(p.resolve().relative_to(root).as_posix())
            except ValueError:
                pass
    return out
