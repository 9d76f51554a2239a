"""Base-free ablation search on tiny models we edit ourselves (random-init: no learned structure)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from tests.forensics import edits as E
from tests.forensics import gguf_util as G
from tests.forensics import models as MD
from warden.forensics import run_forensics

EMB = "model.embed_tokens.weight"


def _bf(path: Path) -> dict:
    return run_forensics(path).data["forensics"]["basefree"]


def _rules(path: Path) -> list[str]:
    return [f.rule_id for f in run_forensics(path).findings]


@pytest.fixture(scope="module")
def llama(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, E.StateDict]:
    p = MD.build_random("llama", tmp_path_factory.mktemp("l") / "base", d=96, layers=6, seed=1)
    return p, E.load(p / "model.safetensors")


def test_clean_is_not_flagged(llama, save) -> None:
    path, sd = llama
    bf = _bf(path)
    assert bf["ran"] and not bf["flagged"] and bf["score"] < bf["threshold"]
    assert len(bf["energy_profile"]) == 6 and bf["windows"]
    assert _bf(save(E.cast(sd, torch.bfloat16), path, "bf16"))["flagged"] is False


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_classic_ablation_recovers_the_direction(llama, save, dtype: torch.dtype) -> None:
    path, sd = llama
    r = E.random_direction(96, 11)
    edited = E.cast(E.ablate(sd, MD.llama_writers(6), r, 1.0, embedding=EMB), dtype)
    rep = run_forensics(save(edited, path))
    bf = rep.data["forensics"]["basefree"]
    assert bf["flagged"] and bf["kind"] == "classic"
    assert E.angle_cos(torch.tensor(bf["direction"]), r) > 0.99
    assert bf["affected_layers"] == list(range(6))
    assert bf["embedding_log_energy"] < -7
    (f,) = [f for f in rep.findings if f.rule_id == "FORENSICS-ABLATION-BASEFREE"]
    assert f.severity.value == "critical" and f.stage == "forensics"


def test_heretic_band_with_per_layer_directions(llama, save) -> None:
    """Heretic: o_proj/down_proj only, a tent of weights over a band, a different direction per layer."""
    path, sd = llama
    weights = E.tent(6, 1.0, center=3, width=1.5)  # layers 2,3,4: 0.33, 1.0, 0.33
    out = dict(sd)
    for layer, w in enumerate(weights):
        r = E.random_direction(96, 100 + layer)
        out = E.ablate(out, MD.llama_writers(6)[2 * layer : 2 * layer + 2], r, w)
    bf = _bf(save(out, path))
    assert bf["flagged"] and bf["kind"] == "partial"
    assert 3 in bf["affected_layers"] and not set(bf["affected_layers"]) - {2, 3, 4}
    assert bf["best_window"][0] <= 3 <= bf["best_window"][1]


def test_norm_preserving_rank3_is_flagged(llama, save) -> None:
    path, sd = llama
    r = E.random_direction(96, 5)
    bf = _bf(save(E.normpreserving(sd, MD.llama_writers(6), r, E.per_layer(E.tent(6, 1.0, 3, 2), 2)), path))
    assert bf["flagged"] and E.angle_cos(torch.tensor(bf["direction"]), r) > 0.95


@pytest.mark.parametrize("model_type", ["gpt2", "bert", "mixtral", "qwen2_moe", "phi3"])
def test_other_architectures(model_type: str, tmp_path: Path) -> None:
    from warden.forensics.checkpoint import open_checkpoint
    from warden.forensics.layout import build_layout

    p = MD.build_random(model_type, tmp_path / "base", d=64, layers=3, seed=2)
    assert not _bf(p)["flagged"]
    sd = E.load(p / "model.safetensors")
    with open_checkpoint(p) as ck:
        lay = build_layout(ck)
        writers = [
            (n, lay.roles[n].residual_axis) for s in lay.writers.values() for v in s.values() for n in v
        ]
        emb = lay.embedding
    r = E.random_direction(64, 3)
    bf = _bf(E.save(E.ablate(sd, writers, r, 1.0, embedding=emb), tmp_path / "abl", like=p))
    assert bf["flagged"] and bf["kind"] == "classic"
    assert E.angle_cos(torch.tensor(bf["direction"]), r) > 0.99


@pytest.mark.parametrize("qtype", ["F16", "Q8_0"])
def test_gguf_ablated_still_flagged(llama, tmp_path: Path, qtype: str) -> None:
    path, sd = llama
    cfg = json.loads((path / "config.json").read_text())
    clean = G.write_llama_gguf(sd, cfg, tmp_path / "clean.gguf", qtype)
    assert not _bf(clean)["flagged"]
    r = E.random_direction(96, 21)
    abl = G.write_llama_gguf(
        E.ablate(sd, MD.llama_writers(6), r, 1.0, embedding=EMB), cfg, tmp_path / "a.gguf", qtype
    )
    bf = _bf(abl)
    assert bf["flagged"] and bf["kind"] == "classic"
    assert E.angle_cos(torch.tensor(bf["direction"]), r) > 0.99


def test_trained_tiny_llama_clean_and_ablated(tmp_path: Path) -> None:
    """A briefly trained Llama (learned structure, not i.i.d. init) is not flagged; ablated, it is."""
    p = MD.build_trained_llama(tmp_path / "t", d=64, layers=4, steps=60, vocab=256)
    assert not _bf(p)["flagged"]
    sd = E.load(p / "model.safetensors")
    r = E.random_direction(64, 8)
    bf = _bf(E.save(E.ablate(sd, MD.llama_writers(4), r, 0.9), tmp_path / "a", like=p))
    assert bf["flagged"] and bf["kind"] == "partial"


def _write_moe_gguf(path: Path, t: dict[str, torch.Tensor]) -> Path:
    import gguf
    import numpy as np

    w = gguf.GGUFWriter(str(path), arch="qwen2moe")
    w.add_embedding_length(64)
    w.add_block_count(3)
    for name, x in t.items():
        w.add_tensor(name, x.numpy().astype(np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


def test_gguf_packed_moe_experts(tmp_path: Path) -> None:
    """llama.cpp packs MoE experts into one 3-D tensor (ffn_down_exps: experts x d x ffn)."""
    g = torch.Generator().manual_seed(0)
    d, ffn, n_exp = 64, 32, 4
    t = {"token_embd.weight": torch.randn(200, d, generator=g)}
    for i in range(3):
        t[f"blk.{i}.attn_q.weight"] = torch.randn(d, d, generator=g)
        t[f"blk.{i}.attn_k.weight"] = torch.randn(d, d, generator=g)
        t[f"blk.{i}.attn_v.weight"] = torch.randn(d, d, generator=g)
        t[f"blk.{i}.attn_output.weight"] = torch.randn(d, d, generator=g)
        t[f"blk.{i}.ffn_gate_exps.weight"] = torch.randn(n_exp, ffn, d, generator=g)
        t[f"blk.{i}.ffn_up_exps.weight"] = torch.randn(n_exp, ffn, d, generator=g)
        t[f"blk.{i}.ffn_down_exps.weight"] = torch.randn(n_exp, d, ffn, generator=g)
        t[f"blk.{i}.ffn_gate_inp.weight"] = torch.randn(n_exp, d, generator=g)
    clean = _write_moe_gguf(tmp_path / "clean.gguf", t)
    assert not _bf(clean)["flagged"]
    r = E.random_direction(d, 2).float()
    p = torch.eye(d) - torch.outer(r, r)
    ab = dict(t)
    ab["token_embd.weight"] = t["token_embd.weight"] @ p
    for i in range(3):
        ab[f"blk.{i}.attn_output.weight"] = p @ t[f"blk.{i}.attn_output.weight"]
        ab[f"blk.{i}.ffn_down_exps.weight"] = torch.stack([p @ e for e in t[f"blk.{i}.ffn_down_exps.weight"]])
    bf = _bf(_write_moe_gguf(tmp_path / "abl.gguf", ab))
    assert bf["flagged"] and bf["kind"] == "classic"
    assert E.angle_cos(torch.tensor(bf["direction"]), r) > 0.99
    rep = run_forensics(tmp_path / "abl.gguf", base=clean)
    (f,) = [f for f in rep.findings if f.rule_id == "FORENSICS-ABLATION-DIRECTIONAL"]
    assert f.evidence["subtype"] == "classic" and f.evidence["edited_writers"] == 6
