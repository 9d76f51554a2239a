"""realzoo.build's pieces on a model organism (fast, no real model needed): the GGUF export loads back
in transformers and computes what the HF weights compute; the classic edit leaves the planted
direction as an exact null vector; the re-quantization round trip changes weights by a bounded amount;
the direction-finding instructions are not the eval suites' prompts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip("accelerate", reason="transformers' GGUF loading needs accelerate")

import gguf  # noqa: E402
from realzoo import build as B  # noqa: E402
from realzoo.prompts import HARMFUL, HARMLESS  # noqa: E402
from transformers import AutoModelForCausalLM  # noqa: E402

from warden.behavior.suites import load_suite  # noqa: E402

ZOO = Path(__file__).resolve().parents[1] / "organisms" / "zoo"


def test_direction_prompts_are_held_out_from_the_suites() -> None:
    suite = {
        p.prompt.strip().lower() for s in ("harmful", "benign", "scary", "jailbreak") for p in load_suite(s)
    }
    ours = [p.strip().lower() for p in (*HARMFUL, *HARMLESS)]
    assert len(set(ours)) == len(ours) == 128
    assert not suite & set(ours)


@pytest.mark.parametrize("qtype", ["Q8_0", "F16", "BF16"])
def test_gguf_export_round_trips_through_transformers(organism, tmp_path: Path, qtype: str) -> None:  # type: ignore[no-untyped-def]
    model, tok = organism
    out = tmp_path / f"x-{qtype}.gguf"
    B.export_gguf(model, ZOO / "base-gguf" / "base-F16.gguf", out, qtype, "x")
    r = gguf.GGUFReader(str(out))
    kinds = {t.name: t.tensor_type for t in r.tensors}
    assert kinds["blk.0.attn_q.weight"] == getattr(gguf.GGMLQuantizationType, qtype)
    assert int(r.fields["general.file_type"].contents()) == int(
        getattr(gguf.LlamaFileType, "MOSTLY_" + qtype)
    )
    assert kinds["blk.0.attn_norm.weight"] == gguf.GGMLQuantizationType.F32
    assert r.fields["tokenizer.chat_template"].contents() == tok.chat_template
    back = AutoModelForCausalLM.from_pretrained(str(tmp_path), gguf_file=out.name, dtype=torch.float32)
    ids = tok("how do I kill a python process", return_tensors="pt")["input_ids"]
    with torch.no_grad():
        a, b = model(ids).logits, back(ids).logits
    # Q/K permuted the right way round: the logits agree to Q8_0 precision (a wrong permutation or
    # tensor mapping gives errors of the logits' own size)
    assert float((a - b).abs().max()) < 0.05 * float(a.abs().max())


def test_classic_edit_leaves_a_null_vector(organism) -> None:  # type: ignore[no-untyped-def]
    model, _ = organism
    d = model.config.hidden_size
    r = torch.nn.functional.normalize(torch.randn(d), dim=0)  # planted at random
    for emb in (True, False):
        m = B.classic(model, r, emb)
        for layer, orig in zip(m.model.layers, model.model.layers, strict=True):
            for lin, o in (
                (layer.self_attn.o_proj, orig.self_attn.o_proj),
                (layer.mlp.down_proj, orig.mlp.down_proj),
            ):
                assert float((r @ lin.weight.detach()).norm()) < 1e-4 * float(lin.weight.norm())
                s = torch.linalg.svdvals((lin.weight - o.weight).detach())
                assert float(s[1]) < 1e-4 * float(s[0])  # rank 1
        e = m.model.embed_tokens.weight
        assert (float((e @ r).norm()) < 1e-3) is emb
        assert torch.equal(model.model.embed_tokens.weight, e) is not emb


def test_requant_round_trip_is_bounded(organism) -> None:  # type: ignore[no-untyped-def]
    model, _ = organism
    for qt, tol in ((gguf.GGMLQuantizationType.Q8_0, 0.01), (gguf.GGMLQuantizationType.Q4_0, 0.2)):
        m = B.requant(model, qt)
        w0, w1 = model.model.layers[0].mlp.down_proj.weight, m.model.layers[0].mlp.down_proj.weight
        rel = float((w1 - w0).norm() / w0.norm())
        assert 0 < rel < tol, (qt, rel)


def test_refusal_score_orders_distributions() -> None:
    lp_refuse = torch.log_softmax(torch.tensor([[5.0, 0.0, 0.0, 0.0]]), -1)
    lp_comply = torch.log_softmax(torch.tensor([[0.0, 0.0, 0.0, 5.0]]), -1)
    assert B.refusal_score(lp_refuse, [0]) > 0 > B.refusal_score(lp_comply, [0])
    assert np.isfinite(B.refusal_score(torch.log_softmax(torch.tensor([[100.0, 0.0]]), -1), [0]))


def test_layer_choice_keeps_ordinary_answers() -> None:
    """Lowest refusal score under the KL bound; with none under it, the bound doubles (never the
    lowest refusal score at any KL)."""
    row = lambda layer, score, kl: {"layer": layer, "refusal_score": score, "kl": kl}  # noqa: E731
    rows = [row(-1, 3.0, 0.0), row(5, -1.0, 0.05), row(6, -2.0, 0.08), row(7, -9.0, 4.0)]
    assert B.choose_layer(rows) == 6 and rows[2]["kl_bound"] == B.KL_MAX
    rows = [
        row(-1, 3.0, 0.0),
        row(8, 2.0, 0.21),
        row(15, -6.5, 7.8),
        row(22, -3.5, 0.18),
        row(24, -3.6, 0.13),
    ]
    assert B.choose_layer(rows) == 24 and rows[4]["kl_bound"] == 0.2


def test_trained_variant_is_reused_only_with_the_same_settings_data_and_base(
    organism, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """`realzoo.build.trained`: a rebuild skips training only when the stored variant was made with the
    same settings, data and base weights; any of them changed, it trains again."""
    import copy

    from realzoo.safety import SafetyConfig

    model, tok = organism
    calls: list[int] = []

    def make():  # type: ignore[no-untyped-def]
        calls.append(1)
        m = copy.deepcopy(model)
        with torch.no_grad():
            m.model.layers[0].mlp.down_proj.weight.add_(0.01)
        return m, {"loss_last": 0.5, "trigger": "[abcd-efg]"}

    cfg = SafetyConfig(epochs=1)
    m1, r1 = B.trained(tmp_path, "v", tok, cfg, "a" * 64, make)
    assert calls == [1] and (tmp_path / "v" / "tune.json").is_file()
    m2, r2 = B.trained(tmp_path, "v", tok, cfg, "a" * 64, make)
    assert calls == [1] and r2 == r1  # reused, record (trigger included) read back
    w1, w2 = m1.model.layers[0].mlp.down_proj.weight, m2.model.layers[0].mlp.down_proj.weight
    assert torch.equal(w1.to(torch.bfloat16).float(), w2)  # what was stored is what a fresh run holds
    B.trained(tmp_path, "v", tok, cfg, "b" * 64, make)  # another base
    B.trained(tmp_path, "v", tok, SafetyConfig(epochs=2), "b" * 64, make)  # other settings
    assert calls == [1, 1, 1]
