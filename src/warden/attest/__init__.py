"""``warden attest`` / ``verify``: a signed in-toto statement (DSSE, ECDSA P-256) binding an audit
result to the exact files, verifiable offline; plus an OpenSSF model signature of the same files."""

from warden.attest.api import (
    DEFAULT_ATTESTATION_NAME,
    AttestError,
    AttestResult,
    VerificationError,
    VerifyPolicy,
    VerifyResult,
    attest,
    verify_attestation,
)
from warden.attest.keys import generate as keygen

__all__ = [
    "DEFAULT_ATTESTATION_NAME",
    "AttestError",
    "AttestResult",
    "VerificationError",
    "VerifyPolicy",
    "VerifyResult",
    "attest",
    "keygen",
    "verify_attestation",
]
