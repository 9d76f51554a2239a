"""Sources (local dir, single file, hub id from a local cache — never the network) and the manifest."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from warden.errors import SourceError
from warden.scan import scan_model
from warden.scan.manifest import build_manifest, root_digest
from warden.sources import resolve

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def make_hf_cache(cache: Path, repo: str, files: dict[str, bytes], commit: str = COMMIT) -> Path:
    """Lay out a Hugging Face hub cache the way huggingface_hub writes it (blobs + symlinked snapshot)."""
    owner, name = repo.split("/")
    repo_dir = cache / f"models--{owner}--{name}"
    (repo_dir / "refs").mkdir(parents=True)
    (repo_dir / "refs" / "main").write_text(commit)
    snap = repo_dir / "snapshots" / commit
    for rel, data in files.items():
        blob = repo_dir / "blobs" / hashlib.sha256(data).hexdigest()
        blob.parent.mkdir(parents=True, exist_ok=True)
        blob.write_bytes(data)
        target = snap / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(Path("../" * (len(Path(rel).parts) + 1)) / "blobs" / blob.name)
    return snap


def test_local_dir_and_file(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("x")
    assert resolve(str(tmp_path)).kind == "directory"
    src = resolve(str(tmp_path / "a.txt"))
    assert src.kind == "file" and src.path.name == "a.txt"


def test_missing_path_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError) as exc:
        resolve(str(tmp_path / "nope" / "x"))
    assert "no such file" in exc.value.diagnostics()


def test_hub_id_resolves_from_local_cache_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    make_hf_cache(
        tmp_path, "acme/tiny", {"config.json": b'{"model_type": "llama"}', "sub/notes.txt": b"hello"}
    )
    src = resolve("acme/tiny", cache_dir=tmp_path)
    assert src.kind == "hub" and src.revision == COMMIT
    report = scan_model("acme/tiny", cache_dir=tmp_path)
    assert report.model.revision == COMMIT
    assert [f.path for f in report.manifest.files] == ["config.json", "sub/notes.txt"]
    # symlinks into the cache's own blobs are not "escapes"
    assert not [f for f in report.findings if f.rule_id == "SOURCE-SYMLINK-ESCAPE"]


def test_hub_revision_pinning_and_missing_revision(tmp_path: Path) -> None:
    make_hf_cache(tmp_path, "acme/tiny", {"config.json": b"{}"})
    assert resolve(f"acme/tiny@{COMMIT}", cache_dir=tmp_path, offline=True).revision == COMMIT
    with pytest.raises(SourceError) as exc:
        resolve("acme/tiny", revision="f" * 40, cache_dir=tmp_path, offline=True)
    assert "not in the local Hugging Face cache" in exc.value.diagnostics()
    with pytest.raises(SourceError):
        resolve("acme/absent", cache_dir=tmp_path, offline=True)


def test_symlink_escaping_the_model_dir_is_flagged(tmp_path: Path) -> None:
    outside = tmp_path / "secret.txt"
    outside.write_text("token")
    model = tmp_path / "model"
    model.mkdir()
    (model / "weights.bin").symlink_to(outside)
    (model / "inside.txt").write_text("ok")
    (model / "alias.txt").symlink_to(model / "inside.txt")
    report = scan_model(model)
    escapes = [f for f in report.findings if f.rule_id == "SOURCE-SYMLINK-ESCAPE"]
    assert [f.location.file for f in escapes] == ["weights.bin"]


def test_manifest_layout_and_root_digest(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "x.bin").write_bytes(b"\x00" * 10)
    (tmp_path / "a-b.txt").write_text("hi")
    (tmp_path / ".gitattributes").write_text("*.bin lfs")
    m = build_manifest(tmp_path)
    # sorted by path components like model_signing (so "a-b.txt" before "b/x.bin"), .gitattributes ignored
    assert [f.path for f in m.files] == ["a-b.txt", "b/x.bin"]
    assert m.files[1].sha256 == hashlib.sha256(b"\x00" * 10).hexdigest()
    assert m.root_digest == root_digest(f.sha256 for f in m.files)
    (tmp_path / "a-b.txt").write_text("changed")
    assert build_manifest(tmp_path).root_digest != m.root_digest


def test_root_digest_agrees_with_openssf_model_signing(tmp_path: Path) -> None:
    hashing = pytest.importorskip("model_signing.hashing")
    signing = pytest.importorskip("model_signing._signing.signing")
    (tmp_path / "d0").mkdir()
    for i in range(3):
        (tmp_path / "d0" / f"f{i}").write_bytes(bytes([i]) * (i * 1000 + 1))
    (tmp_path / "z.json").write_text("{}")
    theirs = signing.Payload(hashing.Config().hash(tmp_path)).statement.pb.subject[0].digest["sha256"]
    assert build_manifest(tmp_path).root_digest == theirs


def test_polyglot_tar_pickle_is_also_walked_as_pickle(
    tmp_path: Path, canary: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file that is a valid tar AND a pickle: the tar parser claims it, but the bytes are still
    walked as a pickle (torch.load falls back to unpickling what is not a zip)."""
    import io
    import tarfile

    from warden.formats import default_scanners
    from warden.formats.tar import TarScanner
    from warden.scan.core import Scanner

    monkeypatch.chdir(tmp_path)  # the payload names the canary relatively, to fit a tar name field
    payload = f"c__builtin__\nexec\n(Vopen({canary.name!r},'w')\ntR.".encode()
    assert len(payload) < 100
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tf:
        info = tarfile.TarInfo("x")
        info.size = 1
        tf.addfile(info, io.BytesIO(b"x"))
    tar = bytearray(buf.getvalue())
    tar[0:100] = payload.ljust(100, b"\0")
    tar[148:156] = b"        "
    tar[148:156] = f"{sum(tar[:512]):06o}\0 ".encode()
    p = tmp_path / "weights.pt"
    p.write_bytes(bytes(tar))
    assert TarScanner().sniff(bytes(tar[:4096]), "weights.pt")  # the tar parser is picked first
    findings = list(Scanner(default_scanners()).scan_file(p, "weights.pt", tmp_path))
    assert "PICKLE-DANGEROUS-GLOBAL" in {f.rule_id for f in findings}
