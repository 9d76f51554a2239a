"""SHA-256 manifest of a model's files, laid out like the OpenSSF model-signing manifest.

Per-file digests sorted by path, and a root digest = SHA-256 over the raw per-file digests in that
order (model_signing's ``files`` serialization, v1.0), so a Warden manifest, a Warden attestation and
an OpenSSF model signature of the same directory agree on the root digest. Files are hashed in
parallel (hashlib releases the GIL) in fixed-size chunks: memory is O(workers × chunk), flat in file
size.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path, PurePosixPath

from warden.errors import SourceError
from warden.report.model import FileDigest, Manifest

CHUNK = 8 * 2**20
# The paths model_signing ignores by default (so root digests agree with an OpenSSF signature), plus
# the default name of a Warden attestation kept beside the files (Warden signs with it ignored too).
IGNORED_NAMES = frozenset(
    {".git", ".gitattributes", ".github", ".gitignore", "model.sig", "warden-attestation.intoto.json"}
)


def manifest_paths(root: Path, extra_ignored: Iterable[str] = ()) -> list[tuple[Path, str]]:
    """Files covered by the manifest: every regular file under ``root`` except ignored names, as
    (absolute path, relative POSIX path), in model_signing's order (by path components)."""
    ignored = IGNORED_NAMES | frozenset(extra_ignored)
    if root.is_file():
        return [(root, root.name)]
    if not root.is_dir():
        raise SourceError("not a file or directory", path=str(root))
    out: list[tuple[Path, str]] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        rel_dir = Path(dirpath).relative_to(root)
        dirnames[:] = [d for d in dirnames if d not in ignored and (rel_dir / d).as_posix() not in ignored]
        for fn in filenames:
            rel = (rel_dir / fn).as_posix()
            if fn in ignored or rel in ignored:
                continue
            out.append((Path(dirpath) / fn, rel))
    out.sort(key=lambda t: PurePosixPath(t[1]).parts)
    return out


def sha256_file(path: Path, chunk: int = CHUNK) -> tuple[str, int]:
    h = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        buf = bytearray(chunk)
        view = memoryview(buf)
        while n := fh.readinto(buf):
            h.update(view[:n])
            size += n
    return h.hexdigest(), size


def root_digest(digests: Iterable[str]) -> str:
    h = hashlib.sha256()
    for d in digests:
        h.update(bytes.fromhex(d))
    return h.hexdigest()


def build_manifest(
    root: Path,
    workers: int | None = None,
    extra_ignored: Iterable[str] = (),
    progress: Callable[[int], None] | None = None,
) -> Manifest:
    """Hash every file under ``root`` (or the single file ``root``) in parallel."""
    paths = manifest_paths(root, extra_ignored)
    workers = workers or min(8, (os.cpu_count() or 2) + 2)

    def one(item: tuple[Path, str]) -> FileDigest:
        path, rel = item
        try:
            digest, size = sha256_file(path)
        except OSError as exc:
            if not path.is_symlink():
                raise SourceError(f"cannot read for hashing: {exc.strerror or exc}", path=rel) from exc
            # A symlink that loops or dangles has no content: the manifest binds the link itself (its
            # target text), so adding, removing or re-pointing it still changes the digest. The scan
            # reports it as a finding.
            digest, size = hashlib.sha256(b"symlink:" + os.fsencode(os.readlink(path))).hexdigest(), 0
        if progress:
            progress(size)
        return FileDigest(path=rel, sha256=digest, size=size)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        files = tuple(pool.map(one, paths))
    return Manifest(files=files, root_digest=root_digest(f.sha256 for f in files))
