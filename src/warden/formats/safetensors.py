"""safetensors: header validation as a reusable parser, plus its ``FormatScanner``.

A safetensors file is ``u64 LE header length N`` + ``N bytes of UTF-8 JSON`` + a data section. The
JSON maps tensor names to ``{"dtype", "shape", "data_offsets"}`` (offsets relative to the data
section) and may hold ``"__metadata__"``, a str → str map. ``parse_safetensors_header`` applies the
checks of the safetensors Rust crate (``Metadata::validate``/``read_metadata``, 0.8) and stricter
ones, reading only the header: it never reads tensor data (forensics memory-maps that later, through
the offsets returned here).

Why hand-written and not ``safetensors.safe_open``: measured with safetensors 0.8.0 (Rust crate
underneath), the library is a good loader but a poor validator. Every problem is one
``SafetensorError`` with a text message and no offset; it silently keeps the *last* of two tensors
with the same name and the last of duplicate ``__metadata__`` keys (a parser differential: another
reader may take the first), ignores unknown fields inside a tensor entry, accepts leading whitespace
before the JSON object, and cannot tell trailing bytes after the tensors (data smuggled past the
last tensor) or a non-string metadata value from any other failure: it refuses the whole file
("incomplete metadata", "invalid JSON"), so the scanner could not say what is wrong or keep looking.
Here each rejection is a ``FormatError`` naming the problem and the byte offset, trailing data and
non-string metadata become findings, and the header is still returned for the rest of the pipeline.
"""

from __future__ import annotations

import io
import json
import re
import struct
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO

from warden.errors import FormatError, LimitExceeded
from warden.formats.interface import FormatScanner, Limits, ScanContext
from warden.report.model import Finding, Location, Severity
from warden.rules import rule

__all__ = [
    "DTYPE_BITS",
    "FORMAT_MAX_HEADER",
    "SafetensorsHeader",
    "SafetensorsScanner",
    "SafetensorsTensor",
    "parse_safetensors_header",
]

# The crate's MAX_HEADER_SIZE: a longer header is refused by every safetensors loader.
FORMAT_MAX_HEADER = 100_000_000
_U64_MAX = 2**64 - 1
# Bits per element of every dtype the safetensors crate knows (0.8: the error message for an unknown
# dtype lists exactly these). Sub-byte dtypes (F4, F6_*) are packed: a tensor must fill whole bytes.
DTYPE_BITS: Mapping[str, int] = {
    "BOOL": 8,
    "F4": 4,
    "F6_E2M3": 6,
    "F6_E3M2": 6,
    "U8": 8,
    "I8": 8,
    "F8_E5M2": 8,
    "F8_E4M3": 8,
    "F8_E8M0": 8,
    "F8_E4M3FNUZ": 8,
    "F8_E5M2FNUZ": 8,
    "I16": 16,
    "U16": 16,
    "F16": 16,
    "BF16": 16,
    "I32": 32,
    "U32": 32,
    "F32": 32,
    "C64": 64,
    "F64": 64,
    "I64": 64,
    "U64": 64,
}
_TENSOR_FIELDS = frozenset({"dtype", "shape", "data_offsets"})
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89abcdefABCDEF]")
_MAX_INT_DIGITS = 24  # a u64 has 20 digits; longer integer literals are refused before int() runs
_INT_HOOK_NEEDED = re.compile(rf"-0|[0-9]{{{_MAX_INT_DIGITS + 1}}}")

MALFORMED = rule(
    "SAFETENSORS-MALFORMED",
    Severity.HIGH,
    "Malformed safetensors file",
    "The safetensors header is invalid: bad length, not a JSON object, duplicate or unknown keys, "
    "unknown dtype, shape/size mismatch, or tensor offsets that overlap, leave gaps or run past the "
    "end of the file. Loaders either refuse the file or, worse, disagree on what it contains.",
    "Do not load the file. Re-export the weights with the safetensors library from a trusted source.",
)
TRAILING_DATA = rule(
    "SAFETENSORS-TRAILING-DATA",
    Severity.HIGH,
    "Data hidden after the last tensor",
    "The file holds bytes after the end of the last tensor. No tensor refers to them, the safetensors "
    "library refuses such files, and the format never produces them: they are a payload smuggled "
    "inside a file that looks like safe weights.",
    "Do not load or redistribute the file. Re-export the weights with the safetensors library and "
    "find out who added the extra bytes.",
)
METADATA_NONSTRING = rule(
    "SAFETENSORS-METADATA-NONSTRING",
    Severity.MEDIUM,
    "Non-string value in safetensors __metadata__",
    "__metadata__ must map strings to strings. The safetensors library refuses a file with other "
    "values, while lenient readers accept it: a parser differential, or a payload riding in metadata.",
    "Re-export the file with string-only metadata.",
)
SUMMARY = rule(
    "SAFETENSORS-SUMMARY",
    Severity.INFO,
    "safetensors header validated",
    "The header parsed and every check passed; evidence lists the tensor count, dtypes and parameter count.",
    "None needed.",
)


@dataclass(frozen=True)
class SafetensorsTensor:
    """One tensor entry. ``start``/``end`` are absolute byte offsets in the file."""

    name: str
    dtype: str
    shape: tuple[int, ...]
    start: int
    end: int

    @property
    def nbytes(self) -> int:
        return self.end - self.start

    @property
    def numel(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n


@dataclass(frozen=True)
class SafetensorsHeader:
    """What the header says. ``tensors`` are sorted by offset; ``data_start`` is ``8 + header_size``;
    ``data_size`` is where the last tensor ends (relative to ``data_start``); ``trailing_bytes`` is
    what the file holds past that; ``nonstring_metadata`` names ``__metadata__`` keys whose values
    were not strings (left out of ``metadata``), with the JSON type found."""

    header_size: int
    data_start: int
    data_size: int
    file_size: int
    tensors: tuple[SafetensorsTensor, ...]
    metadata: Mapping[str, str]
    nonstring_metadata: tuple[tuple[str, str], ...] = ()
    trailing_bytes: int = 0

    def tensor(self, name: str) -> SafetensorsTensor:
        for t in self.tensors:
            if t.name == name:
                return t
        raise KeyError(name)


def _q(name: str, limit: int = 80) -> str:
    """A tensor name fit for an error message (quoted, control characters escaped, capped)."""
    return repr(name[:limit] + ("…" if len(name) > limit else ""))


def _check_str(s: str) -> None:
    # A JSON escape can encode a lone surrogate ("\ud800") that no UTF-8 reader accepts.
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"string {_q(s)} contains a lone UTF-16 surrogate") from None


def _object_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise ValueError(f"duplicate key {_q(key)} (readers disagree on which copy wins)")
            seen.add(key)
    return out


def _object_pairs_surrogates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    for key, value in pairs:
        _check_str(key)
        if isinstance(value, str):
            _check_str(value)
    return _object_pairs(pairs)


def _parse_constant(name: str) -> Any:
    raise ValueError(f"non-standard JSON constant {name}")


def _parse_int(text: str) -> int | float:
    if len(text) > _MAX_INT_DIGITS:
        raise ValueError(f"integer literal of {len(text)} digits")
    if text == "-0":
        return -0.0  # serde_json reads "-0" as a float, which no usize field accepts
    return int(text)


def _read_exact(stream: BinaryIO, n: int, offset: int) -> bytes:
    data = stream.read(n)
    if len(data) != n:
        raise FormatError(
            f"unexpected end of file: needed {n} bytes at offset {offset}, got {len(data)}", offset=offset
        )
    return data


def _uints(values: list[Any]) -> bool:
    """All non-negative 64-bit integers (``type is int`` also keeps JSON booleans out)."""
    for v in values:
        if type(v) is not int or v < 0 or v > _U64_MAX:
            return False
    return True


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def parse_safetensors_header(stream: BinaryIO, size: int, limits: Limits | None = None) -> SafetensorsHeader:
    """Parse and validate the header of a safetensors file of ``size`` bytes without reading tensor
    data. Raises ``FormatError`` (``LimitExceeded`` past ``limits.max_json_header``) naming the
    problem and its offset."""
    limits = limits or Limits()
    stream.seek(0)
    if size < 8:
        raise FormatError(f"file is {size} bytes, too short for the 8-byte header length", offset=0)
    (n,) = struct.unpack("<Q", _read_exact(stream, 8, 0))
    if n > size - 8:
        raise FormatError(f"header length {n} exceeds file size {size}", offset=0)
    if n > FORMAT_MAX_HEADER:
        raise FormatError(
            f"header length {n} exceeds the safetensors maximum of {FORMAT_MAX_HEADER} bytes", offset=0
        )
    if n > limits.max_json_header:
        raise LimitExceeded(
            f"header length {n} exceeds the limit max_json_header={limits.max_json_header}", offset=0
        )
    if n < 2:
        raise FormatError(f"header length {n} is too short for a JSON object", offset=0)
    raw = _read_exact(stream, n, 8)
    if raw[:1] != b"{":
        raise FormatError(f"header must start with '{{', found {raw[:1]!r}", offset=8)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FormatError(f"header is not valid UTF-8: {exc.reason}", offset=8 + exc.start) from None
    del raw
    # Only a \uD800-\uDFFF escape can smuggle a lone surrogate past the strict UTF-8 decode.
    hook = _object_pairs_surrogates if _SURROGATE_ESCAPE.search(text) else _object_pairs
    # Only "-0" and very long digit runs need the (slow, per-integer) hook.
    parse_int = _parse_int if _INT_HOOK_NEEDED.search(text) else None
    try:
        header = json.loads(text, object_pairs_hook=hook, parse_constant=_parse_constant, parse_int=parse_int)
    except json.JSONDecodeError as exc:
        where = 8 + len(text[: exc.pos].encode("utf-8"))
        raise FormatError(
            f"header is not valid JSON: {exc.msg} (line {exc.lineno} column {exc.colno})", offset=where
        ) from None
    except RecursionError:
        raise FormatError("header JSON is nested too deeply", offset=8) from None
    except ValueError as exc:  # duplicates, constants, surrogates, long integers
        raise FormatError(f"invalid header: {exc}", offset=8) from None
    del text
    if not isinstance(header, dict):  # pragma: no cover - '{' start and valid JSON imply an object
        raise FormatError("header is not a JSON object", offset=8)

    data_start = 8 + n
    metadata: dict[str, str] = {}
    nonstring: list[tuple[str, str]] = []
    meta = header.pop("__metadata__", None)
    if meta is not None:
        if not isinstance(meta, dict):
            raise FormatError(
                f"__metadata__ must be an object of strings, found {_json_type(meta)}", offset=8
            )
        for key, value in meta.items():
            if isinstance(value, str):
                metadata[key] = value
            else:
                nonstring.append((key, _json_type(value)))

    tensors: list[SafetensorsTensor] = []
    for name, entry in header.items():
        tensors.append(_tensor(name, entry, data_start))
    tensors.sort(key=lambda t: (t.start, t.end))

    expected = data_start
    for t in tensors:
        if t.start != expected:
            rel = t.start - data_start
            if t.start < expected:
                raise FormatError(
                    f"tensor {_q(t.name)} at data offset {rel} overlaps the previous tensor (which ends at "
                    f"{expected - data_start})",
                    offset=t.start,
                )
            raise FormatError(
                f"gap of {t.start - expected} bytes before tensor {_q(t.name)} (data offset {rel}, expected "
                f"{expected - data_start}): offsets must be contiguous",
                offset=expected,
            )
        expected = t.end
    data_size = expected - data_start
    available = size - data_start
    if data_size > available:
        raise FormatError(
            f"tensor data ends at byte {expected} but the file has only {size} bytes (truncated)", offset=size
        )
    return SafetensorsHeader(
        header_size=n,
        data_start=data_start,
        data_size=data_size,
        file_size=size,
        tensors=tuple(tensors),
        metadata=metadata,
        nonstring_metadata=tuple(nonstring),
        trailing_bytes=available - data_size,
    )


def _tensor(name: str, entry: Any, data_start: int) -> SafetensorsTensor:
    def bad(problem: str) -> FormatError:  # built only on failure: headers hold 100k+ entries
        return FormatError(f"tensor {_q(name)}: {problem}", offset=8)

    if type(entry) is not dict:
        raise bad(f"entry must be an object, found {_json_type(entry)}")
    if len(entry) != 3 or entry.keys() != _TENSOR_FIELDS:
        keys = set(entry)
        missing, extra = sorted(_TENSOR_FIELDS - keys), sorted(keys - _TENSOR_FIELDS)
        parts = ([f"missing {', '.join(missing)}"] if missing else []) + (
            [f"unexpected field {', '.join(_q(k, 40) for k in extra[:5])}"] if extra else []
        )
        raise bad("; ".join(parts))
    dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
    bits = DTYPE_BITS.get(dtype) if type(dtype) is str else None
    if bits is None:
        raise bad(f"unknown dtype {dtype!r:.40}")
    if type(shape) is not list or not _uints(shape):
        raise bad(f"shape must be a list of non-negative 64-bit integers, found {shape!r:.80}")
    if type(offsets) is not list or len(offsets) != 2 or not _uints(offsets):
        raise bad(f"data_offsets must be two non-negative 64-bit integers, found {offsets!r:.80}")
    begin, end = offsets
    if end < begin:
        raise bad(f"data_offsets end {end} is before begin {begin}")
    numel = 1
    for d in shape:  # checked in order, as the crate's try_fold(checked_mul) does
        numel *= d
        if numel > _U64_MAX:
            raise bad(f"element count of shape {shape!r:.80} overflows 64 bits")
    nbits = numel * bits
    if nbits > _U64_MAX:
        raise bad(f"size of shape {shape!r:.80} in {dtype} overflows 64 bits")
    if nbits % 8:
        raise bad(f"{numel} elements of {dtype} do not fill a whole number of bytes")
    if end - begin != nbits >> 3:
        raise bad(
            f"{dtype} {shape!r:.80} needs {nbits >> 3} bytes but data_offsets [{begin}, {end}] span {end - begin}"
        )
    return SafetensorsTensor(name, dtype, tuple(shape), data_start + begin, data_start + end)


class _Window(io.RawIOBase):
    """A read-only, seekable view of ``length`` bytes of ``stream`` starting at ``start`` (so a
    payload hidden inside a file can be handed to the scanner that fits it)."""

    def __init__(self, stream: BinaryIO, start: int, length: int) -> None:
        self._stream, self._start, self._length, self._pos = stream, start, length, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._length}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer: Any) -> int:
        n = max(0, min(len(buffer), self._length - self._pos))
        if n == 0:
            return 0
        self._stream.seek(self._start + self._pos)
        data = self._stream.read(n)
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)


def window(stream: BinaryIO, start: int, length: int) -> BinaryIO:
    """``length`` bytes of ``stream`` from ``start`` as a buffered, seekable binary stream."""
    return io.BufferedReader(_Window(stream, start, length))


def scan_trailing(
    stream: BinaryIO, start: int, length: int, location: Location, ctx: ScanContext
) -> tuple[bytes, Iterator[Finding]]:
    """The first bytes of a trailing payload (evidence) and the findings of scanning it as a nested
    member, so a pickle or archive smuggled after the tensors is reported for what it is."""
    stream.seek(start)
    head = stream.read(min(length, 64))
    member = window(stream, start, length)
    return head, ctx.nested(member, length, location.child("<trailing-data>"), "trailing-data")


class SafetensorsScanner(FormatScanner):
    name = "safetensors"
    malformed_rule = MALFORMED

    def sniff(self, head: bytes, name: str) -> bool:
        if len(head) < 9 or head[:4] == b"GGUF":
            return False
        (n,) = struct.unpack("<Q", head[:8])
        if head[8:9] == b"{" and 2 <= n <= FORMAT_MAX_HEADER:
            return True
        # A file that calls itself safetensors and has a JSON-looking header but an absurd length or
        # leading whitespace: parse it so the problem is reported as a malformed safetensors file.
        return name.lower().endswith(".safetensors") and head[8:9] in (b"{", b" ", b"\t", b"\n", b"\r")

    def scan(self, stream: BinaryIO, size: int, location: Location, ctx: ScanContext) -> Iterator[Finding]:
        header = parse_safetensors_header(stream, size, ctx.limits)
        dtypes = Counter(t.dtype for t in header.tensors)
        yield SUMMARY(
            location,
            {
                "tensors": len(header.tensors),
                "dtypes": dict(sorted(dtypes.items())),
                "parameters": sum(t.numel for t in header.tensors),
                "header_bytes": header.header_size,
                "metadata_keys": sorted(header.metadata)[:50],
            },
        )
        if header.nonstring_metadata:
            yield METADATA_NONSTRING(
                location.at(offset=8),
                {
                    "keys": [k for k, _ in header.nonstring_metadata][:50],
                    "types": dict(header.nonstring_metadata[:50]),
                    "count": len(header.nonstring_metadata),
                },
            )
        if header.trailing_bytes:
            start = header.data_start + header.data_size
            head, nested = scan_trailing(stream, start, header.trailing_bytes, location, ctx)
            yield TRAILING_DATA(
                location.at(offset=start),
                {"trailing_bytes": header.trailing_bytes, "data_end": start, "file_size": size, "head": head},
            )
            yield from nested
