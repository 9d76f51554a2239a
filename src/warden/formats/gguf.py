"""GGUF: header validation as a reusable parser, plus its ``FormatScanner``.

A GGUF file is ``"GGUF"``, a u32 version, u64 tensor and key/value counts, the key/values (typed
scalars, length-prefixed strings, typed arrays), one info record per tensor (name, dims, ggml type,
offset into the data section), padding to ``general.alignment`` and the data section.
``parse_gguf`` follows the checks of llama.cpp's own reader (``gguf_init_from_file_impl`` /
``gguf_init_from_reader`` in ggml/src/gguf.cpp): magic; version (0, 1, byte-swapped and future
versions refused); counts that the remaining bytes can hold; every string length and array count
against the remaining bytes (and llama.cpp's 1 GiB / 2^30 caps, then our ``Limits``); valid value
types with nested arrays refused; duplicate keys; ``general.alignment`` a non-zero power-of-two u32;
at most 4 dims, each non-negative, element count and byte size without overflow; known ggml type,
``ne[0]`` a multiple of its block size; offsets aligned and inside the file; the offset of every tensor
equal to the padded running sum (llama.cpp's contiguity rule). It reads headers only: values are
previewed and skipped, never materialised in full (chat templates excepted, capped), and tensor
data is never read.

Why hand-written and not ``gguf.GGUFReader`` (gguf 0.19): measured on byte-edited copies of a file
written by ``GGUFWriter``, the reader trusts lengths and offsets. A string length past the end of
the file or a tensor count of 2^62 gives ``IndexError: index 0 is out of bounds``; a truncated file
``ValueError: When changing to a larger dtype...``; a nested array *hangs* (killed after 5 s); a
misaligned tensor offset and two tensors at the same offset load without complaint (llama.cpp refuses
both). Failures are bare ``IndexError``/``ValueError``/``KeyError`` from numpy slicing, with no offset
and no reason a user could act on. The ggml type table (block size, bytes per block) does come from
the ``gguf`` package, so new types follow the library.
"""

from __future__ import annotations

import dataclasses
import struct
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO

from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType, GGUFValueType

from warden.errors import FormatError, LimitExceeded
from warden.formats.interface import FormatScanner, Limits, ScanContext
from warden.formats.safetensors import scan_trailing
from warden.report.model import Finding, Location, Severity
from warden.rules import rule

__all__ = [
    "GGUFInfo",
    "GGUFKV",
    "GGUFScanner",
    "GGUFTemplate",
    "GGUFTensorInfo",
    "parse_gguf",
]

MAGIC = b"GGUF"
SUPPORTED_VERSIONS = (2, 3)
DEFAULT_ALIGNMENT = 32
MAX_DIMS = 4  # GGML_MAX_DIMS
LLAMA_MAX_STRING = 1024 * 1024 * 1024  # GGUF_MAX_STRING_LENGTH in gguf.cpp
LLAMA_MAX_ARRAY = 1024 * 1024 * 1024  # GGUF_MAX_ARRAY_ELEMENTS in gguf.cpp
_INT64_MAX = 2**63 - 1
_SIZE_MAX = 2**64 - 1
# Smallest possible records, for the "do the counts fit in the file" check: a key/value is a u64
# length, a non-empty key, a u32 type and at least one value byte; a tensor info a u64 name length,
# u32 n_dims, u32 type and u64 offset.
_MIN_KV_BYTES = 8 + 1 + 4 + 1
_MIN_TENSOR_INFO_BYTES = 8 + 4 + 4 + 8
PREVIEW_BYTES = 256  # of a string value
PREVIEW_ITEMS = 16  # of an array
PREVIEW_ITEM_BYTES = 64  # of each string in an array preview
TEMPLATE_KEY = "tokenizer.chat_template"

# value type → (struct format, size); STRING and ARRAY are variable-sized.
_SCALARS: Mapping[int, tuple[str, int]] = {
    GGUFValueType.UINT8: ("<B", 1),
    GGUFValueType.INT8: ("<b", 1),
    GGUFValueType.UINT16: ("<H", 2),
    GGUFValueType.INT16: ("<h", 2),
    GGUFValueType.UINT32: ("<I", 4),
    GGUFValueType.INT32: ("<i", 4),
    GGUFValueType.FLOAT32: ("<f", 4),
    GGUFValueType.BOOL: ("<B", 1),
    GGUFValueType.UINT64: ("<Q", 8),
    GGUFValueType.INT64: ("<q", 8),
    GGUFValueType.FLOAT64: ("<d", 8),
}
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")

MALFORMED = rule(
    "GGUF-MALFORMED",
    Severity.HIGH,
    "Malformed GGUF file",
    "The GGUF header fails the checks llama.cpp applies when loading: bad magic or version, counts or "
    "string/array lengths larger than the file, invalid types, nested arrays, bad alignment, invalid "
    "tensor dimensions or types, misaligned or out-of-bounds tensor data. Crafted headers like these "
    "have triggered memory-safety bugs in GGUF loaders.",
    "Do not load the file. Re-download or re-convert the model from a trusted source.",
)
DUPLICATE_KEY = rule(
    "GGUF-DUPLICATE-KEY",
    Severity.HIGH,
    "Duplicate metadata key in GGUF file",
    "A metadata key appears more than once. llama.cpp refuses the file, other readers keep the first "
    "or the last copy: a parser differential that lets one tool see a different chat template or "
    "configuration from the one that runs.",
    "Do not load the file; no legitimate GGUF writer emits duplicate keys.",
)
TENSOR_OVERLAP = rule(
    "GGUF-TENSOR-OVERLAP",
    Severity.HIGH,
    "GGUF tensors share bytes",
    "Two tensors' data ranges overlap. llama.cpp refuses such files; lenient readers load both views of "
    "the same bytes, which no converter produces.",
    "Do not load the file. Re-convert the model from a trusted source.",
)
TENSOR_LAYOUT = rule(
    "GGUF-TENSOR-LAYOUT",
    Severity.MEDIUM,
    "GGUF tensor data not laid out contiguously",
    "Tensor offsets are aligned and in bounds but not the contiguous, in-order layout every GGUF writer "
    "produces and llama.cpp requires: gaps between tensors can hide data, and llama.cpp refuses the file.",
    "Re-convert the model with llama.cpp's tools from a trusted source.",
)
TRAILING_DATA = rule(
    "GGUF-TRAILING-DATA",
    Severity.MEDIUM,
    "Data after the end of the GGUF tensor data",
    "The file continues past the (padded) end of the last tensor. No tensor refers to these bytes and "
    "llama.cpp ignores them: a place to smuggle a payload inside a file that looks like weights.",
    "Find out what the extra bytes are; re-convert the model from a trusted source.",
)
SUMMARY = rule(
    "GGUF-SUMMARY",
    Severity.INFO,
    "GGUF header validated",
    "The header parsed and every check passed; evidence lists version, architecture, counts and tensor "
    "types.",
    "None needed.",
)


@dataclass(frozen=True)
class GGUFKV:
    """One metadata key/value. ``value`` is the scalar, a string preview (first ``PREVIEW_BYTES``
    bytes, decoded with replacement) or a tuple previewing an array's first elements; ``truncated``
    says the preview is shorter than the value. ``count`` is the array length (1 otherwise),
    ``nbytes`` the value's size in the file. Offsets are absolute."""

    key: str
    type: str  # "uint32", "string", "array[string]", ...
    offset: int
    value_offset: int
    nbytes: int
    value: Any
    count: int = 1
    truncated: bool = False


@dataclass(frozen=True)
class GGUFTensorInfo:
    """One tensor. ``dims`` are in ggml order (``ne[0]`` first, fastest-varying); ``shape`` is the
    numpy/PyTorch order. ``offset`` is relative to the data section, ``start`` absolute in the file."""

    name: str
    dims: tuple[int, ...]
    ggml_type: int
    type_name: str
    offset: int
    start: int
    nbytes: int
    info_offset: int

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(reversed(self.dims))

    @property
    def end(self) -> int:
        return self.start + self.nbytes

    @property
    def numel(self) -> int:
        n = 1
        for d in self.dims:
            n *= d
        return n


@dataclass(frozen=True)
class GGUFTemplate:
    """A chat template carried in the metadata, in full (it is Jinja that servers render)."""

    key: str
    text: str
    offset: int  # of the string value


@dataclass(frozen=True)
class GGUFInfo:
    """What the header says, plus the anomalies that do not stop parsing (each becomes a finding).
    ``kv`` is in file order and keeps duplicates; ``metadata`` maps each key to its first value."""

    version: int
    alignment: int
    data_start: int
    data_end: int  # absolute end of the padded tensor data (or of the padded header), capped at file size
    file_size: int
    kv: tuple[GGUFKV, ...]
    tensors: tuple[GGUFTensorInfo, ...]
    templates: tuple[GGUFTemplate, ...] = ()
    duplicate_keys: tuple[tuple[str, int, int], ...] = ()  # key, first offset, duplicate offset
    overlaps: tuple[tuple[str, str, int, int], ...] = ()  # tensor a, tensor b, overlap start, end (abs)
    overlap_count: int = 0
    gaps: tuple[tuple[int, int], ...] = ()  # absolute start, length of bytes no tensor covers
    gap_count: int = 0
    out_of_order: tuple[str, int, int] | None = None  # first tensor not at the running padded sum
    trailing_bytes: int = 0

    @property
    def metadata(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for kv in self.kv:
            out.setdefault(kv.key, kv.value)
        return out

    def get(self, key: str) -> GGUFKV | None:
        for kv in self.kv:
            if kv.key == key:
                return kv
        return None


def _type_name(vtype: int) -> str:
    return GGUFValueType(vtype).name.lower()


def _pad(x: int, n: int) -> int:
    return (x + n - 1) // n * n


def _q(name: str, limit: int = 80) -> str:
    return repr(name[:limit] + ("…" if len(name) > limit else ""))


class _Reader:
    """Bounded, buffered sequential reader: every read is checked against the bytes that remain
    before anything is allocated, and reports the absolute offset of a failure."""

    CHUNK = 1 << 16

    def __init__(self, stream: BinaryIO, size: int) -> None:
        self.stream = stream
        self.size = size
        self.pos = 0
        self._buf = b""
        self._buf_start = 0

    @property
    def remaining(self) -> int:
        return self.size - self.pos

    def need(self, n: int, what: str) -> None:
        if n > self.remaining:
            raise FormatError(
                f"{what} needs {n} bytes at offset {self.pos} but only {self.remaining} remain (truncated?)",
                offset=self.pos,
            )

    def _fill(self, n: int, what: str) -> int:
        """Make ``n`` bytes at ``pos`` available in the buffer; return their index in it."""
        off = self.pos - self._buf_start
        if 0 <= off and off + n <= len(self._buf):
            return off
        self.need(n, what)
        self.stream.seek(self.pos)
        self._buf = self.stream.read(max(n, min(self.CHUNK, self.remaining)))
        self._buf_start = self.pos
        if len(self._buf) < n:
            raise FormatError(
                f"unexpected end of stream reading {what} at offset {self.pos}", offset=self.pos
            )
        return 0

    def read(self, n: int, what: str) -> bytes:
        off = self._fill(n, what)
        self.pos += n
        return self._buf[off : off + n]

    def skip(self, n: int, what: str) -> None:
        self.need(n, what)
        self.pos += n

    def unpack(self, fmt: str, size: int, what: str) -> Any:
        off = self._fill(size, what)
        self.pos += size
        return struct.unpack_from(fmt, self._buf, off)[0]

    def u32(self, what: str) -> int:
        return int(self.unpack("<I", 4, what))

    def u64(self, what: str) -> int:
        return int(self.unpack("<Q", 8, what))

    def i64(self, what: str) -> int:
        return int(self.unpack("<q", 8, what))

    def string_length(self, what: str, limits: Limits) -> int:
        at = self.pos
        n = self.u64(f"length of {what}")
        if n > self.remaining:
            raise FormatError(
                f"{what}: string length {n} exceeds the {self.remaining} bytes remaining in the file",
                offset=at,
            )
        if n > LLAMA_MAX_STRING:
            raise FormatError(
                f"{what}: string length {n} exceeds llama.cpp's maximum of {LLAMA_MAX_STRING}", offset=at
            )
        if n > limits.max_gguf_string:
            raise LimitExceeded(
                f"{what}: string length {n} exceeds the limit max_gguf_string={limits.max_gguf_string}",
                offset=at,
            )
        return n

    def skip_strings(self, first: int, count: int, what: str, limits: Limits) -> None:
        """Walk elements ``first`` to ``count - 1`` of a string array without keeping them
        (vocabularies run to 256k strings, so this loop works on the buffer directly)."""
        cap = min(LLAMA_MAX_STRING, limits.max_gguf_string)
        done = first
        while done < count:
            off = self._fill(8, f"length of {what}[{done}]")
            buf, base = self._buf, self._buf_start
            while done < count and off + 8 <= len(buf):
                (n,) = _U64.unpack_from(buf, off)
                end = base + off + 8 + n
                if end > self.size or n > cap:
                    self.pos = base + off
                    self.string_length(f"{what}[{done}]", limits)  # raises with the precise reason
                    raise AssertionError("unreachable")  # pragma: no cover
                off += 8 + n
                done += 1
            self.pos = base + off


def parse_gguf(stream: BinaryIO, size: int, limits: Limits | None = None) -> GGUFInfo:
    """Parse and validate a GGUF header (never the tensor data). Raises ``FormatError`` (or
    ``LimitExceeded``) naming the problem and its offset."""
    limits = limits or Limits()
    r = _Reader(stream, size)
    magic = r.read(4, "magic") if size >= 4 else b""
    if magic != MAGIC:
        raise FormatError(f"bad magic {magic!r}, expected b'GGUF'", offset=0)
    version = r.u32("version")
    if version == 0:
        raise FormatError("bad GGUF version 0", offset=4)
    if version & 0xFFFF == 0:
        raise FormatError(
            f"GGUF version {version:#x} is byte-swapped: big-endian files are not supported", offset=4
        )
    if version == 1:
        raise FormatError("GGUF version 1 is no longer supported by llama.cpp", offset=4)
    if version not in SUPPORTED_VERSIONS:
        raise FormatError(f"unsupported GGUF version {version} (supported: 2, 3)", offset=4)
    n_tensors = r.i64("tensor count")
    n_kv = r.i64("key/value count")
    if n_tensors < 0:
        raise FormatError(f"tensor count {n_tensors} is negative", offset=8)
    if n_kv < 0:
        raise FormatError(f"key/value count {n_kv} is negative", offset=16)
    least = n_kv * _MIN_KV_BYTES + n_tensors * _MIN_TENSOR_INFO_BYTES
    if least > r.remaining:
        raise FormatError(
            f"{n_kv} key/values and {n_tensors} tensor infos need at least {least} bytes but only {r.remaining} remain",
            offset=8,
        )
    if n_kv > limits.max_gguf_kv:
        raise LimitExceeded(f"{n_kv} key/values exceed the limit max_gguf_kv={limits.max_gguf_kv}", offset=16)
    if n_tensors > limits.max_gguf_tensors:
        raise LimitExceeded(
            f"{n_tensors} tensors exceed the limit max_gguf_tensors={limits.max_gguf_tensors}", offset=8
        )

    kvs: list[GGUFKV] = []
    first_at: dict[str, int] = {}
    duplicates: list[tuple[str, int, int]] = []
    templates: list[GGUFTemplate] = []
    for i in range(n_kv):
        kv, template = _read_kv(r, i, limits)
        if kv.key in first_at:
            duplicates.append((kv.key, first_at[kv.key], kv.offset))
        else:
            first_at[kv.key] = kv.offset
        kvs.append(kv)
        if template is not None:
            templates.append(template)

    alignment = DEFAULT_ALIGNMENT
    align_kv = next((kv for kv in kvs if kv.key == "general.alignment"), None)
    if align_kv is not None:
        if align_kv.type != "uint32":
            raise FormatError(
                f"general.alignment must be uint32, found {align_kv.type}", offset=align_kv.offset
            )
        alignment = int(align_kv.value)
        if alignment == 0 or alignment & (alignment - 1):
            raise FormatError(
                f"general.alignment {alignment} is not a non-zero power of two", offset=align_kv.value_offset
            )

    infos = [_read_tensor_info(r, i, limits) for i in range(n_tensors)]
    seen: dict[str, int] = {}
    for name, *_rest, info_at in infos:
        if name in seen:
            raise FormatError(
                f"duplicate tensor name {_q(name)} (tensor infos at offsets {seen[name]} and {info_at})",
                offset=info_at,
            )
        seen[name] = info_at

    header_end = r.pos
    data_start = _pad(header_end, alignment) if n_tensors else header_end
    if data_start > size:
        raise FormatError(
            f"data section would start at {data_start}, past the end of the file ({size} bytes)",
            offset=header_end,
        )

    tensors: list[GGUFTensorInfo] = []
    for name, dims, gtype, nbytes, offset, info_at in infos:
        if offset % alignment:
            raise FormatError(
                f"tensor {_q(name)} offset {offset} is not a multiple of the alignment {alignment}",
                offset=info_at,
            )
        start = data_start + offset
        if start + nbytes > size:
            raise FormatError(
                f"tensor {_q(name)} data [{start}, {start + nbytes}) extends past the end of the file ({size} bytes)",
                offset=info_at,
            )
        tensors.append(
            GGUFTensorInfo(
                name=name,
                dims=dims,
                ggml_type=gtype,
                type_name=GGMLQuantizationType(gtype).name,
                offset=offset,
                start=start,
                nbytes=nbytes,
                info_offset=info_at,
            )
        )

    layout = _layout(tensors, alignment, data_start)
    # Writers pad after the last tensor (and after the header when there is none): bytes past the
    # padded end belong to nothing.
    allowed_end = data_start + layout["padded_end"] if tensors else _pad(header_end, alignment)
    return GGUFInfo(
        version=version,
        alignment=alignment,
        data_start=data_start,
        data_end=min(allowed_end, size),
        file_size=size,
        kv=tuple(kvs),
        tensors=tuple(tensors),
        templates=tuple(templates),
        duplicate_keys=tuple(duplicates),
        overlaps=tuple(layout["overlaps"][:20]),
        overlap_count=len(layout["overlaps"]),
        gaps=tuple(layout["gaps"][:20]),
        gap_count=len(layout["gaps"]),
        out_of_order=layout["out_of_order"],
        trailing_bytes=max(0, size - allowed_end),
    )


def _read_kv(r: _Reader, i: int, limits: Limits) -> tuple[GGUFKV, GGUFTemplate | None]:
    at = r.pos
    klen = r.string_length(f"key {i}", limits)
    raw_key = r.read(klen, f"key {i}")
    if not raw_key:
        raise FormatError(f"key {i} is empty", offset=at)
    try:
        key = raw_key.decode("utf-8")
    except UnicodeDecodeError:
        raise FormatError(f"key {i} is not valid UTF-8: {raw_key[:64]!r}", offset=at + 8) from None
    type_at = r.pos
    vtype = r.u32(f"value type of {_q(key)}")
    if vtype not in _SCALARS and vtype not in (GGUFValueType.STRING, GGUFValueType.ARRAY):
        raise FormatError(f"key {_q(key)} has invalid value type {vtype}", offset=type_at)
    is_template = key == TEMPLATE_KEY or key.startswith(TEMPLATE_KEY + ".")
    if is_template and vtype != GGUFValueType.STRING:
        raise FormatError(
            f"key {_q(key)} must be a string (llama.cpp aborts on any other type), found {_type_name(vtype)}",
            offset=type_at,
        )
    value_at = r.pos
    if vtype == GGUFValueType.STRING:
        n = r.string_length(f"value of {_q(key)}", limits)
        if is_template:
            if n > limits.max_text_file:
                raise LimitExceeded(
                    f"{key} of {n} bytes exceeds the limit max_text_file={limits.max_text_file}",
                    offset=value_at,
                )
            text = r.read(n, f"value of {_q(key)}").decode("utf-8", errors="replace")
            kv = GGUFKV(
                key, "string", at, value_at, 8 + n, text[:PREVIEW_BYTES], 1, len(text) > PREVIEW_BYTES
            )
            return kv, GGUFTemplate(key, text, value_at)
        shown = r.read(min(n, PREVIEW_BYTES), f"value of {_q(key)}")
        r.skip(n - len(shown), f"value of {_q(key)}")
        return GGUFKV(
            key, "string", at, value_at, 8 + n, shown.decode("utf-8", errors="replace"), 1, n > len(shown)
        ), None
    if vtype in _SCALARS:
        fmt, size = _SCALARS[vtype]
        value = r.unpack(fmt, size, f"value of {_q(key)}")
        if vtype == GGUFValueType.BOOL:
            value = value != 0
        return GGUFKV(key, _type_name(vtype), at, value_at, size, value), None

    # array: element type, count, elements
    etype = r.u32(f"element type of {_q(key)}")
    if etype == GGUFValueType.ARRAY:
        raise FormatError(
            f"key {_q(key)} is a nested array (llama.cpp refuses arrays of arrays)", offset=value_at
        )
    if etype not in _SCALARS and etype != GGUFValueType.STRING:
        raise FormatError(f"key {_q(key)} is an array of invalid element type {etype}", offset=value_at)
    count_at = r.pos
    count = r.u64(f"element count of {_q(key)}")
    elem = _SCALARS[etype][1] if etype in _SCALARS else 8  # a string is at least its u64 length
    if count > LLAMA_MAX_ARRAY:
        raise FormatError(
            f"key {_q(key)}: array of {count} elements exceeds llama.cpp's maximum of {LLAMA_MAX_ARRAY}",
            offset=count_at,
        )
    if count * elem > r.remaining:
        raise FormatError(
            f"key {_q(key)}: {count} elements of {_type_name(etype)} need at least {count * elem} bytes but only "
            f"{r.remaining} remain",
            offset=count_at,
        )
    if count > limits.max_gguf_array:
        raise LimitExceeded(
            f"key {_q(key)}: array of {count} elements exceeds the limit max_gguf_array={limits.max_gguf_array}",
            offset=count_at,
        )
    shown_n = min(count, PREVIEW_ITEMS)
    items: list[Any] = []
    if etype in _SCALARS:
        fmt, size = _SCALARS[etype]
        for _ in range(shown_n):
            v = r.unpack(fmt, size, f"element of {_q(key)}")
            items.append(v != 0 if etype == GGUFValueType.BOOL else v)
        r.skip((count - shown_n) * size, f"elements of {_q(key)}")
    else:
        for j in range(shown_n):
            n = r.string_length(f"{key}[{j}]", limits)
            shown = r.read(min(n, PREVIEW_ITEM_BYTES), f"{key}[{j}]")
            r.skip(n - len(shown), f"{key}[{j}]")
            items.append(shown.decode("utf-8", errors="replace"))
        r.skip_strings(shown_n, count, key, limits)
    kv = GGUFKV(
        key,
        f"array[{_type_name(etype)}]",
        at,
        value_at,
        r.pos - value_at,
        tuple(items),
        count,
        count > shown_n,
    )
    return kv, None


def _read_tensor_info(r: _Reader, i: int, limits: Limits) -> tuple[str, tuple[int, ...], int, int, int, int]:
    at = r.pos
    nlen = r.string_length(f"name of tensor {i}", limits)
    raw = r.read(nlen, f"name of tensor {i}")
    try:
        name = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise FormatError(f"name of tensor {i} is not valid UTF-8: {raw[:64]!r}", offset=at + 8) from None
    # llama.cpp also refuses names of GGML_MAX_NAME (64) bytes or more; stable-diffusion.cpp builds
    # ggml with 128 and its GGUFs carry longer names, so that limit is not a sign of tampering.
    where = f"tensor {_q(name)}"
    ndims_at = r.pos
    n_dims = r.u32(f"n_dims of {where}")
    if n_dims > MAX_DIMS:
        raise FormatError(
            f"{where} has {n_dims} dimensions, more than ggml's maximum of {MAX_DIMS}", offset=ndims_at
        )
    dims: list[int] = []
    for j in range(n_dims):
        d_at = r.pos
        d = r.i64(f"dimension {j} of {where}")
        if d < 0:
            raise FormatError(f"{where} dimension {j} is negative ({d})", offset=d_at)
        dims.append(d)
    numel = 1
    for d in dims:
        numel *= d
    if numel >= _INT64_MAX:
        raise FormatError(
            f"{where} has {numel} elements, not representable in int64 (shape {dims})", offset=ndims_at
        )
    type_at = r.pos
    gtype = r.u32(f"type of {where}")
    try:
        block, type_size = GGML_QUANT_SIZES[GGMLQuantizationType(gtype)]
    except (ValueError, KeyError):
        raise FormatError(f"{where} has unknown ggml type {gtype}", offset=type_at) from None
    ne0 = dims[0] if dims else 1
    if ne0 % block:
        raise FormatError(
            f"{where} of type {GGMLQuantizationType(gtype).name} has {ne0} elements per row, not a multiple of "
            f"the block size {block}",
            offset=type_at,
        )
    nbytes = numel // block * type_size
    if nbytes > _SIZE_MAX:
        raise FormatError(f"{where} size of {nbytes} bytes overflows 64 bits", offset=type_at)
    offset = r.u64(f"data offset of {where}")
    return name, tuple(dims), gtype, nbytes, offset, at


def _layout(tensors: list[GGUFTensorInfo], alignment: int, data_start: int) -> dict[str, Any]:
    """Overlaps, gaps and order of the tensor data, all offsets relative to the data section except
    in what is returned (absolute)."""
    overlaps: list[tuple[str, str, int, int]] = []
    gaps: list[tuple[int, int]] = []
    reach, reach_name = 0, ""
    for t in sorted(tensors, key=lambda t: (t.offset, t.nbytes)):
        end = t.offset + t.nbytes
        if t.nbytes and t.offset < reach:
            overlaps.append((reach_name, t.name, data_start + t.offset, data_start + min(reach, end)))
        elif t.offset > _pad(reach, alignment):
            gaps.append((data_start + _pad(reach, alignment), t.offset - _pad(reach, alignment)))
        if end > reach:
            reach, reach_name = end, t.name
    out_of_order = None
    running = 0
    for t in tensors:
        if t.offset != running:
            out_of_order = (t.name, t.offset, running)
            break
        running += _pad(t.nbytes, alignment)
    return {
        "overlaps": overlaps,
        "gaps": gaps,
        "out_of_order": out_of_order,
        "padded_end": _pad(reach, alignment),
    }


def _analyze_template(source: str, location: Location) -> Iterator[Finding]:
    """Hand a chat template to the template analyser (imported lazily: formats stay independent)."""
    try:
        from warden.formats.template import analyze_template
    except ModuleNotFoundError as exc:
        if exc.name != "warden.formats.template":
            raise
        return iter(())
    return analyze_template(source, location)


class GGUFScanner(FormatScanner):
    name = "gguf"
    malformed_rule = MALFORMED

    def sniff(self, head: bytes, name: str) -> bool:
        return head[:4] == MAGIC

    def scan(self, stream: BinaryIO, size: int, location: Location, ctx: ScanContext) -> Iterator[Finding]:
        info = parse_gguf(stream, size, ctx.limits)
        meta = info.metadata
        yield SUMMARY(
            location,
            {
                "version": info.version,
                "architecture": meta.get("general.architecture"),
                "name": meta.get("general.name"),
                "tensors": len(info.tensors),
                "kv": len(info.kv),
                "alignment": info.alignment,
                "tensor_types": dict(sorted(Counter(t.type_name for t in info.tensors).items())),
                "parameters": sum(t.numel for t in info.tensors),
                "chat_templates": [t.key for t in info.templates],
            },
        )
        for key, first, dup in info.duplicate_keys:
            yield DUPLICATE_KEY(
                location.at(offset=dup), {"metadata_key": key, "first_offset": first, "duplicate_offset": dup}
            )
        if info.overlap_count:
            a, b, start, _end = info.overlaps[0]
            yield TENSOR_OVERLAP(
                location.at(offset=start, tensor=b),
                {
                    "count": info.overlap_count,
                    "overlaps": [{"tensors": [x, y], "start": s, "end": e} for x, y, s, e in info.overlaps],
                },
            )
        if info.gap_count or (info.out_of_order and not info.overlap_count):
            evidence: dict[str, Any] = {
                "gap_count": info.gap_count,
                "gaps": [{"start": s, "bytes": n} for s, n in info.gaps],
            }
            if info.out_of_order:
                name, offset, expected = info.out_of_order
                evidence["first_misplaced"] = {"tensor": name, "offset": offset, "expected_offset": expected}
            at = info.gaps[0][0] if info.gaps else info.data_start
            yield TENSOR_LAYOUT(location.at(offset=at), evidence)
        for template in info.templates:
            for finding in _analyze_template(template.text, location.at(offset=template.offset)):
                evidence = {"metadata_key": template.key, **finding.evidence}
                yield dataclasses.replace(finding, evidence=evidence)
        if info.trailing_bytes:
            head, nested = scan_trailing(stream, info.data_end, info.trailing_bytes, location, ctx)
            yield TRAILING_DATA(
                location.at(offset=info.data_end),
                {
                    "trailing_bytes": info.trailing_bytes,
                    "data_end": info.data_end,
                    "file_size": size,
                    "head": head,
                },
            )
            yield from nested
