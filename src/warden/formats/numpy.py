""".npy files: header checks, and the pickle inside object arrays.

Layout (``numpy.lib.format``): ``\\x93NUMPY``, major and minor version (1.0, 2.0 or 3.0), a header
length (u16 for 1.0, u32 for 2.0/3.0), then a Python dict literal ``{'descr': ..., 'fortran_order':
..., 'shape': ...}`` (latin-1, UTF-8 for 3.0), then the data. For object dtypes (``|O`` or a
structured dtype with an object field) the data is a pickle that ``np.load(allow_pickle=True)``
unpickles: that pickle is handed to the pickle walker and judged like any other.

Why hand-written: ``numpy.lib.format.read_array_header_*`` reads a file object and raises a bare
``ValueError`` without offsets; its header parse is small (``ast.literal_eval`` of a bounded string,
as here — never ``eval``), and reading the data must not happen at all for object arrays. The dtype
itself is built by numpy from the parsed literal (``descr_to_dtype``), which never unpickles.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from warden.errors import FormatError, LimitExceeded
from warden.formats.interface import FormatScanner, ScanContext
from warden.formats.pickle import MALFORMED as PICKLE_MALFORMED
from warden.formats.pickle import scan_pickle_region
from warden.report.model import Finding, Location, Severity
from warden.rules import rule

__all__ = ["MAGIC", "NpyHeader", "NpyScanner", "parse_npy_header"]

MAGIC = b"\x93NUMPY"
MAX_HEADER = 1 << 20  # numpy itself refuses > 10 000 bytes unless allow_pickle; this is a hard cap

OBJECT_ARRAY = rule(
    "NUMPY-OBJECT-ARRAY",
    Severity.MEDIUM,
    "NumPy array of Python objects (stored as a pickle)",
    "The array's dtype holds Python objects, so its data is a pickle and np.load only reads it with "
    "allow_pickle=True, which runs whatever the pickle imports. The pickle's imports are reported "
    "separately.",
    "Store numeric arrays only (or safetensors); never pass allow_pickle=True for files you did not produce.",
)
MALFORMED = rule(
    "NUMPY-MALFORMED",
    Severity.MEDIUM,
    "Malformed .npy file",
    "The .npy header or data is invalid (bad magic or version, header that is not the expected "
    "literal dict, dtype numpy cannot build, data shorter than the shape says). np.load refuses it; "
    "nothing after the error was checked.",
    "Re-export the array; do not load a file that fails these checks.",
)
TRAILING_DATA = rule(
    "NUMPY-TRAILING-DATA",
    Severity.LOW,
    "Data after the array",
    "Bytes follow the array data. np.load ignores them, but they can hide another file (polyglot).",
    "Re-export the array without the extra bytes.",
)


@dataclass(frozen=True)
class NpyHeader:
    version: tuple[int, int]
    descr: Any
    fortran_order: bool
    shape: tuple[int, ...]
    data_offset: int
    itemsize: int
    hasobject: bool


def parse_npy_header(stream: BinaryIO, size: int) -> NpyHeader:
    """Parse and check the header of the .npy file in ``stream`` (positioned anywhere)."""
    stream.seek(0)
    pre = stream.read(12)
    if not pre.startswith(MAGIC):
        raise FormatError("not a .npy file (bad magic)", offset=0)
    if len(pre) < 10:
        raise FormatError("truncated .npy preamble", offset=len(pre))
    major, minor = pre[6], pre[7]
    if (major, minor) not in ((1, 0), (2, 0), (3, 0)):
        raise FormatError(f"unsupported .npy format version {major}.{minor}", offset=6)
    if major == 1:
        hlen, start = int.from_bytes(pre[8:10], "little"), 10
    else:
        if len(pre) < 12:
            raise FormatError("truncated .npy preamble", offset=len(pre))
        hlen, start = int.from_bytes(pre[8:12], "little"), 12
    if hlen > MAX_HEADER:
        raise LimitExceeded(f".npy header of {hlen} bytes exceeds {MAX_HEADER}", offset=8)
    if start + hlen > size:
        raise FormatError(f".npy header of {hlen} bytes runs past the end of the file", offset=8)
    stream.seek(start)
    raw = stream.read(hlen)
    if len(raw) != hlen:
        raise FormatError("truncated .npy header", offset=start + len(raw))
    try:
        text = raw.decode("utf-8" if major == 3 else "latin-1")
    except UnicodeDecodeError as exc:
        raise FormatError(
            f".npy header is not valid UTF-8 ({exc.reason})", offset=start + exc.start
        ) from None
    header = _literal(text, major, start)
    if not isinstance(header, dict):
        raise FormatError(f".npy header is not a dict: {text[:80]!r}", offset=start)
    keys = set(header)
    if keys != {"descr", "fortran_order", "shape"}:
        raise FormatError(f".npy header keys are {sorted(map(str, keys))}", offset=start)
    shape = header["shape"]
    if not isinstance(shape, tuple) or not all(type(d) is int and d >= 0 for d in shape):
        raise FormatError(f".npy shape is not a tuple of sizes: {shape!r}"[:200], offset=start)
    if not isinstance(header["fortran_order"], bool):
        raise FormatError(".npy fortran_order is not a bool", offset=start)
    itemsize, hasobject = _dtype_facts(header["descr"], start)
    return NpyHeader(
        version=(major, minor),
        descr=header["descr"],
        fortran_order=header["fortran_order"],
        shape=shape,
        data_offset=start + hlen,
        itemsize=itemsize,
        hasobject=hasobject,
    )


_PY2_LONG = re.compile(r"(?<=[0-9])L\b")


def _literal(text: str, major: int, offset: int) -> Any:
    try:
        return ast.literal_eval(text)  # safe: literals only, bounded length
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        pass
    if major <= 2:  # numpy writes Python 2 longs ("3L") in old files and still reads them
        try:
            return ast.literal_eval(_PY2_LONG.sub("", text))
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            pass
    raise FormatError(f".npy header is not a Python literal: {text[:80]!r}", offset=offset)


def _dtype_facts(descr: Any, offset: int) -> tuple[int, bool]:
    """(itemsize, hasobject) of a header descr, built by numpy (no pickle involved)."""
    import numpy as np
    from numpy.lib.format import descr_to_dtype

    try:
        dtype = descr_to_dtype(descr)
    except (  # SyntaxError: numpy parses comma strings with ast.literal_eval (descr ",")
        TypeError,
        ValueError,
        KeyError,
        IndexError,
        OverflowError,
        RecursionError,
        MemoryError,
        SyntaxError,
    ) as exc:
        raise FormatError(f".npy descr {descr!r} is not a dtype ({exc})"[:300], offset=offset) from None
    if not isinstance(dtype, np.dtype):  # pragma: no cover - defensive
        raise FormatError(f".npy descr {descr!r} is not a dtype", offset=offset)
    return int(dtype.itemsize), bool(dtype.hasobject)


class NpyScanner(FormatScanner):
    """.npy arrays: header checks, object arrays' pickles, data size and trailing bytes."""

    name = "numpy"
    malformed_rule = MALFORMED

    def sniff(self, head: bytes, name: str) -> bool:
        return head.startswith(MAGIC)

    def scan(self, stream: BinaryIO, size: int, location: Location, ctx: ScanContext) -> Iterator[Finding]:
        header = parse_npy_header(stream, size)
        start = header.data_offset
        if header.hasobject:
            yield OBJECT_ARRAY(
                location.at(offset=start),
                {"descr": repr(header.descr)[:200], "shape": list(header.shape), "pickle_offset": start},
            )
            try:
                yield from scan_pickle_region(
                    stream, start, size, location, ctx, context="numpy object array"
                )
            except LimitExceeded:
                raise
            except FormatError as exc:
                # the pickle inside is broken: report it as a pickle problem (np.load runs it up to there)
                where = location.at(offset=exc.offset) if exc.offset is not None else location
                yield PICKLE_MALFORMED(where, {"format": "numpy object array", "error": exc.message})
            return
        count = 1
        for d in header.shape:
            count *= d
        expected = count * header.itemsize
        available = size - start
        if available < expected:
            raise FormatError(
                f"array data is {available} bytes but shape {header.shape} of {header.itemsize}-byte "
                f"items needs {expected}",
                offset=start,
            )
        if available > expected:
            stream.seek(start + expected)
            head = stream.read(16)
            yield TRAILING_DATA(
                location.at(offset=start + expected), {"length": available - expected, "head": head}
            )
