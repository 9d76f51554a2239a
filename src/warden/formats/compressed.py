"""Compressed streams — gzip, bzip2, xz, raw lzma ("alone"), zlib, LZ4 frames (``lz4`` package) and
joblib's old ``ZF`` zlib container: decompressed with limits, then scanned as whatever the content is.

``joblib.dump(..., compress=...)`` writes exactly these streams around a pickle, and ``.tar.gz`` /
``.pkl.gz`` models are common. The stream is decompressed incrementally (bounded output per call)
into a spooled temporary file (memory up to 32 MiB, then disk), checking ``Limits.max_member_size``
and ``Limits.max_compression_ratio`` as it goes; the result goes back to the scanning core through
``ScanContext.nested`` so a pickle, tar or npy inside gets its own scanner. Concatenated members
(multi-member gzip, bzip2 and xz streams) are followed, as the stdlib readers do.

Why not ``gzip.open``/``bz2.open``/``lzma.open``: they cannot bound output against input consumed
(bomb ratio), silently accept or reject trailing bytes differently per format, and report no
offsets. The stdlib decompressor objects (``zlib.decompressobj``, ``bz2.BZ2Decompressor``,
``lzma.LZMADecompressor``) do the decoding here; only the framing around them is hand-written.
"""

from __future__ import annotations

import bz2
import lzma
import zlib
from collections.abc import Callable, Iterator
from pathlib import PurePosixPath
from typing import Any, BinaryIO

from warden.errors import FormatError, LimitExceeded
from warden.formats.interface import FormatScanner, Limits, ScanContext
from warden.formats.spool import memory_spool
from warden.report.model import Finding, Location, Severity
from warden.rules import rule

__all__ = ["CompressedScanner", "decompress_limited", "detect_codec"]

MALFORMED = rule(
    "COMPRESSED-MALFORMED",
    Severity.MEDIUM,
    "Corrupt or truncated compressed stream",
    "The compressed stream is invalid, truncated, or followed by bytes that are not another member "
    "of the same format. What was decompressed before the error was scanned; the rest was not.",
    "Obtain an intact copy of the file from a trusted source.",
)

_CHUNK = 1 << 20  # compressed bytes read at a time
_OUT_STEP = 8 << 20  # decompressed bytes produced per decompressor call (bounds memory)
_SPOOL = 32 << 20  # decompressed bytes kept in memory before spilling to disk
_RATIO_FLOOR = 1 << 20  # the ratio limit applies once this much has been produced
_JOBLIB_ZF_HEADER = 2 + 19  # b"ZF" + hex(length) padded to len(hex(2**64))
_LZ4_MAGIC = b"\x04\x22\x4d\x18"  # LZ4 frame (joblib.dump(..., compress="lz4"))

_SUFFIXES = {".gz": "", ".gzip": "", ".tgz": ".tar", ".bz2": "", ".tbz2": ".tar", ".xz": "", ".txz": ".tar",
             ".lzma": "", ".z": "", ".zlib": ""}  # fmt: skip


def _zlib_ok(head: bytes) -> bool:
    if len(head) < 2:
        return False
    cmf, flg = head[0], head[1]
    if cmf & 0x0F != 8 or cmf >> 4 > 7 or ((cmf << 8) | flg) % 31 != 0 or flg & 0x20:
        return False
    return _trial(lambda: zlib.decompressobj(), head)


def _lzma_alone_ok(head: bytes) -> bool:
    if len(head) < 13 or head[0] >= 225:
        return False
    dict_size = int.from_bytes(head[1:5], "little")
    if dict_size < 4096 or dict_size > 1 << 32:
        return False
    return _trial(lambda: lzma.LZMADecompressor(format=lzma.FORMAT_ALONE), head)


def _trial(make: Callable[[], Any], head: bytes) -> bool:
    try:
        d = make()
        out = d.decompress(head, 1 << 16)
    except (zlib.error, lzma.LZMAError, OSError, EOFError, ValueError):
        return False
    return bool(out) or not getattr(d, "eof", False)


def detect_codec(head: bytes) -> str | None:
    """The compression format of a stream starting with ``head``, by magic bytes."""
    if head.startswith(b"\x1f\x8b\x08"):
        return "gzip"
    if (
        head.startswith(b"BZh")
        and len(head) >= 10
        and head[3:4].isdigit()
        and head[4:10] in (b"\x31\x41\x59\x26\x53\x59", b"\x17\x72\x45\x38\x50\x90")
    ):
        return "bz2"
    if head.startswith(b"\xfd7zXZ\x00"):
        return "xz"
    if head.startswith(_LZ4_MAGIC):
        return "lz4"
    if head.startswith(b"ZF") and len(head) > _JOBLIB_ZF_HEADER and head[2:4] == b"0x":
        if _zlib_ok(head[_JOBLIB_ZF_HEADER:]):
            return "joblib-zf"
    if head[:1] == b"\x5d" and _lzma_alone_ok(head):
        return "lzma"
    if _zlib_ok(head):
        return "zlib"
    return None


def _new_decompressor(codec: str) -> Any:
    if codec == "gzip":
        return zlib.decompressobj(wbits=31)
    if codec == "bz2":
        return bz2.BZ2Decompressor()
    if codec == "xz":
        return lzma.LZMADecompressor(format=lzma.FORMAT_XZ)
    if codec == "lzma":
        return lzma.LZMADecompressor(format=lzma.FORMAT_ALONE)
    if codec == "lz4":
        try:
            import lz4.frame
        except ImportError:
            raise FormatError("lz4 stream: the lz4 package is not installed, nothing was checked") from None
        return lz4.frame.LZ4FrameDecompressor()
    return zlib.decompressobj()  # zlib, joblib-zf


_MEMBER_MAGIC = {"gzip": b"\x1f\x8b", "bz2": b"BZh", "xz": b"\xfd7zXZ\x00", "lz4": b"\x04\x22\x4d\x18"}


def decompress_limited(stream: BinaryIO, size: int, codec: str, out: BinaryIO, limits: Limits) -> int:
    """Decompress ``stream`` (``size`` bytes, ``codec``) into ``out``; return the decompressed size.

    Raises ``LimitExceeded`` past ``max_member_size`` or ``max_compression_ratio`` and
    ``FormatError`` (with the compressed offset) for corrupt, truncated or trailing data. What was
    written to ``out`` before an error stays there for the caller to scan."""
    pos = _JOBLIB_ZF_HEADER if codec == "joblib-zf" else 0
    stream.seek(pos)
    d = _new_decompressor(codec)
    is_zlib = codec in ("gzip", "zlib", "joblib-zf")
    total = 0
    pending = b""
    while True:
        if not pending:
            if pos >= size:
                break
            pending = stream.read(min(_CHUNK, size - pos))
            if not pending:
                break
            pos += len(pending)
        try:
            while True:  # drain: bounded output per call, input may be held back
                if is_zlib:
                    produced = d.decompress(pending, _OUT_STEP)
                    pending = d.unconsumed_tail
                else:
                    produced = d.decompress(pending, max_length=_OUT_STEP)
                    pending = b""
                if produced:
                    out.write(produced)
                    total += len(produced)
                    _check_limits(total, pos, limits)
                if d.eof or (pending == b"" and (is_zlib or d.needs_input)) or not produced:
                    break  # (no output: feed more input; every pass either consumes or produces)
        except (zlib.error, lzma.LZMAError, OSError, EOFError, ValueError, RuntimeError) as exc:
            # RuntimeError: lz4.frame's "LZ4F_decompress failed" on corrupt frames
            raise FormatError(f"{codec} stream is corrupt: {exc}", offset=pos - len(pending)) from None
        if d.eof:
            rest = (d.unused_data or b"") + pending  # lz4.frame leaves None when nothing is left
            offset = pos - len(rest)
            if not rest and pos < size:
                rest = stream.read(min(_CHUNK, size - pos))
                pos += len(rest)
            if not rest:
                return total
            if codec in _MEMBER_MAGIC and rest.startswith(_MEMBER_MAGIC[codec]):
                d = _new_decompressor(codec)  # concatenated member / stream
                pending = rest
                continue
            if not rest.strip(b"\x00") and not _nonzero_tail(stream, pos, size):
                return total  # zero padding after the last member (xz stream padding, tape blocks)
            raise FormatError(f"{size - offset} bytes after the end of the {codec} stream", offset=offset)
    if not d.eof:
        raise FormatError(f"{codec} stream is truncated", offset=size)
    return total


def _nonzero_tail(stream: BinaryIO, pos: int, size: int) -> bool:
    stream.seek(pos)
    while pos < size:
        chunk = stream.read(min(_CHUNK, size - pos))
        if not chunk:
            return False
        if chunk.strip(b"\x00"):
            return True
        pos += len(chunk)
    return False


def _check_limits(total_out: int, consumed: int, limits: Limits) -> None:
    offset = consumed
    if total_out > limits.max_member_size:
        raise LimitExceeded(
            f"decompressed size exceeds {limits.max_member_size} bytes (max_member_size)", offset=offset
        )
    if total_out > _RATIO_FLOOR and total_out / consumed > limits.max_compression_ratio:
        raise LimitExceeded(
            f"compression ratio {total_out / consumed:.0f}:1 exceeds {limits.max_compression_ratio:g}:1 "
            "(max_compression_ratio)",
            offset=offset,
        )


def inner_name(name: str) -> str:
    """The name the decompressed content would have (``model.pkl.gz`` → ``model.pkl``)."""
    p = PurePosixPath(name)
    suffix = p.suffix.lower()
    if suffix in _SUFFIXES:
        return p.stem + _SUFFIXES[suffix] if p.stem else "decompressed"
    return p.name or "decompressed"


class CompressedScanner(FormatScanner):
    """gzip / bz2 / xz / lzma / zlib streams (joblib compression, .tar.gz): decompress, then scan."""

    name = "compressed"
    malformed_rule = MALFORMED

    def sniff(self, head: bytes, name: str) -> bool:
        return detect_codec(head) is not None

    def scan(self, stream: BinaryIO, size: int, location: Location, ctx: ScanContext) -> Iterator[Finding]:
        stream.seek(0)
        codec = detect_codec(stream.read(4096))
        if codec is None:
            raise FormatError("not a recognised compressed stream", offset=0)
        name = inner_name(PurePosixPath(location.member or location.file).name)
        member = location.child(f"<{codec}>:{name}")
        with memory_spool(_SPOOL, "warden-z-") as out:
            error: FormatError | None = None
            try:
                total = decompress_limited(stream, size, codec, out, ctx.limits)  # type: ignore[arg-type]
            except FormatError as exc:  # LimitExceeded included: scan what was produced, then raise
                error = exc
                total = out.tell()
            if total > 0:
                out.seek(0)
                yield from ctx.nested(out, total, member, name)  # type: ignore[arg-type]
            if error is not None:
                raise error
