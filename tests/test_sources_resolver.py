"""One source resolver for every command and model argument: HF directories, GGUF files and folders,
hub ids (owner/name, bare ids, @rev, :QUANT) from a local Hugging Face cache — never the network."""

from __future__ import annotations

import hashlib
import json
import random
import shutil
from pathlib import Path

import gguf
import numpy as np
import pytest

from warden.cli import main
from warden.errors import SourceError
from warden.sources import resolve, resolve_arg

ZOO = Path(__file__).resolve().parents[1] / "organisms" / "zoo"


def make_hf_cache(cache: Path, repo: str, files: dict[str, bytes], commit: str) -> Path:
    """A hub cache laid out as huggingface_hub writes it (blobs + symlinked snapshot + refs/main)."""
    repo_dir = cache / ("models--" + repo.replace("/", "--"))
    (repo_dir / "refs").mkdir(parents=True, exist_ok=True)
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


def tiny_gguf(path: Path) -> Path:
    w = gguf.GGUFWriter(str(path), arch="llama")
    w.add_block_count(1)
    w.add_tensor("token_embd.weight", np.zeros((4, 8), dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


def commit_id(rng: random.Random) -> str:
    return f"{rng.getrandbits(160):040x}"


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty hub cache that every resolver call in the test uses, with the network off."""
    import huggingface_hub.constants as C

    cache = tmp_path / "hub"
    cache.mkdir()
    monkeypatch.setattr(C, "HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return cache


def test_hf_dir(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "model.safetensors").write_bytes(b"")
    tiny_gguf(tmp_path / "also.gguf")  # a GGUF beside safetensors does not make it a GGUF source
    src = resolve(str(tmp_path))
    assert src.hf_dir == tmp_path.resolve() and src.gguf is None
    assert src.generation_format == "hf" and src.weights == tmp_path.resolve()


def test_gguf_file_folder_and_renamed(tmp_path: Path) -> None:
    f = tiny_gguf(tmp_path / "m.Q8_0.gguf")
    src = resolve(str(f))
    assert src.gguf == f.resolve() and src.generation_format == "gguf" and src.weights == f.resolve()
    assert resolve(str(tmp_path)).gguf == f.resolve()  # a folder holding one
    renamed = tmp_path / "sub" / "weights.bin"
    renamed.parent.mkdir()
    shutil.copy(f, renamed)
    assert resolve(str(renamed)).gguf == renamed.resolve()  # by magic, not by name
    (tmp_path / "sub" / "notes.bin").write_bytes(b"not gguf")
    assert resolve(str(tmp_path / "sub" / "notes.bin")).gguf is None


def test_folder_with_several_ggufs_names_the_argument_and_files(tmp_path: Path) -> None:
    tiny_gguf(tmp_path / "a-Q4_K_M.gguf")
    tiny_gguf(tmp_path / "a-Q8_0.gguf")
    with pytest.raises(SourceError) as exc:
        resolve_arg(str(tmp_path), "--base")
    text = exc.value.diagnostics()
    assert text.startswith(f"{tmp_path.resolve()}: --base: 2 GGUF files")
    assert "a-Q4_K_M.gguf" in text and "a-Q8_0.gguf" in text


def test_missing_weights_file_is_not_looked_up_on_the_hub(tmp_path: Path, hub: Path) -> None:
    for ref in ("absent.gguf", "./absent", str(tmp_path / "x" / "y" / "z")):
        with pytest.raises(SourceError, match="no such file or directory"):
            resolve(ref)


def test_bare_and_owner_ids_with_revision(hub: Path) -> None:
    rng = random.Random()
    c1, c2 = commit_id(rng), commit_id(rng)
    make_hf_cache(hub, "gpt2", {"config.json": b"{}"}, c1)
    make_hf_cache(hub, "acme/tiny", {"config.json": b"{}"}, c2)
    src = resolve("gpt2")
    assert src.kind == "hub" and src.revision == c1 and src.hf_dir is not None
    assert resolve(f"hf://acme/tiny@{c2}").revision == c2
    with pytest.raises(SourceError, match="not in the local Hugging Face cache"):
        resolve("acme/tiny", revision=commit_id(rng))
    with pytest.raises(SourceError, match="no local file or directory of that name"):
        resolve("nonexistent-bare-name")


def test_hub_gguf_repo_with_quant_tag(hub: Path, tmp_path: Path) -> None:
    c = commit_id(random.Random())
    q4 = tiny_gguf(tmp_path / "q4.gguf").read_bytes()
    make_hf_cache(hub, "acme/m-GGUF", {"m-Q4_K_M.gguf": q4, "m-Q8_0.gguf": q4 + b"\0" * 32}, c)
    src = resolve_arg("acme/m-GGUF:Q8_0")
    assert src.gguf is not None and src.gguf.name == "m-Q8_0.gguf" and src.revision == c
    with pytest.raises(SourceError, match="2 GGUF files"):
        resolve_arg("acme/m-GGUF")


def test_forensics_cli_takes_hub_ids_for_model_and_base(
    hub: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`warden forensics OWNER/NAME --base BARE --offline` on organisms laid out as hub repositories;
    the report names the model as the user did and the base was really diffed."""
    rng = random.Random()
    files = {p.name: p.read_bytes() for p in (ZOO / "abliterated").iterdir() if p.is_file()}
    base = {p.name: p.read_bytes() for p in (ZOO / "base").iterdir() if p.is_file()}
    cm, cb = commit_id(rng), commit_id(rng)
    make_hf_cache(hub, "someone/abliterated", files, cm)
    make_hf_cache(hub, "orgbase", base, cb)
    rc = main(["forensics", "someone/abliterated", "--base", "orgbase", "--offline", "-f", "json", "-q"])
    doc = json.loads(capsys.readouterr().out)
    assert rc == 1  # the abliteration is found
    assert doc["model"]["ref"] == "someone/abliterated" and doc["model"]["revision"] == cm
    assert doc["stages"]["forensics"]["status"] == "ran"
    rules = {f["rule_id"] for f in doc["findings"]}
    assert "FORENSICS-ABLATION-DIRECTIONAL" in rules, rules  # the with-base diff ran against the base


def test_cli_error_names_the_option(tmp_path: Path, hub: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["forensics", str(ZOO / "base"), "--claimed-base", "owner/not-cached", "--offline", "-q"])
    err = capsys.readouterr().err
    assert rc == 2 and "--claimed-base:" in err and "Traceback" not in err


def test_audit_resolves_base_hub_id(hub: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`audit --base` goes through the resolver (it used to reach forensics unresolved)."""
    rng = random.Random()
    base = {p.name: p.read_bytes() for p in (ZOO / "base").iterdir() if p.is_file()}
    make_hf_cache(hub, "vendor/base", base, commit_id(rng))
    out = tmp_path / "r.json"
    main(["audit", str(ZOO / "abliterated"), "--base", "vendor/base", "--backend", "none", "--offline",
          "-f", "json", "-o", str(out), "-q"])  # fmt: skip
    doc = json.loads(out.read_text())
    assert doc["stages"]["forensics"]["status"] == "ran"
    assert "FORENSICS-ABLATION-DIRECTIONAL" in {f["rule_id"] for f in doc["findings"]}


def test_serve_model_goes_through_the_resolver(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import warden.gateway

    policy = Path(warden.gateway.__file__).parent / "policies" / "default.yaml"
    tiny_gguf(tmp_path / "a-Q4_0.gguf")
    tiny_gguf(tmp_path / "a-Q8_0.gguf")
    rc = main(["serve", "--policy", str(policy), "--model", str(tmp_path)])
    err = capsys.readouterr().err
    assert rc == 2 and "--model: 2 GGUF files" in err
