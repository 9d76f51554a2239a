"""ECDSA P-256 keys in PEM (the key type OpenSSF model-signing's key-based signer accepts)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from warden.errors import WardenError


class KeyError_(WardenError):
    """A key file is missing, unreadable, or not an ECDSA P-256 key."""


def generate(private_path: Path, public_path: Path, *, overwrite: bool = False) -> str:
    """Write a new key pair; returns the key id (SHA-256 of the DER public key)."""
    for p in (private_path, public_path):
        if p.exists() and not overwrite:
            raise KeyError_("refusing to overwrite an existing key file", path=str(p), hint="pass --force")
    key = ec.generate_private_key(ec.SECP256R1())
    private_path.parent.mkdir(parents=True, exist_ok=True)
    private_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    private_path.chmod(0o600)
    public_path.write_bytes(public_pem(key.public_key()))
    return key_id(key.public_key())


def public_pem(pub: ec.EllipticCurvePublicKey) -> bytes:
    return pub.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def key_id(pub: ec.EllipticCurvePublicKey) -> str:
    der = pub.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


def load_private(path: Path) -> ec.EllipticCurvePrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except FileNotFoundError:
        raise KeyError_("private key file not found", path=str(path)) from None
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise KeyError_(f"not a readable unencrypted PEM private key ({exc})", path=str(path)) from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise KeyError_("expected an ECDSA P-256 private key", path=str(path))
    return key


def load_public(path: Path) -> ec.EllipticCurvePublicKey:
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except FileNotFoundError:
        raise KeyError_("public key file not found", path=str(path)) from None
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise KeyError_(f"not a readable PEM public key ({exc})", path=str(path)) from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise KeyError_("expected an ECDSA P-256 public key", path=str(path))
    return key
