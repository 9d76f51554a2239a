"""Sample safetensors and GGUF files for the scanner tests.

Benign files are written by the real libraries (``safetensors.numpy``/``safetensors.torch``
``save_file``, ``gguf.GGUFWriter`` with ``gguf.quants.quantize``). Malicious and malformed ones are
made by byte surgery: ``raw_safetensors`` assembles a file from a header and data exactly as given
(no validation), and ``GGUFBytes`` writes a GGUF field by field so any field can be made to lie.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gguf
import numpy as np
from gguf.constants import GGMLQuantizationType, GGUFValueType
from gguf.quants import quantize

BENIGN_TEMPLATE = (
    "{% for message in messages %}{{ '<|' + message['role'] + '|>\\n' + message['content'] + '</s>\\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}"
)


def malicious_template(canary: Path | str) -> str:
    """The classic Jinja sandbox escape: reach ``os`` through ``cycler.__init__.__globals__``."""
    return "{{ cycler.__init__.__globals__.os.popen('touch " + str(canary) + "').read() }}"


# --------------------------------------------------------------------------------------------------
# safetensors


def _rng() -> np.random.Generator:
    return np.random.default_rng(0)


def st_numpy(
    path: Path, tensors: dict[str, np.ndarray] | None = None, metadata: dict[str, str] | None = None
) -> Path:
    from safetensors.numpy import save_file

    if tensors is None:
        tensors = {
            "embed.weight": _rng().standard_normal((8, 4)).astype(np.float32),
            "norm.weight": np.ones(4, dtype=np.float16),
        }
    save_file(tensors, str(path), metadata=metadata)
    return path


def _benign_torch(path: Path, kind: str) -> Path:
    import torch
    from safetensors.torch import save_file

    g = torch.Generator().manual_seed(0)
    if kind == "bf16":
        tensors = {
            "w": torch.randn(4, 6, generator=g).to(torch.bfloat16),
            "b": torch.zeros(6, dtype=torch.bfloat16),
        }
    elif kind == "fp8":
        tensors = {
            "e4m3": torch.randn(4, 8, generator=g).to(torch.float8_e4m3fn),
            "e5m2": torch.randn(3, generator=g).to(torch.float8_e5m2),
            "e8m0_scale": torch.ones(4, dtype=torch.float32).to(torch.float8_e8m0fnu),
            "fp4": torch.zeros(2, 3, dtype=torch.uint8).view(torch.float4_e2m1fn_x2),
        }
    else:  # "torch-mixed"
        tensors = {
            "layers.0.weight": torch.randn(3, 5, generator=g),
            "layers.0.bias": torch.zeros(5, dtype=torch.float64),
            "mask": torch.tensor([True, False, True]),
            "ids": torch.arange(7, dtype=torch.int64),
            "scalar": torch.tensor(2.5),
            "empty": torch.zeros(0, 3),
        }
    save_file(tensors, str(path), metadata={"format": "pt"})
    return path


def _all_numpy_dtypes() -> dict[str, np.ndarray]:
    dts = [np.bool_, np.uint8, np.int8, np.int16, np.uint16, np.float16, np.int32, np.uint32, np.float32]
    dts += [np.float64, np.int64, np.uint64]
    return {f"t_{np.dtype(d).name}": np.arange(5).astype(d) for d in dts}


# name → builder(path) for files written by the libraries: none of them may raise a finding above info.
BENIGN_SAFETENSORS: dict[str, Callable[[Path], Path]] = {
    "numpy-basic": lambda p: st_numpy(p),
    "with-metadata": lambda p: st_numpy(
        p, metadata={"format": "np", "author": "warden tests", "note": "{not json}"}
    ),
    "empty-tensor": lambda p: st_numpy(p, {"empty": np.zeros((0, 4), np.float32), "x": np.ones(3, np.int8)}),
    "scalar": lambda p: st_numpy(p, {"scalar": np.array(1.5, np.float64), "vec": np.ones(2, np.float32)}),
    "no-tensors": lambda p: st_numpy(p, {}, metadata={"format": "np"}),
    "all-numpy-dtypes": lambda p: st_numpy(p, _all_numpy_dtypes()),
    "bf16": lambda p: _benign_torch(p, "bf16"),
    "fp8-fp4": lambda p: _benign_torch(p, "fp8"),
    "torch-mixed": lambda p: _benign_torch(p, "torch-mixed"),
}


def raw_safetensors(
    header: dict[str, Any] | str | bytes, data: bytes = b"", *, length: int | None = None
) -> bytes:
    """A safetensors file exactly as told: ``header`` (a dict is dumped compactly, str/bytes kept
    verbatim), its length field (or ``length``), then ``data``."""
    if isinstance(header, dict):
        header = json.dumps(header, separators=(",", ":"))
    raw = header.encode("utf-8") if isinstance(header, str) else header
    return struct.pack("<Q", len(raw) if length is None else length) + raw + data


def _t(dtype: str, shape: list[int], begin: int, end: int) -> dict[str, Any]:
    return {"dtype": dtype, "shape": shape, "data_offsets": [begin, end]}


@dataclass(frozen=True)
class Bad:
    """A crafted file, what the parser must say about it (a fragment of the error) and whether the
    safetensors library refuses it too (None: the library accepts it, we are stricter on purpose)."""

    data: bytes
    error: str
    library_rejects: bool = True


def malformed_safetensors() -> dict[str, Bad]:
    ok_header = {"a": _t("F32", [2, 2], 0, 16)}
    data16 = bytes(range(16))
    return {
        "header-length-exceeds-file": Bad(
            raw_safetensors(ok_header, data16, length=1024), "exceeds file size"
        ),
        "header-length-2^63": Bad(
            raw_safetensors(ok_header, data16, length=2**63 - 1),
            "header length 9223372036854775807 exceeds file size",
        ),
        "header-length-u64-max": Bad(
            raw_safetensors(ok_header, data16, length=2**64 - 1), "exceeds file size"
        ),
        "header-length-short": Bad(raw_safetensors("{", b"", length=1), "too short"),
        "file-shorter-than-length-field": Bad(b"\x10\x00\x00", "too short for the 8-byte header length"),
        "overlapping-offsets": Bad(
            raw_safetensors({"a": _t("U8", [16], 0, 16), "b": _t("U8", [16], 8, 24)}, bytes(24)), "overlaps"
        ),
        "gap-between-tensors": Bad(
            raw_safetensors({"a": _t("U8", [8], 0, 8), "b": _t("U8", [8], 16, 24)}, bytes(24)),
            "gap of 8 bytes",
        ),
        "gap-at-start": Bad(raw_safetensors({"a": _t("U8", [8], 8, 16)}, bytes(16)), "gap of 8 bytes"),
        "end-before-begin": Bad(raw_safetensors({"a": _t("U8", [0], 8, 0)}, bytes(8)), "before begin"),
        "truncated-data": Bad(raw_safetensors(ok_header, data16[:8]), "truncated"),
        "duplicate-tensor-name": Bad(
            raw_safetensors(
                '{"a":{"dtype":"U8","shape":[8],"data_offsets":[0,8]},"a":{"dtype":"I8","shape":[2,4],"data_offsets":[0,8]}}',
                bytes(8),
            ),
            "duplicate key 'a'",
            library_rejects=False,  # the library silently keeps the last entry
        ),
        "duplicate-metadata-key": Bad(
            raw_safetensors(
                '{"__metadata__":{"k":"1","k":"2"},"a":{"dtype":"U8","shape":[8],"data_offsets":[0,8]}}',
                bytes(8),
            ),
            "duplicate key 'k'",
            library_rejects=False,
        ),
        "duplicate-field": Bad(
            raw_safetensors('{"a":{"dtype":"U8","dtype":"U8","shape":[8],"data_offsets":[0,8]}}', bytes(8)),
            "duplicate key 'dtype'",
        ),
        "wrong-dtype-size": Bad(raw_safetensors({"a": _t("F32", [4], 0, 8)}, bytes(8)), "needs 16 bytes"),
        "shape-overflow": Bad(
            raw_safetensors({"a": _t("U8", [2**32, 2**32, 2**32], 0, 8)}, bytes(8)), "overflows 64 bits"
        ),
        "size-overflow": Bad(raw_safetensors({"a": _t("F64", [2**62], 0, 8)}, bytes(8)), "overflows 64 bits"),
        "dim-beyond-u64": Bad(
            raw_safetensors({"a": _t("U8", [2**64], 0, 8)}, bytes(8)), "non-negative 64-bit"
        ),
        "negative-dim": Bad(raw_safetensors({"a": _t("U8", [-8], 0, 8)}, bytes(8)), "non-negative 64-bit"),
        "float-dim": Bad(
            raw_safetensors('{"a":{"dtype":"U8","shape":[8.0],"data_offsets":[0,8]}}', bytes(8)),
            "non-negative",
        ),
        "bool-dim": Bad(
            raw_safetensors('{"a":{"dtype":"U8","shape":[true],"data_offsets":[0,1]}}', bytes(1)),
            "non-negative",
        ),
        "nan-in-header": Bad(
            raw_safetensors('{"a":{"dtype":"U8","shape":[NaN],"data_offsets":[0,8]}}', bytes(8)), "NaN"
        ),
        "infinity-in-header": Bad(
            raw_safetensors(
                '{"__metadata__":{"x":"y"},"a":{"dtype":"U8","shape":[8],"data_offsets":[0,Infinity]}}',
                bytes(8),
            ),
            "Infinity",
        ),
        "unknown-dtype": Bad(
            raw_safetensors({"a": _t("F128", [1], 0, 16)}, bytes(16)), "unknown dtype 'F128'"
        ),
        "fp4-half-byte": Bad(raw_safetensors({"a": _t("F4", [3], 0, 2)}, bytes(2)), "whole number of bytes"),
        "extra-field": Bad(
            raw_safetensors({"a": {**_t("U8", [8], 0, 8), "evil": "x"}}, bytes(8)),
            "unexpected field 'evil'",
            library_rejects=False,  # the library ignores unknown fields
        ),
        "missing-field": Bad(
            raw_safetensors({"a": {"dtype": "U8", "data_offsets": [0, 0]}}), "missing shape"
        ),
        "three-offsets": Bad(
            raw_safetensors({"a": {"dtype": "U8", "shape": [8], "data_offsets": [0, 8, 8]}}, bytes(8)), "two"
        ),
        "tensor-not-object": Bad(raw_safetensors({"a": 5}), "must be an object"),
        "metadata-not-object": Bad(
            raw_safetensors({"__metadata__": ["x"]}), "__metadata__ must be an object"
        ),
        "leading-whitespace": Bad(
            raw_safetensors(' {"a":{"dtype":"U8","shape":[8],"data_offsets":[0,8]}}', bytes(8)),
            "must start with '{'",
            library_rejects=False,  # the library skips leading JSON whitespace
        ),
        "top-level-array": Bad(raw_safetensors("[1,2]"), "must start with '{'"),
        "invalid-utf8": Bad(
            raw_safetensors(b'{"\xff":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}}'), "not valid UTF-8"
        ),
        "lone-surrogate-name": Bad(
            raw_safetensors('{"\\ud800":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}}'),
            "lone UTF-16 surrogate",
        ),
        "not-json": Bad(raw_safetensors('{"a":{"dtype":"U8",}}'), "not valid JSON"),
        "nul-padding": Bad(
            raw_safetensors(b'{"a":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}}\x00\x00'),
            "not valid JSON",
        ),
        "deep-nesting": Bad(
            raw_safetensors('{"a":' + "[" * 100_000 + "]" * 100_000 + "}"), "nested too deeply"
        ),
        "huge-integer-literal": Bad(
            raw_safetensors('{"a":{"dtype":"U8","shape":[' + "9" * 5000 + '],"data_offsets":[0,0]}}'),
            "digits",
        ),
        "negative-zero": Bad(
            raw_safetensors('{"a":{"dtype":"U8","shape":[-0],"data_offsets":[0,0]}}'), "non-negative"
        ),
    }


def trailing_payload_safetensors(payload: bytes = b"PK\x03\x04 smuggled payload") -> bytes:
    """A valid file with ``payload`` appended after the last tensor."""
    return raw_safetensors({"a": _t("F32", [2, 2], 0, 16)}, bytes(16) + payload)


def metadata_nonstring_safetensors() -> bytes:
    header = {"__metadata__": {"format": "pt", "step": 1000, "cfg": {"lr": 0.1}}, "a": _t("U8", [4], 0, 4)}
    return raw_safetensors(header, bytes(4))


# --------------------------------------------------------------------------------------------------
# GGUF


def gguf_benign(
    path: Path,
    *,
    template: str | None = BENIGN_TEMPLATE,
    named_templates: dict[str, str] | None = None,
    alignment: int | None = None,
    tensors: bool = True,
    all_types: bool = True,
) -> Path:
    """A GGUF written by ``gguf.GGUFWriter``: F32, F16 and Q8_0 tensors (quantized with
    ``gguf.quants.quantize``), a vocabulary, and (``all_types``) one key of every value type."""
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_name("warden-test")
    w.add_context_length(128)
    if alignment is not None:
        w.add_custom_alignment(alignment)
    if template is not None:
        w.add_chat_template(template)
    for name, text in (named_templates or {}).items():
        w.add_string(f"tokenizer.chat_template.{name}", text)
    w.add_token_list(["<s>", "</s>", "hello", "world", "▁the"])
    w.add_token_scores([0.0, 0.0, -1.5, -2.0, -0.5])
    if all_types:
        w.add_uint8("test.u8", 200)
        w.add_int8("test.i8", -5)
        w.add_uint16("test.u16", 60000)
        w.add_int16("test.i16", -30000)
        w.add_uint32("test.u32", 4_000_000_000)
        w.add_int32("test.i32", -2_000_000_000)
        w.add_float32("test.f32", 0.5)
        w.add_uint64("test.u64", 2**63 + 5)
        w.add_int64("test.i64", -(2**62))
        w.add_float64("test.f64", 1e300)
        w.add_bool("test.bool", True)
        w.add_array("test.arr_i32", [1, -2, 3])
        w.add_array("test.arr_f32", [0.25, 0.5])
        w.add_array("test.arr_bool", [True, False])
        w.add_array("test.arr_empty", [])
        w.add_string("test.long_string", "x" * 1000)
    if tensors:
        rng = np.random.default_rng(0)
        w.add_tensor("token_embd.weight", rng.standard_normal((5, 32)).astype(np.float32))
        w.add_tensor("output_norm.weight", np.ones(32, dtype=np.float16))
        x = rng.standard_normal((4, 64)).astype(np.float32)
        q = quantize(x, GGMLQuantizationType.Q8_0)
        w.add_tensor("blk.0.attn_q.weight", q, raw_shape=q.shape, raw_dtype=GGMLQuantizationType.Q8_0)
        w.add_tensor("blk.0.empty", np.zeros((0, 4), dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


def _gstr(s: str | bytes, length: int | None = None) -> bytes:
    raw = s.encode("utf-8") if isinstance(s, str) else s
    return struct.pack("<Q", len(raw) if length is None else length) + raw


_FMT = {
    GGUFValueType.UINT8: "<B", GGUFValueType.INT8: "<b", GGUFValueType.UINT16: "<H", GGUFValueType.INT16: "<h",
    GGUFValueType.UINT32: "<I", GGUFValueType.INT32: "<i", GGUFValueType.FLOAT32: "<f", GGUFValueType.BOOL: "<B",
    GGUFValueType.UINT64: "<Q", GGUFValueType.INT64: "<q", GGUFValueType.FLOAT64: "<d",
}  # fmt: skip


def gguf_value(vtype: int, value: Any) -> bytes:
    """The bytes of one value (no type tag). Arrays: ``value = (elem_type, items)``."""
    if vtype == GGUFValueType.STRING:
        return _gstr(value)
    if vtype == GGUFValueType.ARRAY:
        etype, items = value
        return struct.pack("<IQ", etype, len(items)) + b"".join(gguf_value(etype, v) for v in items)
    return struct.pack(_FMT[GGUFValueType(vtype)], value)


@dataclass
class GGUFBytes:
    """A GGUF built field by field. ``kv`` entries are ``(key, type, value)`` or raw ``bytes`` (the
    whole record, for lies); tensors are ``(name, dims, ggml_type, offset)`` with ``offset=None`` for
    the contiguous padded position (a ``bytes`` name is the raw length-prefixed string; an unknown
    type counts as 0 bytes); ``data`` is the data section (zeros of the right size if None)."""

    kv: list[tuple[str, int, Any] | bytes] = field(default_factory=list)
    tensors: list[tuple[str | bytes, Sequence[int], int, int | None]] = field(default_factory=list)
    alignment: int = 32
    version: int = 3
    n_tensors: int | None = None
    n_kv: int | None = None
    data: bytes | None = None
    tail: bytes = b""
    pad_header: bool = True

    def build(self) -> bytes:
        out = bytearray(b"GGUF" + struct.pack("<I", self.version))
        out += struct.pack("<QQ", len(self.tensors) if self.n_tensors is None else self.n_tensors,
                           len(self.kv) if self.n_kv is None else self.n_kv)  # fmt: skip
        for entry in self.kv:
            if isinstance(entry, bytes):
                out += entry
            else:
                key, vtype, value = entry
                out += _gstr(key) + struct.pack("<I", vtype) + gguf_value(vtype, value)
        running = 0
        for name, dims, gtype, offset in self.tensors:
            try:
                block, tsize = gguf.GGML_QUANT_SIZES[GGMLQuantizationType(gtype)]
            except (ValueError, KeyError):
                block, tsize = 1, 0
            n = 1
            for d in dims:
                n *= d
            nbytes = n // block * tsize
            out += name if isinstance(name, bytes) else _gstr(name)
            out += struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims)
            out += struct.pack("<IQ", gtype, running if offset is None else offset)
            running += -(-nbytes // self.alignment) * self.alignment
        if self.tensors and self.pad_header:
            out += bytes(-len(out) % self.alignment)
        if self.data is not None:
            out += self.data
        elif running <= 1 << 24:  # lying dims can make the "right size" absurd: then no data at all
            out += bytes(running)
        return bytes(out) + self.tail


def kv_record(key: str | bytes, vtype: int, payload: bytes) -> bytes:
    """A raw key/value record: key, type tag, then ``payload`` verbatim (for lies in the value)."""
    return _gstr(key) + struct.pack("<I", vtype) + payload


F32 = int(GGMLQuantizationType.F32)
F16 = int(GGMLQuantizationType.F16)
Q8_0 = int(GGMLQuantizationType.Q8_0)
STR = int(GGUFValueType.STRING)
ARR = int(GGUFValueType.ARRAY)
U32 = int(GGUFValueType.UINT32)
U64 = int(GGUFValueType.UINT64)
I32 = int(GGUFValueType.INT32)


def _base(**kw: Any) -> GGUFBytes:
    kv: list[tuple[str, int, Any] | bytes] = [("general.architecture", STR, "llama")]
    tensors: list[tuple[str | bytes, Sequence[int], int, int | None]] = [
        ("a", [8, 2], F32, None),
        ("b", [32], Q8_0, None),
    ]
    return GGUFBytes(kv=kw.pop("kv", kv), tensors=kw.pop("tensors", tensors), **kw)


def gguf_valid_raw() -> bytes:
    """The base of the malformed family, valid as is (a test checks it)."""
    return _base().build()


def malformed_gguf() -> dict[str, tuple[bytes, str]]:
    """name → (file, fragment of the error the parser must raise)."""
    arch = ("general.architecture", STR, "llama")
    cases: dict[str, tuple[bytes, str]] = {
        "bad-magic": (b"GGUG" + gguf_valid_raw()[4:], "bad magic"),
        "version-0": (_base(version=0).build(), "version 0"),
        "version-1": (_base(version=1).build(), "version 1"),
        "version-4": (_base(version=4).build(), "unsupported GGUF version 4"),
        "big-endian": (_base(version=3 << 24).build(), "big-endian"),
        "huge-tensor-count": (_base(n_tensors=2**62).build(), "tensor infos need at least"),
        "negative-tensor-count": (_base(n_tensors=2**64 - 1).build(), "negative"),
        "huge-kv-count": (_base(n_kv=2**40).build(), "key/values and"),
        "huge-key-length": (
            _base(kv=[_gstr("k", length=2**63) + b"\x08\x00\x00\x00"]).build(),
            "string length",
        ),
        "empty-key": (_base(kv=[kv_record("", U32, struct.pack("<I", 1))]).build(), "is empty"),
        "key-not-utf8": (
            _base(kv=[kv_record(b"\xff\xfe", U32, struct.pack("<I", 1))]).build(),
            "not valid UTF-8",
        ),
        "huge-string-length": (
            _base(kv=[arch, kv_record("general.name", STR, struct.pack("<Q", 2**40) + b"abc")]).build(),
            "exceeds the",
        ),
        "huge-array-count": (
            _base(kv=[arch, kv_record("x.arr", ARR, struct.pack("<IQ", I32, 2**61) + bytes(8))]).build(),
            "exceeds llama.cpp's maximum",
        ),
        "array-count-past-file": (
            _base(kv=[arch, kv_record("x.arr", ARR, struct.pack("<IQ", I32, 10_000) + bytes(8))]).build(),
            "need at least 40000 bytes",
        ),
        "string-array-count-past-file": (
            _base(kv=[arch, kv_record("x.arr", ARR, struct.pack("<IQ", STR, 100_000))]).build(),
            "need at least 800000 bytes",
        ),
        "string-in-array-too-long": (
            _base(
                kv=[
                    arch,
                    kv_record(
                        "x.arr", ARR, struct.pack("<IQ", STR, 20) + _gstr("ok") * 19 + _gstr("x", 2**40)
                    ),
                ]
            ).build(),
            "x.arr[19]",
        ),
        "nested-array": (
            _base(
                kv=[arch, kv_record("x.arr", ARR, struct.pack("<IQ", ARR, 1) + struct.pack("<IQ", I32, 0))]
            ).build(),
            "nested array",
        ),
        "invalid-value-type": (
            _base(kv=[arch, kv_record("x.bad", 13, b"\x00" * 8)]).build(),
            "invalid value type 13",
        ),
        "invalid-array-type": (
            _base(kv=[arch, kv_record("x.bad", ARR, struct.pack("<IQ", 99, 1))]).build(),
            "element type 99",
        ),
        "alignment-zero": (_base(kv=[arch, ("general.alignment", U32, 0)]).build(), "power of two"),
        "alignment-not-power-of-two": (
            _base(kv=[arch, ("general.alignment", U32, 48)], alignment=48).build(),
            "power of two",
        ),
        "alignment-wrong-type": (_base(kv=[arch, ("general.alignment", U64, 32)]).build(), "must be uint32"),
        "template-wrong-type": (
            _base(kv=[arch, ("tokenizer.chat_template", ARR, (STR, ["{{ x }}"]))]).build(),
            "must be a string",
        ),
        "n-dims-5": (_base(tensors=[("a", [1, 1, 1, 1, 8], F32, 0)]).build(), "5 dimensions"),
        "negative-dim": (_base(tensors=[("a", [2**63 + 1], F32, 0)]).build(), "negative"),
        "element-count-overflow": (
            _base(tensors=[("a", [2**32, 2**32], F32, 0)]).build(),
            "not representable in int64",
        ),
        "removed-ggml-type-4": (_base(tensors=[("a", [8], 4, 0)]).build(), "unknown ggml type 4"),
        "ggml-type-999": (_base(tensors=[("a", [8], 999, 0)]).build(), "unknown ggml type 999"),
        "row-not-multiple-of-block": (
            _base(tensors=[("a", [33, 2], Q8_0, 0)], data=bytes(128)).build(),
            "not a multiple of the block size 32",
        ),
        "misaligned-offset": (
            _base(tensors=[("a", [8], F32, 4)], data=bytes(64)).build(),
            "not a multiple of the alignment",
        ),
        "offset-past-file": (
            _base(tensors=[("a", [8], F32, 2**40)]).build(),
            "extends past the end of the file",
        ),
        "data-truncated": (
            _base(tensors=[("a", [1024], F32, None)], data=bytes(100)).build(),
            "extends past the end of the file",
        ),
        "duplicate-tensor-name": (
            _base(tensors=[("a", [8], F32, None), ("a", [8], F32, None)]).build(),
            "duplicate tensor name",
        ),
        "tensor-name-length-lies": (
            _base(tensors=[(_gstr("a", 2**50), [8], F32, None)]).build(),
            "string length",
        ),
        "data-start-past-file": (
            _base(
                kv=[arch, ("general.alignment", U32, 2**20)],
                tensors=[("a", [0], F32, None)],
                pad_header=False,
            ).build(),
            "data section would start at",
        ),
    }
    return cases


def gguf_duplicate_key() -> bytes:
    return _base(
        kv=[("general.architecture", STR, "llama"), ("general.name", STR, "a"), ("general.name", STR, "b")]
    ).build()


def gguf_duplicate_template(canary: Path | str) -> bytes:
    """The first chat template is benign, the second (which some readers keep) is the exploit."""
    kv = [
        ("general.architecture", STR, "llama"),
        ("tokenizer.chat_template", STR, BENIGN_TEMPLATE),
        ("tokenizer.chat_template", STR, malicious_template(canary)),
    ]
    return _base(kv=kv).build()


def gguf_with_template(template: str, key: str = "tokenizer.chat_template") -> bytes:
    return _base(kv=[("general.architecture", STR, "llama"), (key, STR, template)]).build()


def gguf_overlap() -> bytes:
    """Two tensors pointing at the same bytes (aligned, in bounds)."""
    return _base(tensors=[("a", [8], F32, 0), ("b", [8], F32, 0)], data=bytes(32)).build()


def gguf_gap() -> bytes:
    """A 64-byte hole between two tensors: bytes no tensor owns."""
    return _base(tensors=[("a", [8], F32, 0), ("b", [8], F32, 96)], data=bytes(128)).build()


def gguf_out_of_order() -> bytes:
    """Contiguous but listed in the wrong order (llama.cpp requires the running padded sum)."""
    return _base(tensors=[("a", [8], F32, 32), ("b", [8], F32, 0)], data=bytes(64)).build()


def gguf_trailing(payload: bytes = b"PK\x03\x04 smuggled payload") -> bytes:
    return _base(tail=payload).build()
