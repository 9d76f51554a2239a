"""Tensor-role map on tiny random models of every supported architecture (built from config)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.forensics import models as MD
from warden.forensics.checkpoint import open_checkpoint
from warden.forensics.layout import build_layout
from warden.forensics.roles import Role, classify

ARCHS = [*MD.SMALL, "gpt2", "gpt_neox", "bert"]
LAYER_NORM = {"gpt2", "gpt_neox", "bert"}
EXPERT_WRITERS = {"mixtral": 2, "qwen2_moe": 3, "qwen3_moe": 2}  # experts (+ shared expert)


@pytest.mark.parametrize("model_type", ARCHS)
def test_layout_of_every_architecture(model_type: str, tmp_path: Path) -> None:
    path = MD.build_random(model_type, tmp_path / model_type, d=32, layers=2)
    with open_checkpoint(path) as ck:
        lay = build_layout(ck)
        assert lay.known and not lay.guessed
        assert lay.d_model == 32 and lay.n_layers == 2
        assert lay.layer_norm == (model_type in LAYER_NORM)
        assert lay.embedding is not None
        for layer in (0, 1):
            slots = lay.writers[layer]
            assert len(slots["attn"]) == 1
            assert len(slots["mlp"]) == EXPERT_WRITERS.get(model_type, 1)
            for name in slots["attn"] + slots["mlp"]:
                r = lay.roles[name]
                assert r.role.writes and ck.tensors[name].shape[r.residual_axis] == 32
        assert lay.readers, "q/k/v and gate/up (or fused) must be found"
        for name in lay.readers:
            r = lay.roles[name]
            assert ck.tensors[name].shape[r.residual_axis] == 32
        # nothing that looks like a weight matrix was left without a role, except known extras
        unknown = [n for n, r in lay.roles.items() if r.role is Role.OTHER and len(ck.tensors[n].shape) == 2]
        assert all("pooler" in n for n in unknown), unknown


def test_gpt2_conv1d_orientation(tmp_path: Path) -> None:
    """GPT-2 stores Conv1D weights (in, out): c_proj writes on axis 1, c_fc/c_attn read on axis 0."""
    path = MD.build_random("gpt2", tmp_path / "g", d=32, layers=2)
    with open_checkpoint(path) as ck:
        lay = build_layout(ck)
        mlp_out = lay.roles["transformer.h.0.mlp.c_proj.weight"]
        assert mlp_out.role is Role.MLP_OUT and mlp_out.residual_axis == 1
        assert ck.tensors["transformer.h.0.mlp.c_proj.weight"].shape == (128, 32)
        assert lay.roles["transformer.h.0.mlp.c_fc.weight"].residual_axis == 0


@pytest.mark.parametrize(
    ("name", "shape", "role", "layer", "axis"),
    [
        ("token_embd.weight", (100, 32), Role.EMBEDDING, None, 1),
        ("output.weight", (100, 32), Role.LM_HEAD, None, 1),
        ("blk.3.attn_output.weight", (32, 32), Role.ATTN_OUT, 3, 0),
        ("blk.3.ffn_down.weight", (32, 64), Role.MLP_OUT, 3, 0),
        ("blk.3.ffn_gate.weight", (64, 32), Role.MLP_IN, 3, 1),
        ("blk.0.attn_q.weight", (32, 32), Role.ATTN_IN, 0, 1),
        ("blk.1.ffn_down_exps.weight", (4, 32, 16), Role.MLP_OUT, 1, 1),
        ("blk.1.ffn_up_exps.weight", (4, 16, 32), Role.MLP_IN, 1, 2),
        ("blk.0.attn_norm.weight", (32,), Role.NORM, 0, None),
        ("model.layers.2.block_sparse_moe.experts.5.w2.weight", (32, 64), Role.MLP_OUT, 2, 0),
        ("model.language_model.layers.7.mlp.down_proj.weight", (32, 64), Role.MLP_OUT, 7, 0),
        ("gpt_neox.layers.1.mlp.dense_4h_to_h.weight", (32, 128), Role.MLP_OUT, 1, 0),
        ("encoder.layer.4.output.dense.weight", (32, 128), Role.MLP_OUT, 4, 0),
        ("encoder.layer.4.attention.output.dense.weight", (32, 32), Role.ATTN_OUT, 4, 0),
        ("encoder.layer.4.attention.output.LayerNorm.weight", (32,), Role.NORM, 4, None),
        ("vision_tower.blocks.0.fc2.weight", (32, 64), Role.OTHER, None, None),
    ],
)
def test_classify_names(
    name: str, shape: tuple[int, ...], role: Role, layer: int | None, axis: int | None
) -> None:
    r = classify(name, shape, d_model=32)
    assert (r.role, r.layer, r.residual_axis) == (role, layer, axis)


def test_canonical_keys_line_up_hf_and_gguf() -> None:
    assert (
        classify("model.layers.3.self_attn.o_proj.weight", (8, 8)).canonical
        == classify("blk.3.attn_output.weight", (8, 8)).canonical
    )
    assert (
        classify("model.embed_tokens.weight", (9, 8)).canonical
        == classify("token_embd.weight", (9, 8)).canonical
    )
    assert (
        classify("model.layers.0.mlp.down_proj.weight", (8, 16)).canonical
        != classify("model.layers.1.mlp.down_proj.weight", (8, 16)).canonical
    )
