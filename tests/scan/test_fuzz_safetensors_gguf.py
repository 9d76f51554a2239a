"""Hypothesis fuzzing of the safetensors and GGUF parsers on mutated valid files.

Mutations: bit flips, truncations, insertions/deletions, 8/4-byte overwrites with boundary values at
random places and at the real field offsets, and (safetensors) structural edits of the JSON header.
Properties: only ``FormatError`` (``LimitExceeded`` included) or a result comes out; bounded memory
(tracemalloc peak) and time; the scanning core yields findings and never SCAN-INTERNAL-ERROR; and
the parsers agree with the reference libraries: what we accept cleanly, they load the same way.
"""

from __future__ import annotations

import atexit
import functools
import io
import json
import shutil
import struct
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import gguf
import safetensors
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.samples import tensors as S
from warden.errors import FormatError
from warden.formats.gguf import GGUFInfo, GGUFScanner, parse_gguf
from warden.formats.interface import Limits
from warden.formats.safetensors import (
    DTYPE_BITS,
    SafetensorsHeader,
    SafetensorsScanner,
    parse_safetensors_header,
)
from warden.report.model import Finding
from warden.scan.core import Scanner

FUZZ = settings(
    max_examples=200,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
MAX_PEAK_BYTES = 32 * 2**20  # inputs are a few KB: anything near this means an unchecked allocation
MAX_SECONDS = 10.0  # a hang guard, generous for a shared 2-core machine
LIMITS = Limits(max_gguf_array=2**20, max_gguf_string=2**20, max_gguf_kv=10_000, max_gguf_tensors=10_000)
BOUNDARY = [
    0,
    1,
    7,
    8,
    31,
    32,
    255,
    2**16,
    2**31 - 1,
    2**31,
    2**32 - 1,
    2**32,
    2**62,
    2**63 - 1,
    2**63,
    2**64 - 1,
]
# Where we refuse on purpose what the safetensors library accepts (documented in the module).
STRICTER = ("duplicate key", "unexpected field", "must start with '{'")


@functools.cache
def _workdir() -> Path:
    path = Path(tempfile.mkdtemp(prefix="warden-fuzz-"))
    atexit.register(shutil.rmtree, path, True)
    return path


@functools.cache
def st_bases() -> tuple[bytes, ...]:
    d = _workdir()
    names = ["numpy-basic", "with-metadata", "empty-tensor", "scalar", "bf16", "fp8-fp4", "torch-mixed"]
    return tuple(S.BENIGN_SAFETENSORS[n](d / f"{n}.safetensors").read_bytes() for n in names)


@functools.cache
def gguf_bases() -> tuple[bytes, ...]:
    d = _workdir()
    full = S.gguf_benign(d / "full.gguf").read_bytes()
    minimal = S.gguf_benign(d / "min.gguf", template=None, all_types=False).read_bytes()
    return full, minimal, S.gguf_valid_raw()


@functools.cache
def gguf_fields(base: bytes) -> tuple[int, ...]:
    """Offsets of the real fields of a valid GGUF: counts, key lengths, type tags, value lengths,
    array counts, tensor name lengths, n_dims, dims, types and offsets."""
    info = parse_gguf(io.BytesIO(base), len(base))
    out = [4, 8, 16]
    for kv in info.kv:
        out += [kv.offset, kv.value_offset - 4, kv.value_offset]
        if kv.type.startswith("array"):
            out += [kv.value_offset + 4]
    for t in info.tensors:
        name_end = t.info_offset + 8 + len(t.name.encode())
        out += [t.info_offset, name_end] + [name_end + 4 + 8 * j for j in range(len(t.dims))]
        out += [name_end + 4 + 8 * len(t.dims), name_end + 8 + 8 * len(t.dims)]
    return tuple(sorted(set(out)))


def _overwrite(data: bytearray, pos: int, value: int, width: int) -> None:
    raw = (value % 2 ** (8 * width)).to_bytes(width, "little")
    data[pos : pos + width] = raw[: max(0, len(data) - pos)]


@st.composite
def byte_mutations(draw: st.DrawFn, base: bytes, fields: tuple[int, ...] = (), keep: int = 0) -> bytes:
    """Mutate ``base`` (its first ``keep`` bytes, a magic that unit tests cover, are left alone)."""
    data = bytearray(base)
    rnd = draw(st.randoms(use_true_random=False))
    for _ in range(draw(st.integers(1, 4))):
        if len(data) <= keep:
            break
        kind = draw(st.sampled_from(["flip", "int", "field", "truncate", "insert", "delete", "byte"]))
        # hypothesis favours small numbers (the first fields): spread half of the positions evenly
        if draw(st.booleans()):
            pos = keep + rnd.randrange(len(data) - keep)
        else:
            pos = draw(st.integers(keep, len(data) - 1))
        if kind == "flip":
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif kind == "byte":
            data[pos] = draw(st.integers(0, 255))
        elif kind in ("int", "field"):
            if kind == "field" and fields:
                pos = draw(st.sampled_from([f for f in fields if keep <= f < len(data)] or [pos]))
            value = draw(
                st.one_of(st.sampled_from(BOUNDARY + [len(data), len(data) - pos]), st.integers(0, 2**64 - 1))
            )
            _overwrite(data, pos, value, draw(st.sampled_from([1, 4, 8])))
        elif kind == "truncate":
            del data[pos:]
        elif kind == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=16))
        else:
            del data[pos : pos + draw(st.integers(1, 16))]
    return bytes(data)


def _json_value() -> st.SearchStrategy[Any]:
    scalars = st.one_of(
        st.none(), st.booleans(), st.sampled_from(BOUNDARY), st.integers(-5, 100), st.floats(allow_nan=False),
        st.text(max_size=8), st.sampled_from(sorted(DTYPE_BITS) + ["F128", "u8", ""]),
    )  # fmt: skip
    return st.recursive(scalars, lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=6), c, max_size=3),
                        max_leaves=8)  # fmt: skip


@st.composite
def header_mutations(draw: st.DrawFn) -> bytes:
    """Structural edits of a real header: change, drop or add fields, tensors and metadata."""
    base = draw(st.sampled_from(st_bases()))
    (n,) = struct.unpack("<Q", base[:8])
    header: dict[str, Any] = json.loads(base[8 : 8 + n])
    data = base[8 + n :]
    names = sorted(header)
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["field", "drop-field", "add-field", "drop-tensor", "add-tensor", "metadata",
                                     "offsets", "data"]))  # fmt: skip
        name = draw(st.sampled_from(names))
        entry = header.get(name)
        if kind == "field" and isinstance(entry, dict) and entry:
            entry[draw(st.sampled_from(sorted(entry)))] = draw(_json_value())
        elif kind == "drop-field" and isinstance(entry, dict) and entry:
            del entry[draw(st.sampled_from(sorted(entry)))]
        elif kind == "add-field" and isinstance(entry, dict):
            entry[draw(st.text(max_size=6))] = draw(_json_value())
        elif kind == "drop-tensor":
            header.pop(name, None)
        elif kind == "add-tensor":
            header[draw(st.text(max_size=6))] = draw(_json_value())
        elif kind == "metadata":
            header["__metadata__"] = draw(
                st.dictionaries(st.text(max_size=5), _json_value(), max_size=3) | _json_value()
            )
        elif kind == "offsets" and isinstance(entry, dict):
            a, b = draw(st.integers(0, len(data) + 8)), draw(st.integers(0, len(data) + 8))
            entry["data_offsets"] = [a, b]
        elif kind == "data":
            data = data[: draw(st.integers(0, len(data)))] + draw(st.binary(max_size=16))
    text = json.dumps(header, separators=(",", ":"), allow_nan=True).encode()
    text += b" " * draw(st.integers(0, 7))
    return struct.pack("<Q", len(text)) + text + data


def _outcome(result: Any, library_ok: bool | None = None) -> None:
    """Label the example (see ``--hypothesis-show-statistics``): how deep did the mutation get?"""
    if isinstance(result, FormatError):
        words = [w for w in result.message.split() if not any(c.isdigit() or c in "'[" for c in w)]
        label = f"refused: {type(result).__name__}: " + " ".join(words[:4])
    else:
        label = "accepted"
    if library_ok is not None:
        label += f" / library {'loads' if library_ok else 'refuses'}"
    event(label)


def _bounded(fn: Any, data: bytes) -> Any:
    """Run a parser on ``data``: return its result or the FormatError; anything else propagates.
    Assert bounded memory and time."""
    tracemalloc.start()
    start = time.perf_counter()
    try:
        return fn(io.BytesIO(data), len(data), LIMITS)
    except FormatError as exc:
        assert exc.offset is None or 0 <= exc.offset <= max(len(data), 2**64), exc
        assert exc.message
        return exc
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        elapsed = time.perf_counter() - start
        assert peak < MAX_PEAK_BYTES, f"peak {peak} bytes on a {len(data)}-byte input"
        assert elapsed < MAX_SECONDS, f"{elapsed:.1f} s on a {len(data)}-byte input"


def _core_scan(data: bytes, name: str, scanner: Any) -> list[Finding]:
    path = _workdir() / name
    path.write_bytes(data)
    core = Scanner([scanner], LIMITS)
    findings = list(core.scan_file(path, name, _workdir()))
    assert all(isinstance(f, Finding) for f in findings)
    assert not [f for f in findings if f.rule_id == "SCAN-INTERNAL-ERROR"], [f.evidence for f in findings]
    return findings


# -- safetensors ------------------------------------------------------------------------------------


def _check_safetensors(data: bytes) -> None:
    ours = _bounded(parse_safetensors_header, data)
    try:
        library = dict(safetensors.deserialize(data))
    except safetensors.SafetensorError:
        library = None
    _outcome(ours, library is not None)
    if isinstance(ours, SafetensorsHeader) and not ours.trailing_bytes and not ours.nonstring_metadata:
        assert library is not None, "we accepted a file the safetensors library refuses"
        assert {(t.name, t.dtype, t.shape) for t in ours.tensors} == {
            (k, v["dtype"], tuple(v["shape"])) for k, v in library.items()
        }
        for t in ours.tensors:
            assert data[t.start : t.end] == bytes(library[t.name]["data"])
    if library is not None and isinstance(ours, FormatError):
        assert any(s in ours.message for s in STRICTER), f"the library loads it but we said: {ours.message}"
    _core_scan(data, "fuzz.safetensors", SafetensorsScanner())


@FUZZ
@given(st.sampled_from(range(7)).flatmap(lambda i: byte_mutations(st_bases()[i])))
def test_fuzz_safetensors_bytes(data: bytes) -> None:
    _check_safetensors(data)


@FUZZ
@given(header_mutations())
def test_fuzz_safetensors_header_structure(data: bytes) -> None:
    _check_safetensors(data)


# -- GGUF -------------------------------------------------------------------------------------------


def _clean(info: GGUFInfo) -> bool:
    return not (
        info.duplicate_keys
        or info.overlap_count
        or info.gap_count
        or info.out_of_order
        or info.trailing_bytes
    )


def _check_gguf(data: bytes) -> None:
    ours = _bounded(parse_gguf, data)
    _outcome(ours)
    if isinstance(ours, GGUFInfo) and _clean(ours):
        path = _workdir() / "reader.gguf"
        path.write_bytes(data)
        reader = gguf.GGUFReader(path)  # what we accept cleanly, the reference reader loads identically
        assert [(t.name, t.ggml_type, t.dims, t.start, t.nbytes) for t in ours.tensors] == [
            (t.name, int(t.tensor_type), tuple(int(d) for d in t.shape), t.data_offset, int(t.n_bytes))
            for t in reader.tensors
        ]
        assert [kv.key for kv in ours.kv] == [k for k in reader.fields if not k.startswith("GGUF.")]
    _core_scan(data, "fuzz.gguf", GGUFScanner())


@FUZZ
@given(
    st.sampled_from(range(3)).flatmap(
        lambda i: byte_mutations(gguf_bases()[i], gguf_fields(gguf_bases()[i]), keep=4)
    )
)
def test_fuzz_gguf(data: bytes) -> None:
    _check_gguf(data)


@FUZZ
@given(
    st.sampled_from(range(3)).flatmap(
        lambda i: st.integers(0, len(gguf_bases()[i])).map(lambda n, i=i: gguf_bases()[i][:n])
    )
)
def test_fuzz_gguf_truncation(data: bytes) -> None:
    _check_gguf(data)
