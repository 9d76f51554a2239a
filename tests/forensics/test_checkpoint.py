"""Readers: safetensors (single, sharded, bf16/fp16/fp8), GGUF (F32/F16/Q8_0/K-quants), refusals and
damage. Bad input must end as a finding or a WardenError naming the file, never another exception."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import gguf
import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safetensors.torch import save_file

from tests.forensics import edits as E
from tests.forensics import gguf_util as G
from tests.forensics import models as MD
from warden.errors import FormatError, UsageError, WardenError
from warden.forensics import run_forensics
from warden.forensics.checkpoint import open_checkpoint


def test_single_file_directory_and_shards_agree(tiny_llama: Path, tmp_path: Path) -> None:
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(str(tiny_llama))
    model.save_pretrained(tmp_path / "sharded", safe_serialization=True, max_shard_size="40KB")
    assert (tmp_path / "sharded" / "model.safetensors.index.json").exists()
    scores = []
    for ref in (
        tiny_llama,
        tiny_llama / "model.safetensors",
        tmp_path / "sharded",
        tmp_path / "sharded" / "model.safetensors.index.json",
    ):
        with open_checkpoint(ref) as ck:
            assert len(ck.tensors) == 39 and not ck.problems
        rep = run_forensics(ref)
        scores.append(rep.data["forensics"]["basefree"]["score"])
    assert max(scores) - min(scores) < 1e-3


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16, torch.float8_e4m3fn])
def test_low_precision_dtypes_read_as_float32(dtype: torch.dtype, tmp_path: Path) -> None:
    w = torch.randn(16, 8) * 0.5
    save_file({"model.layers.0.mlp.down_proj.weight": w.to(dtype)}, str(tmp_path / "m.safetensors"))
    with open_checkpoint(tmp_path / "m.safetensors") as ck:
        got = ck.read("model.layers.0.mlp.down_proj.weight")
        assert got.dtype == torch.float32
        assert torch.equal(got, w.to(dtype).float())
        assert ck.read_rows("model.layers.0.mlp.down_proj.weight", 4, 9).shape == (5, 8)


def test_pickle_checkpoint_is_refused_and_never_loaded(tmp_path: Path, canary: Path) -> None:
    class Payload:
        def __reduce__(self):  # noqa: ANN204
            return (open, (str(canary), "w"))

    (tmp_path / "pytorch_model.bin").write_bytes(pickle.dumps(Payload()))
    with pytest.raises(UsageError, match="pickle checkpoint") as exc:
        run_forensics(tmp_path)
    assert "safetensors" in exc.value.diagnostics() and "pytorch_model.bin" in exc.value.diagnostics()
    with pytest.raises(UsageError, match="pickle checkpoint"):
        run_forensics(tmp_path / "pytorch_model.bin")


def test_truncated_safetensors_names_the_file(tiny_llama: Path, tmp_path: Path) -> None:
    data = (tiny_llama / "model.safetensors").read_bytes()
    (tmp_path / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(FormatError) as exc:
        run_forensics(tmp_path)
    assert "model.safetensors" in exc.value.diagnostics()


def test_broken_or_missing_shard_is_a_finding(tiny_llama: Path, tmp_path: Path) -> None:
    from transformers import AutoModelForCausalLM

    out = tmp_path / "sharded"
    AutoModelForCausalLM.from_pretrained(str(tiny_llama)).save_pretrained(out, max_shard_size="40KB")
    shards = sorted(out.glob("model-*.safetensors"))
    shards[1].write_bytes(shards[1].read_bytes()[:100])  # truncated
    shards[2].unlink()  # missing
    rep = run_forensics(out)
    bad = {f.location.file: f.evidence["error"] for f in rep.findings if f.rule_id == "FORENSICS-UNREADABLE"}
    assert shards[1].name in bad and shards[2].name in bad
    assert "missing" in bad[shards[2].name]


def test_unknown_architecture_is_reported_not_crashed(tmp_path: Path) -> None:
    save_file({"foo.bar": torch.randn(8, 8), "baz": torch.randn(3)}, str(tmp_path / "model.safetensors"))
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "brand-new-arch"}))
    rep = run_forensics(tmp_path)
    assert [f.rule_id for f in rep.findings] == ["FORENSICS-UNKNOWN-ARCH"]
    assert rep.stages["forensics"].status.value == "skipped"


def test_llama_names_without_config_are_guessed(tiny_llama: Path, tmp_path: Path) -> None:
    (tmp_path / "model.safetensors").write_bytes((tiny_llama / "model.safetensors").read_bytes())
    rep = run_forensics(tmp_path)
    assert [f.rule_id for f in rep.findings] == ["FORENSICS-ARCH-GUESSED"]
    assert rep.data["forensics"]["basefree"]["ran"]


@pytest.fixture(scope="module")
def llama_gguf_sd(tmp_path_factory: pytest.TempPathFactory) -> tuple[E.StateDict, dict[str, int], Path]:
    p = MD.build_random("llama", tmp_path_factory.mktemp("g") / "m", d=64, layers=2, seed=3)
    return E.load(p / "model.safetensors"), json.loads((p / "config.json").read_text()), p


@pytest.mark.parametrize(
    ("qtype", "tol"), [("F32", 0.0), ("F64", 0.0), ("F16", 1e-3), ("BF16", 4e-3), ("Q8_0", 1e-2)]
)
def test_gguf_reads_and_unpermutes(llama_gguf_sd, tmp_path: Path, qtype: str, tol: float) -> None:
    from warden.forensics.pairing import unpermute_qk

    sd, cfg, _ = llama_gguf_sd
    path = G.write_llama_gguf(
        sd, cfg, tmp_path / f"m-{qtype}.gguf", qtype, tokens=[f"t{i}" for i in range(256)]
    )
    with open_checkpoint(path) as ck:
        assert ck.format == "gguf" and ck.model_type == "llama" and ck.d_model == 64
        assert ck.vocab() == [f"t{i}" for i in range(256)]
        emb = ck.read("token_embd.weight")
        ref = sd["model.embed_tokens.weight"]
        assert emb.shape == ref.shape
        assert float((emb - ref).norm() / ref.norm()) <= tol + 1e-7
        q = unpermute_qk(ck.read("blk.0.attn_q.weight"), 4)
        refq = sd["model.layers.0.self_attn.q_proj.weight"]
        assert float((q - refq).norm() / refq.norm()) <= tol + 1e-7


@pytest.mark.parametrize("qtype", ["Q4_K", "Q6_K", "Q5_K", "Q4_0"])
def test_gguf_k_quants_dequantize(tmp_path: Path, qtype: str) -> None:
    """gguf-py cannot quantise K-quants, so write well-formed blocks of random bytes and read them."""
    q = getattr(gguf.GGMLQuantizationType, qtype)
    block, type_size = gguf.GGML_QUANT_SIZES[q]
    rows, cols = 8, 256
    raw = np.random.default_rng(0).integers(0, 255, (rows, cols // block * type_size), dtype=np.uint8)
    # keep every fp16 scale finite: Q4_0 / Q4_K / Q5_K start their blocks with it, Q6_K ends with it
    scale = np.frombuffer(np.float16(0.01).tobytes() * 2, dtype=np.uint8)
    for b0 in range(0, raw.shape[1], type_size):
        if qtype == "Q6_K":
            raw[:, b0 + type_size - 2 : b0 + type_size] = scale[:2]
        else:
            raw[:, b0 : b0 + (2 if qtype == "Q4_0" else 4)] = scale[: 2 if qtype == "Q4_0" else 4]
    w = gguf.GGUFWriter(str(tmp_path / "k.gguf"), arch="llama")
    w.add_tensor("blk.0.ffn_down.weight", raw, raw_shape=raw.shape, raw_dtype=q)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    with open_checkpoint(tmp_path / "k.gguf") as ck:
        assert ck.tensors["blk.0.ffn_down.weight"].shape == (rows, cols)
        assert ck.tensors["blk.0.ffn_down.weight"].dtype == qtype
        x = ck.read("blk.0.ffn_down.weight")
        assert x.shape == (rows, cols) and x.dtype == torch.float32
        assert torch.equal(ck.read_rows("blk.0.ffn_down.weight", 2, 5), x[2:5])


def test_truncated_gguf_names_the_file(llama_gguf_sd, tmp_path: Path) -> None:
    sd, cfg, _ = llama_gguf_sd
    path = G.write_llama_gguf(sd, cfg, tmp_path / "m.gguf", "F16")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 5000])
    with pytest.raises(WardenError) as exc:
        run_forensics(path)
    assert "m.gguf" in exc.value.diagnostics()


@pytest.fixture(scope="module")
def small_files(tmp_path_factory: pytest.TempPathFactory, llama_gguf_sd) -> dict[str, bytes]:
    sd, cfg, p = llama_gguf_sd
    d = tmp_path_factory.mktemp("fz")
    gg = G.write_llama_gguf(sd, cfg, d / "m.gguf", "Q8_0")
    return {"safetensors": (p / "model.safetensors").read_bytes(), "gguf": gg.read_bytes()}


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    kind=st.sampled_from(["safetensors", "gguf"]),
    cut=st.floats(0.0, 1.0),
    flips=st.lists(st.tuples(st.floats(0.0, 1.0), st.integers(0, 255)), max_size=6),
)
def test_fuzz_damaged_checkpoints(small_files, tmp_path_factory, kind: str, cut: float, flips) -> None:
    data = bytearray(small_files[kind])
    for pos, val in flips:
        data[int(pos * (len(data) - 1))] = val
    data = data[: max(1, int(cut * len(data)))] if cut < 0.98 else data
    d = tmp_path_factory.mktemp("case")
    path = d / f"model.{kind}"
    path.write_bytes(bytes(data))
    try:
        rep = run_forensics(path)
    except WardenError as exc:
        assert path.name in exc.diagnostics()
        return
    assert rep.stages["forensics"].status.value in ("ran", "skipped")


def test_gguf_type_gguf_cannot_dequantize_is_one_clear_finding(llama_gguf_sd, tmp_path: Path) -> None:
    """A tensor type gguf-py cannot dequantize (Q8_1 with gguf 0.19) is named in one finding per type,
    its tensors are left out, and the base-free analysis still runs on the rest; never a traceback."""
    sd, cfg, _ = llama_gguf_sd
    qt = G.unreadable_type() or pytest.skip("this gguf dequantizes every small-block type")
    odd = {"blk.0.ffn_down.weight": qt, "blk.1.ffn_down.weight": qt}
    path = G.write_llama_gguf(sd, cfg, tmp_path / "odd.gguf", "Q8_0", raw_types=odd)
    rep = run_forensics(path)
    found = [f for f in rep.findings if f.rule_id == "FORENSICS-QUANT-UNREADABLE"]
    assert len(found) == 1
    ev = found[0].evidence
    assert ev["type"] == qt and ev["tensors"] == 2 and set(ev["examples"]) == set(odd)
    assert qt in ev["error"] and "cannot dequantize" in ev["error"]
    assert found[0].location.file == "odd.gguf"
    assert rep.stages["forensics"].status.value == "ran"
    skipped = dict(map(tuple, rep.data["forensics"]["model"]["skipped"]))
    assert set(odd) <= set(skipped) and qt in skipped["blk.0.ffn_down.weight"]
    assert not [f for f in rep.findings if f.rule_id == "FORENSICS-UNREADABLE"]


def test_gguf_readable_types_are_asked_of_gguf() -> None:
    from warden.forensics.checkpoint import gguf_type_readable

    Q = gguf.GGMLQuantizationType
    for q in (Q.F32, Q.F16, Q.F64, Q.BF16, Q.Q8_0, Q.Q6_K, Q.Q5_K, Q.Q4_K, Q.Q4_0, Q.Q4_1, Q.IQ4_XS, Q.Q2_K):
        assert gguf_type_readable(int(q)), q.name  # the types in common use (issue #13)
    for q in Q:  # an "unreadable" answer is gguf's own: its dequantizer refuses a block of that type
        size = gguf.GGML_QUANT_SIZES.get(q)
        if size and not gguf_type_readable(int(q)):
            with pytest.raises(Exception):  # noqa: B017, PT011 - whatever gguf raises
                gguf.quants.dequantize(np.zeros((1, size[1]), dtype=np.uint8), q)


def test_basefree_read_failure_is_a_finding(llama_gguf_sd, tmp_path: Path) -> None:
    """A tensor that fails mid-analysis (NaN weights) is reported, not silently dropped."""
    sd, cfg, p = llama_gguf_sd
    bad = dict(sd)
    w = bad["model.layers.1.mlp.down_proj.weight"].clone()
    w[0, 0] = float("nan")
    bad["model.layers.1.mlp.down_proj.weight"] = w
    path = G.write_llama_gguf(bad, cfg, tmp_path / "nan.gguf", "F32")
    rep = run_forensics(path)
    errs = [f.evidence["error"] for f in rep.findings if f.rule_id == "FORENSICS-UNREADABLE"]
    assert any("blk.1.ffn_down.weight" in e and "NaN" in e for e in errs), errs


def test_gguf_all_writers_unreadable_says_so(llama_gguf_sd, tmp_path: Path) -> None:
    """Every matrix in a type gguf cannot read (as in a llama.cpp Q1_0 file): the stage skips and says
    why; it does not claim the (declared, known) architecture is unrecognised."""
    sd, cfg, _ = llama_gguf_sd
    names = [G.gguf_name(k) for k, v in sd.items() if v.ndim == 2]
    qt = G.unreadable_type() or pytest.skip("this gguf dequantizes every small-block type")
    path = G.write_llama_gguf(sd, cfg, tmp_path / "q1.gguf", "Q8_0", raw_types=dict.fromkeys(names, qt))
    rep = run_forensics(path)
    assert [f.rule_id for f in rep.findings] == ["FORENSICS-QUANT-UNREADABLE"]
    stage = rep.stages["forensics"]
    assert stage.status.value == "skipped" and qt in stage.reason, stage.reason


def test_gguf_unknown_type_id_is_a_clear_error(llama_gguf_sd, tmp_path: Path) -> None:
    """A type id gguf-py has never heard of (a newer llama.cpp type): gguf-py reads nothing of such a
    file, so forensics stops with an error that says so and names the file, not 'malformed'."""
    import struct

    sd, cfg, _ = llama_gguf_sd
    path = G.write_llama_gguf(sd, cfg, tmp_path / "new.gguf", "Q8_0")
    data = bytearray(path.read_bytes())
    name = b"blk.0.ffn_down.weight"
    i = data.index(name) + len(name)
    n_dims = struct.unpack_from("<I", data, i)[0]
    unknown = max(int(q) for q in gguf.GGMLQuantizationType) + 7
    struct.pack_into("<I", data, i + 4 + 8 * n_dims, unknown)
    path.write_bytes(bytes(data))
    with pytest.raises(WardenError) as exc:
        run_forensics(path)
    text = exc.value.diagnostics()
    assert "new.gguf" in text and "does not know" in text and str(unknown) in text


def test_llama_cpp_q1_0_file_is_reported_not_read() -> None:
    """A file llama.cpp itself wrote in a type gguf cannot dequantize (tests/forensics/data/README.md):
    one finding naming the type and how many tensors, the stage skipped with that reason."""
    path = Path(__file__).parent / "data" / "organism-base-Q1_0.gguf"
    if gguf_type_readable_q1():
        pytest.skip("this gguf can dequantize Q1_0: the file is an ordinary one for it")
    rep = run_forensics(path)
    found = [f for f in rep.findings if f.rule_id == "FORENSICS-QUANT-UNREADABLE"]
    assert len(found) == 1 and found[0].evidence["type"] == "Q1_0" and found[0].evidence["tensors"] == 29
    assert rep.stages["forensics"].status.value == "skipped" and "Q1_0" in rep.stages["forensics"].reason


def gguf_type_readable_q1() -> bool:
    from warden.forensics.checkpoint import gguf_type_readable

    return gguf_type_readable(int(gguf.GGMLQuantizationType.Q1_0))
