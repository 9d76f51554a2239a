"""Diff mode on real trained weights (all-MiniLM-L6-v2) with edits the tests apply, and across formats."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from tests.forensics import edits as E
from tests.forensics import gguf_util as G
from tests.forensics import models as MD
from warden.errors import UsageError
from warden.forensics import run_forensics

W = MD.MINILM_WRITERS
EMB = MD.MINILM_EMBEDDING
LORA_TARGETS = [
    f"encoder.layer.{i}.attention.self.{k}.weight" for i in range(6) for k in ("query", "value")
] + [n for n, _ in W]


def diff(model: Path, base: Path):
    rep = run_forensics(model, base=base)
    return rep, {f.rule_id: f for f in rep.findings}


def test_identical_model_has_no_findings(minilm_base: Path) -> None:
    rep, found = diff(minilm_base, minilm_base)
    assert found == {}
    assert rep.data["forensics"]["diff"]["identical"]


def test_classic_ablation(minilm_sd, minilm_base: Path, save) -> None:
    r = E.random_direction(384, 1)
    rep, found = diff(save(E.ablate(minilm_sd, W, r, 1.0, embedding=EMB), minilm_base), minilm_base)
    f = found["FORENSICS-ABLATION-DIRECTIONAL"]
    assert f.severity.value == "critical" and f.evidence["subtype"] == "classic"
    assert f.evidence["embedding_edited"] and f.evidence["edited_writers"] == 12
    assert all(abs(w - 1) < 0.01 for w in f.evidence["layer_weights"].values())
    assert f.evidence["basefree_direction_cos"] > 0.99
    assert set(found) == {"FORENSICS-ABLATION-DIRECTIONAL", "FORENSICS-ABLATION-BASEFREE"}
    t = {x["name"]: x for x in rep.data["forensics"]["diff"]["tensors"]}
    assert t[W[0][0]]["rank"] == 1 and t[W[0][0]]["ablation_cos"] < -0.99


@pytest.mark.parametrize("w", [0.5, 0.8])
def test_partial_uniform_weight_no_embedding(minilm_sd, minilm_base: Path, save, w: float) -> None:
    r = E.random_direction(384, 2)
    _, found = diff(save(E.ablate(minilm_sd, W, r, w), minilm_base), minilm_base)
    f = found["FORENSICS-ABLATION-DIRECTIONAL"]
    assert f.evidence["subtype"] == "partial" and not f.evidence["embedding_edited"]
    assert all(abs(x - w) < 0.01 for x in f.evidence["layer_weights"].values())
    assert "FORENSICS-LORA-MERGE" not in found and "FORENSICS-FULL-FINETUNE" not in found


def test_tent_band_and_per_layer_directions(minilm_sd, minilm_base: Path, save) -> None:
    weights = E.tent(6, 1.2, center=3, width=2)  # 0, 0, 0.6, 1.2, 0.6, 0
    out = dict(minilm_sd)
    for layer, w in enumerate(weights):
        out = E.ablate(out, W[2 * layer : 2 * layer + 2], E.random_direction(384, 40 + layer), w)
    _, found = diff(save(out, minilm_base), minilm_base)
    f = found["FORENSICS-ABLATION-DIRECTIONAL"]
    assert f.evidence["subtype"] == "partial"
    assert sorted(f.evidence["layer_weights"]) == [2, 3, 4]
    assert abs(f.evidence["layer_weights"][3] - 1.2) < 0.01
    assert f.evidence["within_layer_agreement"] > 0.99


def test_norm_preserving(minilm_sd, minilm_base: Path, save) -> None:
    r = E.random_direction(384, 3)
    _, found = diff(save(E.normpreserving(minilm_sd, W, r, 1.0), minilm_base), minilm_base)
    f = found["FORENSICS-ABLATION-DIRECTIONAL"]
    assert f.evidence["subtype"] == "norm-preserving" and f.evidence["max_rank"] == 3
    assert f.evidence["edited_writers"] == 12
    assert "FORENSICS-LORA-MERGE" not in found


@pytest.mark.parametrize("rank", [4, 8])
def test_lora_merge_is_not_ablation(minilm_sd, minilm_base: Path, save, rank: int) -> None:
    _, found = diff(save(E.lora_merge(minilm_sd, LORA_TARGETS, rank, seed=rank), minilm_base), minilm_base)
    assert set(found) == {"FORENSICS-LORA-MERGE"}
    assert found["FORENSICS-LORA-MERGE"].evidence["max_rank"] == rank


def test_full_finetune(minilm_sd, minilm_base: Path, save) -> None:
    _, found = diff(save(E.finetune_noise(minilm_sd, seed=4), minilm_base), minilm_base)
    assert set(found) == {"FORENSICS-FULL-FINETUNE"}


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_precision_only(minilm_sd, minilm_base: Path, save, dtype: torch.dtype) -> None:
    _, found = diff(save(E.cast(minilm_sd, dtype), minilm_base), minilm_base)
    assert set(found) == {"FORENSICS-PRECISION-ONLY"}


def test_bf16_ablation_is_not_hidden_by_precision_noise(minilm_sd, minilm_base: Path, save) -> None:
    r = E.random_direction(384, 6)
    model = E.cast(E.ablate(minilm_sd, W, r, 0.5), torch.bfloat16)
    _, found = diff(save(model, minilm_base), minilm_base)
    assert found["FORENSICS-ABLATION-DIRECTIONAL"].evidence["subtype"] == "partial"
    assert "FORENSICS-PRECISION-ONLY" not in found


def test_replaced_layer(minilm_sd, minilm_base: Path, save) -> None:
    g = torch.Generator().manual_seed(0)
    out = dict(minilm_sd)
    for name, t in minilm_sd.items():
        if name.startswith("encoder.layer.3.") and t.ndim == 2:
            out[name] = torch.randn(t.shape, generator=g) * t.std()
    _, found = diff(save(out, minilm_base), minilm_base)
    f = found["FORENSICS-LAYER-REPLACED"]
    assert f.evidence["layer"] == 3 and f.severity.value == "high"
    assert "FORENSICS-ABLATION-DIRECTIONAL" not in found


def test_embedding_rows_and_vocab(minilm_sd, minilm_base: Path, save) -> None:
    out = dict(minilm_sd)
    e = minilm_sd[EMB].clone()
    e[100:150] += 0.05 * torch.randn(50, 384, generator=torch.Generator().manual_seed(1))
    out[EMB] = e
    _, found = diff(save(out, minilm_base), minilm_base)
    assert found["FORENSICS-EMBEDDING-CHANGED"].evidence["rows_changed"] == 50
    out[EMB] = torch.cat([minilm_sd[EMB], torch.randn(8, 384) * 0.05])
    _, found = diff(save(out, minilm_base, "resized"), minilm_base)
    f = found["FORENSICS-EMBEDDING-CHANGED"]
    assert f.evidence["shape_model"] == [30530, 384] and f.evidence["rows_changed"] == 0
    assert "FORENSICS-SHAPE-MISMATCH" not in found


def test_shape_mismatch_added_missing(minilm_sd, minilm_base: Path, save) -> None:
    out = dict(minilm_sd)
    out["encoder.layer.0.intermediate.dense.weight"] = torch.randn(1024, 384)
    del out["pooler.dense.weight"]
    out["extra_head.weight"] = torch.randn(4, 384)
    _, found = diff(save(out, minilm_base), minilm_base)
    assert found["FORENSICS-SHAPE-MISMATCH"].location.tensor == "encoder.layer.0.intermediate.dense.weight"
    ev = found["FORENSICS-TENSORS-ADDED-MISSING"].evidence
    assert ev["added"] == ["extra_head.weight"] and ev["missing"] == ["pooler.dense.weight"]


def test_unrelated_architecture_base_does_not_crash(minilm_base: Path, tiny_llama: Path) -> None:
    rep, found = diff(tiny_llama, minilm_base)
    assert "FORENSICS-TENSORS-ADDED-MISSING" in found or "FORENSICS-SHAPE-MISMATCH" in found
    assert "FORENSICS-ABLATION-DIRECTIONAL" not in found


def test_missing_base_is_a_usage_error(minilm_base: Path, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such file"):
        run_forensics(minilm_base, base=tmp_path / "nope")


@pytest.mark.parametrize("qtype", ["F16", "Q8_0"])
def test_gguf_against_safetensors_base(tiny_llama: Path, tmp_path: Path, qtype: str) -> None:
    sd = E.load(tiny_llama / "model.safetensors")
    cfg = json.loads((tiny_llama / "config.json").read_text())
    same = G.write_llama_gguf(sd, cfg, tmp_path / "same.gguf", qtype)
    rep, found = diff(same, tiny_llama)
    assert set(found) == {"FORENSICS-PRECISION-ONLY"}, found
    assert rep.data["forensics"]["diff"]["by_role_keys"]
    r = E.random_direction(64, 9)
    abl = G.write_llama_gguf(
        E.ablate(sd, MD.llama_writers(4), r, 1.0, embedding="model.embed_tokens.weight"),
        cfg,
        tmp_path / "abl.gguf",
        qtype,
    )
    _, found = diff(abl, tiny_llama)
    f = found["FORENSICS-ABLATION-DIRECTIONAL"]
    assert f.evidence["subtype"] == "classic" and f.evidence["edited_writers"] == 8


def test_classic_ablation_stored_in_bf16_with_outlier_dims(tiny_llama: Path, tmp_path: Path) -> None:
    """As abliterations are published: the edit made in float on bf16 weights, the result stored in
    bf16, against the bf16 base. Real embeddings have a few high-magnitude dimensions; bf16 re-rounding
    noise scales with each weight, so it concentrates there and lifts singular values of the
    embedding's change over the noise edge (rank 4, s1 at 99.9%). SmolLM2's classic abliteration read
    'partial' plus a LoRA merge of the embedding that way; it must read classic with its embedding."""
    emb = "model.embed_tokens.weight"
    sd = E.load(tiny_llama / "model.safetensors")
    g = torch.Generator().manual_seed(int(torch.randint(0, 2**31, ())))
    dims = torch.randperm(64, generator=g)[:3]
    scale = torch.ones(64)
    scale[dims] = 30.0
    sd[emb] = sd[emb] * scale
    bf = E.cast(sd, torch.bfloat16)
    base = E.save(bf, tmp_path / "base", like=tiny_llama)
    r = E.random_direction(64, int(torch.randint(0, 10_000, (), generator=g)))
    edited = E.ablate(E.cast(bf, torch.float32), MD.llama_writers(4), r, 1.0, embedding=emb)
    rep, found = diff(E.save(E.cast(edited, torch.bfloat16), tmp_path / "abl", like=tiny_llama), base)
    t = {x["name"]: x for x in rep.data["forensics"]["diff"]["tensors"]}[emb]
    assert t["rank"] > 1 and t["sv_rel"][0] ** 2 > 0.99  # the situation this test is about
    f = found["FORENSICS-ABLATION-DIRECTIONAL"]
    assert f.evidence["subtype"] == "classic" and f.evidence["embedding_edited"], f.evidence
    assert "FORENSICS-LORA-MERGE" not in found and "FORENSICS-FULL-FINETUNE" not in found, set(found)
