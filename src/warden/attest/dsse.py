"""DSSE envelopes (Dead Simple Signing Envelope, v1) signed with ECDSA P-256 / SHA-256.

Hand-written: the protocol is a few lines (PAE + base64), and the in-toto/sigstore libraries that
implement it pull in a network-oriented stack we do not need for offline key-based signing.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import BaseModel, ConfigDict, ValidationError

from warden.attest.keys import key_id
from warden.errors import WardenError

IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"
MAX_ENVELOPE_BYTES = 64 * 2**20


class EnvelopeError(WardenError):
    """The envelope is malformed or its signature does not verify."""


class _Sig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    keyid: str = ""
    sig: str


class Envelope(BaseModel):
    """Untrusted input: parsed with pydantic, strict shape."""

    model_config = ConfigDict(extra="forbid")
    payloadType: str  # noqa: N815 - DSSE field name
    payload: str
    signatures: list[_Sig]


def pae(payload_type: str, payload: bytes) -> bytes:
    """Pre-Authentication Encoding: what is actually signed."""
    t = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(payload), payload)


def sign(
    payload: bytes, key: ec.EllipticCurvePrivateKey, payload_type: str = IN_TOTO_PAYLOAD_TYPE
) -> dict[str, Any]:
    sig = key.sign(pae(payload_type, payload), ec.ECDSA(hashes.SHA256()))
    return {
        "payloadType": payload_type,
        "payload": base64.b64encode(payload).decode(),
        "signatures": [{"keyid": key_id(key.public_key()), "sig": base64.b64encode(sig).decode()}],
    }


def parse(raw: bytes, path: str | None = None) -> Envelope:
    if len(raw) > MAX_ENVELOPE_BYTES:
        raise EnvelopeError(f"attestation is larger than {MAX_ENVELOPE_BYTES} bytes", path=path)
    try:
        return Envelope.model_validate(json.loads(raw))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise EnvelopeError(f"attestation is not valid JSON: {exc}", path=path) from None
    except ValidationError as exc:
        raise EnvelopeError(
            f"attestation is not a DSSE envelope: {exc.errors()[0]['msg']} at {exc.errors()[0]['loc']}",
            path=path,
        ) from None


def verify(env: Envelope, pub: ec.EllipticCurvePublicKey, path: str | None = None) -> bytes:
    """Return the payload bytes if any signature verifies with ``pub``; raise otherwise."""
    try:
        payload = base64.b64decode(env.payload, validate=True)
    except (binascii.Error, ValueError):
        raise EnvelopeError("payload is not valid base64", path=path) from None
    if not env.signatures:
        raise EnvelopeError("envelope carries no signature", path=path)
    message = pae(env.payloadType, payload)
    for s in env.signatures:
        try:
            pub.verify(base64.b64decode(s.sig, validate=True), message, ec.ECDSA(hashes.SHA256()))
            return payload
        except (InvalidSignature, binascii.Error, ValueError):
            continue
    raise EnvelopeError(
        "signature does not verify with the given public key (wrong key, or the attestation was altered)",
        path=path,
    )
