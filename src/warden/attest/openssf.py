"""An OpenSSF model signature (the `model-signing` package, key-based, offline) over the same files,
so the standard ``model_signing verify key`` accepts the model without Warden."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

from warden.errors import WardenError


def _lib() -> ModuleType:
    try:
        import model_signing
    except ImportError as exc:
        from warden.extras import MissingExtra

        raise MissingExtra("model_signing", "attest", "OpenSSF model signatures") from exc
    return model_signing


def sign_model(model: Path, private_key: Path, signature: Path, ignored: list[str] | None = None) -> Path:
    ms = _lib()
    hashing_cfg = ms.hashing.Config().set_ignored_paths(
        paths=[*(ignored or []), signature.name], ignore_git_paths=True
    )
    ms.signing.Config().use_elliptic_key_signer(private_key=private_key).set_hashing_config(hashing_cfg).sign(
        model, signature
    )
    return signature


def verify_model(model: Path, public_key: Path, signature: Path) -> None:
    """Raise WardenError if the OpenSSF verifier rejects the signature."""
    ms = _lib()
    try:
        ms.verifying.Config().use_elliptic_key_verifier(public_key=public_key).verify(model, signature)
    except Exception as exc:  # the library raises ValueError and others
        raise WardenError(f"OpenSSF model signature does not verify: {exc}", path=str(signature)) from None
