"""Lineage (--claimed-base): derived models are consistent, unrelated models of the same shape are not."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from tests.forensics import edits as E
from tests.forensics import models as MD
from warden.forensics import run_forensics
from warden.forensics.lineage import centred_corr


def lineage(model: Path, claimed: Path) -> tuple[dict, dict]:
    rep = run_forensics(model, claimed_base=claimed)
    found = {f.rule_id: f for f in rep.findings if "LINEAGE" in f.rule_id}
    return rep.data["forensics"]["lineage"], found


@pytest.fixture(scope="module")
def unrelated_bert(tmp_path_factory: pytest.TempPathFactory, minilm_sd: E.StateDict) -> Path:
    """Same architecture, shapes and tokenizer as MiniLM, independently initialised."""
    from transformers import BertConfig, BertModel

    torch.manual_seed(123)
    model = BertModel(BertConfig.from_pretrained(str(MD.minilm_dir())))
    sd = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items() if k in minilm_sd}
    return E.save(sd, tmp_path_factory.mktemp("unrelated") / "m", like=MD.minilm_dir())


def test_finetune_is_consistent(minilm_sd, minilm_base: Path, save) -> None:
    lin, found = lineage(save(E.finetune_noise(minilm_sd, seed=1, rel=0.05), minilm_base), minilm_base)
    assert lin["consistent"] and set(found) == {"FORENSICS-LINEAGE-CONSISTENT"}
    assert lin["tokenizer"] == "equal" and lin["median_corr"] > 0.9
    assert lin["median_corr"] - lin["baseline_corr"] > 0.5


def test_unrelated_same_shape_is_inconsistent(minilm_base: Path, unrelated_bert: Path, minilm_sd) -> None:
    # the trap DESIGN.md warns about: plain cosine of LayerNorm weights says "same model"
    ln = "encoder.layer.2.output.LayerNorm.weight"
    other = E.load(unrelated_bert / "model.safetensors")
    cos = float(torch.nn.functional.cosine_similarity(minilm_sd[ln], other[ln], dim=0))
    assert cos > 0.9
    assert (
        abs(
            centred_corr(
                minilm_sd["encoder.layer.2.output.dense.weight"], other["encoder.layer.2.output.dense.weight"]
            )
        )
        < 0.05
    )
    lin, found = lineage(unrelated_bert, minilm_base)
    assert not lin["consistent"] and found["FORENSICS-LINEAGE-INCONSISTENT"].severity.value == "high"
    assert abs(lin["median_corr"]) < 0.1 and lin["matched_neuron_corr"] < 0.4


def test_permuted_neurons_are_still_consistent(
    minilm_sd, minilm_base: Path, unrelated_bert: Path, save
) -> None:
    """Permuting an MLP's neurons changes nothing it computes. With the MLPs permuted and every other
    matrix swapped for unrelated weights, same-position statistics say "unrelated"; the one-to-one
    neuron matching still finds the base's neurons."""
    g = torch.Generator().manual_seed(0)
    other = E.load(unrelated_bert / "model.safetensors")
    out = dict(minilm_sd)
    for i in range(6):
        p = torch.randperm(1536, generator=g)
        pre = f"encoder.layer.{i}."
        out[pre + "intermediate.dense.weight"] = minilm_sd[pre + "intermediate.dense.weight"][p].contiguous()
        out[pre + "intermediate.dense.bias"] = minilm_sd[pre + "intermediate.dense.bias"][p].contiguous()
        out[pre + "output.dense.weight"] = minilm_sd[pre + "output.dense.weight"][:, p].contiguous()
        for k in (
            "attention.self.query",
            "attention.self.key",
            "attention.self.value",
            "attention.output.dense",
        ):
            out[pre + k + ".weight"] = other[pre + k + ".weight"]
    out[MD.MINILM_EMBEDDING] = other[MD.MINILM_EMBEDDING]
    lin, found = lineage(save(out, minilm_base), minilm_base)
    assert lin["median_corr"] < 0.3  # same-position statistics alone would say "unrelated"
    assert lin["matched_neuron_corr"] > 0.95 and lin["neurons_permuted"]
    assert lin["consistent"] and "FORENSICS-LINEAGE-CONSISTENT" in found


def test_different_tokenizer_is_inconsistent(minilm_sd, minilm_base: Path, tmp_path: Path) -> None:
    model = E.save(minilm_sd, tmp_path / "m", like=MD.minilm_dir())
    tj = json.loads((model / "tokenizer.json").read_text())
    vocab = tj["model"]["vocab"]
    for tok in list(vocab)[1000:1100]:
        vocab[tok + "##x"] = vocab.pop(tok)
    (model / "tokenizer.json").write_text(json.dumps(tj))
    lin, found = lineage(model, minilm_base)
    assert lin["tokenizer"] == "different" and not lin["consistent"]
    assert any("tokenizers differ" in r for r in found["FORENSICS-LINEAGE-INCONSISTENT"].evidence["reasons"])


def test_architecture_mismatch_is_inconsistent(tiny_llama: Path, minilm_base: Path) -> None:
    lin, _ = lineage(tiny_llama, minilm_base)
    assert not lin["consistent"] and not lin["architecture_match"]


def test_tiny_llamas_null_baseline(tmp_path: Path) -> None:
    a = MD.build_random("llama", tmp_path / "a", d=64, layers=4, seed=1)
    b = MD.build_random("llama", tmp_path / "b", d=64, layers=4, seed=2)
    shutil.copy(MD.minilm_dir() / "tokenizer.json", a / "tokenizer.json")
    shutil.copy(MD.minilm_dir() / "tokenizer.json", b / "tokenizer.json")
    lin, _ = lineage(a, b)
    assert not lin["consistent"] and abs(lin["median_corr"]) < 0.1
    ft = E.save(E.finetune_noise(E.load(a / "model.safetensors"), seed=3, rel=0.2), tmp_path / "ft", like=a)
    lin, _ = lineage(ft, a)
    assert lin["consistent"] and lin["median_corr"] > 0.9
