"""Zip containers: PyTorch zip checkpoints, ``.npz``, Keras v3 ``.keras`` and any other zip.

Every member is handed back to the core (``ScanContext.nested``), which picks its parser by bytes,
so a pickle is scanned as a pickle whatever it is called. On top of that this module checks the
container itself: path traversal, symlinks, duplicate names, zip bombs, PyTorch layout (extra
pickles, missing ``version``, members outside the top folder, torch.package code) and Keras v3
``config.json`` (Lambda layers, custom objects — the checks live in ``warden.formats.hdf5``).

Why the zip parsing is hand-written: Python's ``zipfile`` refuses archives that PyTorch (miniz)
loads happily — bad CRCs, local and central names that differ, odd flag bits — and scanners built on
it skipped exactly those files (picklescan CVE-2025-1944/1945). Here the central directory *and* a
walk of the local headers enumerate members (a member only reachable through local headers, as
streaming unzippers see it, is a finding); member data is located the way miniz does (central sizes,
local header for the name/extra lengths) and inflated with zlib, ignoring CRC and the "encrypted" bit
(both reported, neither trusted). Every size, count and ratio is capped (``Limits``).
"""

from __future__ import annotations

import bz2
import io
import lzma
import posixpath
import re
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any, BinaryIO

from warden.errors import LimitExceeded
from warden.formats.hdf5 import keras_config_findings
from warden.formats.interface import FormatScanner, Limits, ScanContext
from warden.formats.spool import memory_spool
from warden.formats.torchscript import TorchScriptRefs, torchscript_code_refs, torchscript_findings
from warden.report.model import Finding, Location, Severity
from warden.rules import rule

LFH_SIG = b"PK\x03\x04"  # local file header
CDH_SIG = b"PK\x01\x02"  # central directory header
EOCD_SIG = b"PK\x05\x06"  # end of central directory
Z64_LOC_SIG = b"PK\x06\x07"  # zip64 end of central directory locator
Z64_EOCD_SIG = b"PK\x06\x06"  # zip64 end of central directory record
DD_SIG = b"PK\x07\x08"  # data descriptor (also the spanned-archive marker at offset 0)

_LFH = struct.Struct("<4sHHHHHIIIHH")  # 30 bytes
_CDH = struct.Struct("<4sBBHHHHHIIIHHHHHII")  # 46 bytes
_EOCD = struct.Struct("<4sHHHHIIH")  # 22 bytes
_Z64_EOCD = struct.Struct("<4sQHHIIQQQQ")  # 56 bytes
_U32 = 0xFFFFFFFF
_U16 = 0xFFFF

CHUNK = 1 << 20  # bytes read or inflated per step
SPOOL_IN_MEMORY = 16 << 20  # an inflated member lives in memory up to this size, then on disk
RATIO_FLOOR = 8 << 20  # members smaller than this never trip the compression-ratio limit
CRC_CHECK_MAX = 1 << 30  # stored members larger than this are not CRC-checked (nothing else reads them)
MAX_GAP_SCAN = 16 << 20  # bytes between members searched for unlisted local headers
MAX_SYMLINK_TARGET = 4096
TS_CODE_READ = (8 << 20) + 1  # TorchScript code read per file (torchscript.py refuses larger)
_NORMAL_FLAGS = 0x0002 | 0x0004 | 0x0008 | 0x0800  # deflate options, data descriptor, UTF-8 names
_METHODS = {0: "stored", 8: "deflate", 12: "bzip2", 14: "lzma"}

ZIP_MALFORMED = rule(
    "ZIP-MALFORMED",
    Severity.MEDIUM,
    "Malformed zip archive or member",
    "Part of the zip structure could not be parsed (truncated headers, bad signatures, data past the "
    "end of the file), so that part was not checked.",
    "Do not load the archive; re-create it from a trusted source.",
)
ZIP_PATH_TRAVERSAL = rule(
    "ZIP-PATH-TRAVERSAL",
    Severity.HIGH,
    "Zip member name escapes the extraction directory",
    "A member name is absolute, has a drive letter, uses '..' or backslashes: extracting the archive "
    "can write files outside the target directory (zip slip).",
    "Do not extract the archive with tools that trust member names; re-create it with relative names.",
)
ZIP_SUSPICIOUS_NAME = rule(
    "ZIP-SUSPICIOUS-NAME",
    Severity.MEDIUM,
    "Zip member name contains NUL or control characters",
    "Loaders disagree on such names (Python's zipfile cuts the name at NUL, miniz does not), which "
    "lets one member pose as another.",
    "Re-create the archive with plain member names.",
)
ZIP_SYMLINK = rule(
    "ZIP-SYMLINK",
    Severity.HIGH,
    "Zip member is a symbolic link",
    "The member's Unix mode marks it as a symlink: extracting it creates a link that later writes "
    "or reads can follow outside the target directory.",
    "Model archives have no reason to carry symlinks; re-create the archive without them.",
)
ZIP_SPECIAL_FILE = rule(
    "ZIP-SPECIAL-FILE",
    Severity.MEDIUM,
    "Zip member is a device, FIFO or socket",
    "The member's Unix mode marks it as a special file, which no model needs.",
    "Re-create the archive with regular files only.",
)
ZIP_CRC_MISMATCH = rule(
    "ZIP-CRC-MISMATCH",
    Severity.MEDIUM,
    "Zip member CRC does not match its data",
    "The stored CRC-32 differs from the data. PyTorch ignores CRCs while Python's zipfile refuses "
    "the member, a known way to make scanners skip a pickle that torch.load still runs. The member "
    "was scanned anyway.",
    "Treat the archive as tampered; re-create it from a trusted source.",
)
ZIP_HIDDEN_MEMBER = rule(
    "ZIP-HIDDEN-MEMBER",
    Severity.HIGH,
    "Zip member present only in local headers",
    "A local file header is not listed in the central directory: tools that read the central "
    "directory never see it, streaming unzippers do. It was scanned anyway.",
    "Treat the archive as crafted to evade scanners; do not load it.",
)
ZIP_NAME_MISMATCH = rule(
    "ZIP-NAME-MISMATCH",
    Severity.HIGH,
    "Zip member has different names in local and central headers",
    "PyTorch reads members by their central-directory name and ignores the local one; Python's "
    "zipfile refuses the member. Scanners built on zipfile skip it while torch.load runs it.",
    "Treat the archive as crafted to evade scanners; do not load it.",
)
ZIP_INCONSISTENT_HEADERS = rule(
    "ZIP-INCONSISTENT-HEADERS",
    Severity.MEDIUM,
    "Zip headers disagree with each other",
    "Local and central headers (or the end records) disagree on method, flags, sizes, CRC or counts. "
    "Different loaders then read different data.",
    "Re-create the archive with a standard tool.",
)
ZIP_DUPLICATE_NAME = rule(
    "ZIP-DUPLICATE-NAME",
    Severity.HIGH,
    "Zip archive has two members with the same name",
    "Loaders pick different copies (Python's zipfile the last, miniz the first), so the member a "
    "scanner checks may not be the one that is loaded. Every copy was scanned.",
    "Re-create the archive with unique names.",
)
ZIP_SUSPICIOUS_FLAGS = rule(
    "ZIP-SUSPICIOUS-FLAGS",
    Severity.MEDIUM,
    "Zip member has unusual flag bits",
    "Encryption, patched-data or reserved flag bits are set. Scanners that trust the encryption bit "
    "skip the member; its data was read and scanned as if the bits were clear.",
    "Re-create the archive without encryption or unusual flags.",
)
ZIP_BOMB = rule(
    "ZIP-BOMB",
    Severity.HIGH,
    "Zip member expands beyond the limits (zip bomb)",
    "A member inflates past the compression-ratio or size limit. Only the part within the limits "
    "was scanned.",
    "Do not extract or load the archive.",
)
ZIP_OVERLAPPING_MEMBERS = rule(
    "ZIP-OVERLAPPING-MEMBERS",
    Severity.HIGH,
    "Zip members overlap",
    "Two members share bytes of the file: the trick behind non-recursive zip bombs and behind "
    "archives that show different content to different readers.",
    "Do not extract or load the archive.",
)
ZIP_UNSUPPORTED_COMPRESSION = rule(
    "ZIP-UNSUPPORTED-COMPRESSION",
    Severity.MEDIUM,
    "Zip member uses a compression method Warden cannot read",
    "The member's method is not stored/deflate/bzip2/lzma, so its content was not checked.",
    "Re-create the archive with deflate or no compression.",
)
ZIP_UNACCOUNTED_DATA = rule(
    "ZIP-UNACCOUNTED-DATA",
    Severity.LOW,
    "Zip archive contains bytes outside every member",
    "Bytes between or after members belong to no member: room for a polyglot payload that another "
    "reader interprets.",
    "Re-create the archive with a standard tool.",
)
TORCH_EXTRA_PICKLE = rule(
    "TORCH-EXTRA-PICKLE",
    Severity.MEDIUM,
    "PyTorch zip carries pickles besides data.pkl",
    "torch.load reads only <archive>/data.pkl; other .pkl members are unusual in a checkpoint and "
    "are read by other loaders or custom code. Each was scanned.",
    "Find out why the extra pickles are there; re-save the checkpoint with torch.save or safetensors.",
)
TORCH_ZIP_STRUCTURE = rule(
    "TORCH-ZIP-STRUCTURE",
    Severity.MEDIUM,
    "PyTorch zip has an unusual layout",
    "torch.save writes every member under one top folder with a version record; members outside "
    "that folder or a missing version mean the archive was edited or built by another tool.",
    "Re-save the checkpoint with torch.save, or better convert it to safetensors.",
)
TORCH_PACKAGE_CODE = rule(
    "TORCH-PACKAGE-CODE",
    Severity.HIGH,
    "torch.package archive ships Python code",
    "The archive is a torch.package (it has .data/extern_modules): loading it imports the Python "
    "modules packaged inside.",
    "Review the packaged source before loading; prefer weights-only formats.",
)


# ---------------------------------------------------------------------------------------------
# Helpers shared with the tar scanner.


class SubStream(io.RawIOBase):
    """A read-only, seekable window ``[start, start + length)`` of another seekable stream. Reads
    seek the base first, so several windows can share one file handle (one at a time)."""

    def __init__(self, base: IO[bytes], start: int, length: int) -> None:
        super().__init__()
        self._base, self._start, self._length, self._pos = base, start, max(0, length), 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        want = min(len(view), self._length - self._pos)
        if want <= 0:
            return 0
        self._base.seek(self._start + self._pos)
        data = self._base.read(want)
        view[: len(data)] = data
        self._pos += len(data)
        return len(data)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._length}[whence]
        if base + offset < 0:
            raise ValueError("negative seek position")
        self._pos = base + offset
        return self._pos

    def tell(self) -> int:
        return self._pos


@dataclass(frozen=True)
class NameCheck:
    """What is wrong with an archive member name."""

    traversal: tuple[str, ...] = ()  # reasons the name may land outside the extraction directory
    escapes: bool = False  # it certainly does (absolute, drive letter, '..' above the root)
    odd: tuple[str, ...] = ()  # NUL / control characters


_DRIVE = re.compile(r"^[A-Za-z]:")


def check_member_name(name: str) -> NameCheck:
    traversal: list[str] = []
    odd: list[str] = []
    if "\x00" in name:
        odd.append("NUL byte")
    if any(ord(c) < 32 or ord(c) == 127 for c in name.replace("\x00", "")):
        odd.append("control character")
    norm = name.replace("\\", "/")
    if "\\" in name:
        traversal.append("backslash (a path separator on Windows)")
    escapes = False
    if norm.startswith("/"):
        traversal.append("absolute path")
        escapes = True
    if _DRIVE.match(norm):
        traversal.append("drive letter")
        escapes = True
    if escapes_root(norm.lstrip("/")):
        escapes = True
    if ".." in norm.split("/"):
        traversal.append("'..' path component")
    return NameCheck(tuple(traversal), escapes, tuple(odd))


def escapes_root(path: str) -> bool:
    """True if the relative POSIX ``path`` climbs above its starting directory."""
    depth = 0
    for part in path.split("/"):
        if part == "..":
            depth -= 1
            if depth < 0:
                return True
        elif part not in ("", "."):
            depth += 1
    return False


def name_findings(
    name: str, location: Location, traversal_rule: Any, suspicious_rule: Any, evidence: dict[str, Any]
) -> Iterator[Finding]:
    check = check_member_name(name)
    if check.traversal:
        severity = Severity.HIGH if check.escapes else Severity.MEDIUM
        yield traversal_rule(
            location, {**evidence, "name": name, "problems": list(check.traversal)}, severity=severity
        )
    if check.odd and suspicious_rule is not None:
        yield suspicious_rule(location, {**evidence, "name": name, "problems": list(check.odd)})


# ---------------------------------------------------------------------------------------------
# The archive layout.


@dataclass
class _Member:
    name: str
    raw_name: bytes
    header_offset: int
    method: int
    flags: int
    crc: int
    csize: int
    usize: int
    in_central: bool
    external_attr: int = 0
    create_system: int = 0
    index: int = -1  # position in the central directory
    local_name: bytes | None = None
    local_flags: int | None = None
    data_offset: int | None = None
    record_end: int | None = None  # end of data (+ data descriptor)
    problems: list[str] = field(default_factory=list)  # header inconsistencies
    error: str | None = None  # why the data cannot be located
    produced: int = 0  # bytes actually extracted (counts toward max_total_uncompressed)

    @property
    def is_dir(self) -> bool:
        return self.name.endswith("/") and self.usize == 0


class _Source:
    """Positioned reads from the archive stream, never past ``size``."""

    def __init__(self, stream: BinaryIO, size: int) -> None:
        self.stream, self.size = stream, size

    def read_at(self, offset: int, n: int) -> bytes:
        if offset < 0 or offset >= self.size or n <= 0:
            return b""
        n = min(n, self.size - offset)
        self.stream.seek(offset)
        parts: list[bytes] = []
        while n > 0:
            data = self.stream.read(min(n, CHUNK))
            if not data:
                break
            parts.append(data)
            n -= len(data)
        return b"".join(parts)


def _decode_name(raw: bytes, flags: int) -> str:
    if flags & 0x800:
        return raw.decode("utf-8", "replace")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp437")


def _extra_fields(extra: bytes) -> dict[int, bytes]:
    out: dict[int, bytes] = {}
    pos = 0
    while pos + 4 <= len(extra):
        tag, length = struct.unpack_from("<HH", extra, pos)
        out.setdefault(tag, extra[pos + 4 : pos + 4 + length])
        pos += 4 + length
    return out


class _Layout:
    """Parses the end records, the central directory and the local headers of one archive."""

    def __init__(self, src: _Source, limits: Limits, location: Location) -> None:
        self.src, self.limits, self.location = src, limits, location
        self.members: list[_Member] = []
        self.findings: list[Finding] = []
        self.archive_problems: list[str] = []
        self.regions: list[tuple[int, int]] = []  # bytes that belong to end records / central directory
        self.cd_offset: int | None = None
        self.has_central = True  # False: every member is local-only; one ZIP-MALFORMED says so
        self.delta = 0  # bytes before the archive proper (Python zipfile's "concat")
        self._z64_at: int | None = None  # where the zip64 locator starts, when there is one

    # -- end of central directory -------------------------------------------------------------

    def parse(self) -> None:
        eocd = self._find_eocd()
        if eocd is None:
            self.has_central = False
            self._walk_locals([0], limit=self.src.size)
            error = "no end-of-central-directory record (truncated?); members found by walking local headers"
            self.findings.append(ZIP_MALFORMED(self.location, {"error": error, "members": len(self.members)}))
        else:
            cd_offset, cd_size, count = eocd
            self._parse_central(cd_offset, cd_size, count)
            starts = [0, self.delta] + [m.record_end for m in self.members if m.record_end is not None]
            self._walk_locals(starts, limit=min(self.cd_offset or self.src.size, self.src.size))
        self._account_gaps()

    def _find_eocd(self) -> tuple[int, int, int] | None:
        size = self.src.size
        tail_len = min(size, _EOCD.size + 0xFFFF)
        tail = self.src.read_at(size - tail_len, tail_len)
        idx = tail.rfind(EOCD_SIG)
        while idx >= 0 and len(tail) - idx < _EOCD.size:
            idx = tail.rfind(EOCD_SIG, 0, idx)
        if idx < 0:
            return None
        eocd_off = size - tail_len + idx
        _, disk, cd_disk, n_disk, n_total, cd_size, cd_off, comment_len = _EOCD.unpack_from(tail, idx)
        self.regions.append((eocd_off, size))
        if eocd_off + _EOCD.size + comment_len != size:
            self.archive_problems.append(
                f"end record comment length {comment_len} does not match the {size - eocd_off - _EOCD.size} "
                "bytes after it"
            )
        if disk or cd_disk or n_disk != n_total:
            self.archive_problems.append("multi-disk fields are set")
        count, cd_size_, cd_offset = n_total, cd_size, cd_off
        if eocd_off >= 20:
            loc = self.src.read_at(eocd_off - 20, 20)
            if loc[:4] == Z64_LOC_SIG:
                self._z64_at = eocd_off - 20 - _Z64_EOCD.size  # where the zip64 end record would start
                (z64_off,) = struct.unpack_from("<Q", loc, 8)
                self.regions.append((eocd_off - 20, eocd_off))
                rec = self.src.read_at(z64_off, _Z64_EOCD.size)
                if len(rec) == _Z64_EOCD.size and rec[:4] == Z64_EOCD_SIG:
                    fields = _Z64_EOCD.unpack(rec)
                    rec_size = fields[1]
                    count, cd_size_, cd_offset = fields[7], fields[8], fields[9]
                    self.regions.append((z64_off, min(size, z64_off + 12 + rec_size)))
                else:
                    self.archive_problems.append(
                        f"zip64 locator points at {z64_off}, where no zip64 end record is"
                    )
        if count > self.limits.max_members:
            raise LimitExceeded(
                f"central directory lists {count} members, over max_members={self.limits.max_members}",
                offset=eocd_off,
            )
        # Bytes prepended to an archive (a pickle glued in front, a self-extractor stub): Python's
        # zipfile takes the distance between where the central directory is and where the end record
        # says it is ("concat") and shifts every offset by it; zipfile.is_zipfile, Keras and
        # other Python readers accept such files. Read them the same way.
        end_of_cd = min(z64_at for z64_at in (self._z64_at, eocd_off) if z64_at is not None)
        delta = end_of_cd - cd_size_ - cd_offset
        if (
            delta > 0
            and self.src.read_at(cd_offset, 4) != CDH_SIG
            and self.src.read_at(cd_offset + delta, 4) == CDH_SIG
        ):
            self.delta = delta
            cd_offset += delta
            self.archive_problems.append(
                f"{delta} bytes precede the archive (offsets are shifted by them, as Python's zipfile "
                "reads it); loaders that check the first bytes (torch.load, numpy.load) see another format"
            )
        return cd_offset, cd_size_, count

    # -- central directory --------------------------------------------------------------------

    def _parse_central(self, cd_offset: int, cd_size: int, count: int) -> None:
        size = self.src.size
        if cd_offset >= size:
            self.findings.append(
                ZIP_MALFORMED(
                    self.location.at(offset=cd_offset), {"error": "central directory offset is past the end"}
                )
            )
            return
        self.cd_offset = cd_offset
        cd_end = cd_offset + cd_size
        pos, index = cd_offset, 0
        # Read entries while either reader would: miniz by count, Python's zipfile by byte size.
        while index < count or pos < cd_end:
            head = self.src.read_at(pos, _CDH.size)
            if len(head) < _CDH.size or head[:4] != CDH_SIG:
                if index < count:
                    self.findings.append(
                        ZIP_MALFORMED(
                            self.location.at(offset=pos),
                            {"error": f"central directory entry {index} has a bad signature or is truncated"},
                        )
                    )
                break
            if index >= self.limits.max_members:
                raise LimitExceeded(
                    f"more than max_members={self.limits.max_members} central entries", offset=pos
                )
            f = _CDH.unpack(head)
            (
                _,
                _ver,
                system,
                _need,
                flags,
                method,
                _t,
                _d,
                crc,
                csize,
                usize,
                nlen,
                xlen,
                clen,
                disk,
                _ia,
                ext,
                hoff,
            ) = f
            var = self.src.read_at(pos + _CDH.size, nlen + xlen + clen)
            if len(var) < nlen + xlen + clen:
                self.findings.append(
                    ZIP_MALFORMED(
                        self.location.at(offset=pos),
                        {"error": f"central directory entry {index} is truncated"},
                    )
                )
                break
            raw_name = var[:nlen]
            m = _Member(
                name=_decode_name(raw_name, flags),
                raw_name=raw_name,
                header_offset=hoff + self.delta,
                method=method,
                flags=flags,
                crc=crc,
                csize=csize,
                usize=usize,
                in_central=True,
                external_attr=ext,
                create_system=system,
                index=index,
            )
            z64 = _extra_fields(var[nlen : nlen + xlen]).get(0x0001)
            if _U32 in (usize, csize, hoff):
                self._apply_zip64(m, z64)
            self.members.append(m)
            pos += _CDH.size + nlen + xlen + clen
            index += 1
        self.regions.append((cd_offset, max(pos, min(cd_end, size))))
        if index != count:
            self.archive_problems.append(f"end record says {count} members, central directory holds {index}")
        if pos != cd_end:
            self.archive_problems.append(
                f"central directory size is {cd_size}, entries take {pos - cd_offset}"
            )
        for m in self.members:
            self._locate(m)

    @staticmethod
    def _apply_zip64(m: _Member, z64: bytes | None) -> None:
        data = z64 or b""
        pos = 0
        for attr in ("usize", "csize", "header_offset"):
            if getattr(m, attr) == _U32:
                if pos + 8 > len(data):
                    m.problems.append(f"zip64 extra field lacks {attr}")
                    return
                setattr(m, attr, struct.unpack_from("<Q", data, pos)[0])
                pos += 8

    def _locate(self, m: _Member) -> None:
        """Read the local header of a central member: where its data starts, how it differs."""
        head = self.src.read_at(m.header_offset, _LFH.size)
        if len(head) < _LFH.size or head[:4] != LFH_SIG:
            m.error = f"no local file header at offset {m.header_offset}"
            return
        _, _ver, lflags, lmethod, _t, _d, lcrc, lcsize, lusize, nlen, xlen = _LFH.unpack(head)
        var = self.src.read_at(m.header_offset + _LFH.size, nlen + xlen)
        if len(var) < nlen + xlen:
            m.error = f"local file header at offset {m.header_offset} is truncated"
            return
        m.local_name, m.local_flags = var[:nlen], lflags
        m.data_offset = m.header_offset + _LFH.size + nlen + xlen
        if lmethod != m.method:
            m.problems.append(f"method: local {lmethod}, central {m.method}")
        if lflags != m.flags:
            m.problems.append(f"flags: local {lflags:#06x}, central {m.flags:#06x}")
        if (
            not lflags & 0x08
            and (lcrc, lcsize, lusize) != (m.crc, m.csize, m.usize)
            and _U32 not in (lcsize, lusize)
        ):
            m.problems.append(
                f"local crc/sizes {lcrc:#010x}/{lcsize}/{lusize} differ from central {m.crc:#010x}/{m.csize}/{m.usize}"
            )
        zip64 = 0x0001 in _extra_fields(var[nlen:])
        m.record_end = m.data_offset + m.csize + self._descriptor_len(m, m.data_offset + m.csize, zip64)

    def _descriptor_len(self, m: _Member, at: int, zip64: bool) -> int:
        if not (m.local_flags or m.flags) & 0x08:
            return 0
        blob = self.src.read_at(at, 24)
        candidates = (
            [(True, True), (True, False), (False, True), (False, False)]
            if zip64
            else [(True, False), (True, True), (False, False), (False, True)]
        )
        for with_sig, wide in candidates:
            if with_sig and blob[:4] != DD_SIG:
                continue
            pos = 8 if with_sig else 4
            fmt = "<Q" if wide else "<I"
            width = 8 if wide else 4
            if len(blob) >= pos + 2 * width and struct.unpack_from(fmt, blob, pos)[0] == m.csize:
                return pos + 2 * width
        return 0

    # -- local headers --------------------------------------------------------------------------

    def _walk_locals(self, starts: list[int], limit: int) -> None:
        """Follow local headers from each start the way a streaming unzipper does."""
        ends: dict[int, int | None] = {}  # header offset → end of its record, for known members
        for m in self.members:
            ends[m.header_offset] = max(ends.get(m.header_offset) or 0, m.record_end or 0) or None
        visited: set[int] = set()
        for start in sorted(set(starts)):
            pos = start
            while pos not in visited and pos + _LFH.size <= limit:
                visited.add(pos)
                if pos in ends:
                    end = ends[pos]
                    if end is None or end <= pos:
                        break
                    pos = end
                    continue
                hidden = self._hidden_member(pos)
                if hidden is None or hidden.record_end is None:
                    break
                self.members.append(hidden)
                ends[pos] = hidden.record_end
                if len(self.members) > self.limits.max_members:
                    raise LimitExceeded(
                        f"more than max_members={self.limits.max_members} members", offset=pos
                    )
                pos = hidden.record_end

    def _hidden_member(self, pos: int) -> _Member | None:
        head = self.src.read_at(pos, _LFH.size)
        if len(head) < _LFH.size or head[:4] != LFH_SIG:
            return None
        _, _ver, flags, method, _t, _d, crc, csize, usize, nlen, xlen = _LFH.unpack(head)
        var = self.src.read_at(pos + _LFH.size, nlen + xlen)
        if len(var) < nlen + xlen:
            return None
        raw_name = var[:nlen]
        extra = _extra_fields(var[nlen:])
        z64 = extra.get(0x0001, b"")
        if (usize == _U32 or csize == _U32) and len(z64) >= 16:
            usize, csize = struct.unpack_from("<QQ", z64, 0)
        m = _Member(
            name=_decode_name(raw_name, flags),
            raw_name=raw_name,
            header_offset=pos,
            method=method,
            flags=flags,
            crc=crc,
            csize=csize,
            usize=usize,
            in_central=False,
            local_name=raw_name,
            local_flags=flags,
        )
        m.data_offset = pos + _LFH.size + nlen + xlen
        if flags & 0x08 and csize == 0:
            found = self._unknown_size(m)
            if found is None:
                m.error = "member size unknown (data descriptor not found)"
                m.record_end = m.data_offset
                return m
            m.csize, m.crc, m.usize = found
        m.record_end = m.data_offset + m.csize + self._descriptor_len(m, m.data_offset + m.csize, bool(z64))
        return m

    def _unknown_size(self, m: _Member) -> tuple[int, int, int] | None:
        """(csize, crc, usize) of a local-only member whose sizes are in a trailing data descriptor."""
        assert m.data_offset is not None
        if m.method == 8:  # inflate (output discarded, bounded) to find where the stream ends
            d = zlib.decompressobj(-15)
            pos, out, crc = m.data_offset, 0, 0
            cap = min(
                self.limits.max_member_size,
                self.src.size * int(self.limits.max_compression_ratio) + RATIO_FLOOR,
            )
            try:
                while not d.eof and pos < self.src.size and out <= cap:
                    chunk = self.src.read_at(pos, 64 * 1024)
                    pos += len(chunk)
                    data = d.decompress(chunk, CHUNK)
                    while True:
                        out += len(data)
                        crc = zlib.crc32(data, crc)
                        if not d.unconsumed_tail or out > cap:
                            break
                        data = d.decompress(d.unconsumed_tail, CHUNK)
            except zlib.error:
                return None
            if not d.eof:
                return None
            return pos - len(d.unused_data) - m.data_offset, crc, out
        # Stored with unknown size: find a descriptor whose csize matches its distance.
        start = m.data_offset
        pos = start
        while pos < min(self.src.size, start + MAX_GAP_SCAN):
            block = self.src.read_at(pos, CHUNK + 16)
            i = block.find(DD_SIG)
            while i >= 0:
                if i + 16 <= len(block):
                    crc_, csize = struct.unpack_from("<II", block, i + 4)
                    if csize == pos + i - start:
                        return csize, crc_, csize
                i = block.find(DD_SIG, i + 1)
            pos += CHUNK
        return None

    # -- coverage -----------------------------------------------------------------------------

    def _account_gaps(self) -> None:
        """Find overlapping members and bytes no member owns; search the gaps for unlisted headers."""
        for _round in range(2):
            gaps, overlaps = self._coverage()
            found = False
            budget = MAX_GAP_SCAN
            for start, end in gaps:
                if budget <= 0:
                    break
                blob = self.src.read_at(start, min(end - start, budget))
                budget -= len(blob)
                i = blob.find(LFH_SIG)
                while i >= 0:
                    before = len(self.members)
                    self._walk_locals([start + i], limit=self.src.size)
                    found = found or len(self.members) > before
                    i = blob.find(LFH_SIG, i + 4)
            if not found:
                break
        gaps, overlaps = self._coverage()
        if overlaps:
            self.findings.append(
                ZIP_OVERLAPPING_MEMBERS(self.location, {"overlaps": len(overlaps), "examples": overlaps[:5]})
            )
        unaccounted = sum(e - s for s, e in gaps)
        if unaccounted:
            self.findings.append(
                ZIP_UNACCOUNTED_DATA(
                    self.location,
                    {"bytes": unaccounted, "ranges": [{"start": s, "end": e} for s, e in gaps[:5]]},
                )
            )

    def _coverage(self) -> tuple[list[tuple[int, int]], list[dict[str, Any]]]:
        spans: list[tuple[int, int, str | None]] = [(s, e, None) for s, e in self.regions]
        spans += [(m.header_offset, m.record_end, m.name) for m in self.members if m.record_end is not None]
        spans.sort(key=lambda t: (t[0], t[1]))
        gaps: list[tuple[int, int]] = []
        overlaps: list[dict[str, Any]] = []
        cur_end, cur_name = 0, None
        for start, end, name in spans:
            end = min(end, self.src.size)
            if start > cur_end:
                gaps.append((cur_end, start))
            elif start < cur_end and name is not None and cur_name is not None:
                overlaps.append({"member": name, "overlaps": cur_name, "offset": start})
            if end > cur_end:
                cur_end, cur_name = end, name
        if cur_end < self.src.size:
            gaps.append((cur_end, self.src.size))
        return gaps, overlaps


# ---------------------------------------------------------------------------------------------
# Member data.


@dataclass
class _Extracted:
    stream: Any  # a SubStream window or a spooled temp file: read/seek/tell
    length: int
    findings: list[Finding]
    owned: bool  # close the stream when done (a spooled temp file)


def _decompressor(method: int) -> Any:
    if method == 8:
        return zlib.decompressobj(-15)
    if method == 12:
        return bz2.BZ2Decompressor()
    if method == 14:
        return _ZipLzma()
    return None


class _ZipLzma:
    """LZMA as zip stores it (APPNOTE 5.8.8): 2-byte version, 2-byte properties size, the 5-byte
    LZMA1 properties, then a raw LZMA1 stream. Wraps lzma's raw decoder so output stays bounded."""

    def __init__(self) -> None:
        self._d: Any = None
        self._head = b""
        self.eof = False
        self.needs_input = True
        self.unused_data = b""

    def decompress(self, data: bytes, max_length: int) -> bytes:
        if self._d is None:
            self._head += data
            if len(self._head) < 4:
                return b""
            (props_size,) = struct.unpack_from("<H", self._head, 2)
            if props_size != 5:
                raise lzma.LZMAError(f"zip LZMA properties size is {props_size}, not 5")
            if len(self._head) < 9:
                return b""
            props = self._head[4:9]
            if props[0] >= 9 * 5 * 5:
                raise lzma.LZMAError("bad LZMA properties byte")
            lc, rest = props[0] % 9, props[0] // 9
            (dict_size,) = struct.unpack_from("<I", props, 1)
            lzma1 = {
                "id": lzma.FILTER_LZMA1,
                "lc": lc,
                "lp": rest % 5,
                "pb": rest // 5,
                "dict_size": dict_size,
            }
            self._d = lzma.LZMADecompressor(lzma.FORMAT_RAW, filters=[lzma1])
            data, self._head = self._head[9:], b""
        out: bytes = self._d.decompress(data, max_length)
        self.eof, self.needs_input, self.unused_data = self._d.eof, self._d.needs_input, self._d.unused_data
        return out


class ZipScanner(FormatScanner):
    name = "zipfile"
    malformed_rule = ZIP_MALFORMED

    def sniff(self, head: bytes, name: str) -> bool:
        return head[:4] in (LFH_SIG, EOCD_SIG) or head[:8] == DD_SIG + LFH_SIG

    def scan(self, stream: BinaryIO, size: int, location: Location, ctx: ScanContext) -> Iterator[Finding]:
        src = _Source(stream, size)
        layout = _Layout(src, ctx.limits, location)
        layout.parse()
        yield from layout.findings
        members = layout.members
        if layout.archive_problems:
            yield ZIP_INCONSISTENT_HEADERS(location, {"problems": layout.archive_problems})
        yield from self._structure(members, location, layout.has_central)
        keras = _is_keras(members, location.member or location.file)
        yield from _torch_layout(members, location)
        ts_top = _torchscript_top(members)
        ts_code: list[tuple[str, TorchScriptRefs]] = []
        total = 0
        for m in sorted(members, key=lambda m: (not m.in_central, m.index, m.header_offset)):
            yield from self._member(src, m, location, ctx, keras, total, ts_top, ts_code)
            total += m.produced
            if total > ctx.limits.max_total_uncompressed:
                raise LimitExceeded(
                    f"members expand to more than max_total_uncompressed={ctx.limits.max_total_uncompressed} bytes",
                    offset=m.header_offset,
                )
        if ts_top is not None:
            yield from torchscript_findings(ts_code, location, ts_top)

    # -- names, flags, headers ----------------------------------------------------------------

    def _structure(self, members: list[_Member], location: Location, has_central: bool) -> Iterator[Finding]:
        seen: dict[str, int] = {}
        for m in members:
            loc = location.child(m.name)
            ev: dict[str, Any] = {"header_offset": m.header_offset}
            if not m.in_central and has_central:
                yield ZIP_HIDDEN_MEMBER(
                    loc, {**ev, "name": m.name, "method": m.method, "compressed_size": m.csize}
                )
            yield from name_findings(m.name, loc, ZIP_PATH_TRAVERSAL, ZIP_SUSPICIOUS_NAME, ev)
            if m.in_central:
                seen[m.name] = seen.get(m.name, 0) + 1
                if seen[m.name] == 2:
                    yield ZIP_DUPLICATE_NAME(loc, {**ev, "name": m.name})
                mode = (m.external_attr >> 16) & 0o170000
                if mode == 0o120000:
                    pass  # reported with its target when the data is read
                elif mode in (0o020000, 0o060000, 0o010000, 0o140000):
                    yield ZIP_SPECIAL_FILE(loc, {**ev, "mode": oct(m.external_attr >> 16)})
            flags = m.flags | (m.local_flags or 0)
            odd = flags & ~_NORMAL_FLAGS
            if odd:
                bits = [b for b in range(16) if odd >> b & 1]
                yield ZIP_SUSPICIOUS_FLAGS(
                    loc, {**ev, "flags": f"{flags:#06x}", "bits": bits, "encrypted": bool(flags & 0x41)}
                )
            if m.local_name is not None and m.in_central and m.local_name != m.raw_name:
                yield ZIP_NAME_MISMATCH(
                    loc,
                    {
                        **ev,
                        "central_name": m.name,
                        "local_name": _decode_name(m.local_name, m.local_flags or 0),
                    },
                )
            problems = m.problems
            if m.error is None and m.method == 0 and m.csize != m.usize:
                problems = [*problems, f"stored member: compressed size {m.csize} != size {m.usize}"]
            if problems:
                yield ZIP_INCONSISTENT_HEADERS(loc, {**ev, "problems": problems})

    # -- one member ---------------------------------------------------------------------------

    def _member(
        self,
        src: _Source,
        m: _Member,
        location: Location,
        ctx: ScanContext,
        keras: bool,
        total: int,
        ts_top: str | None = None,
        ts_code: list[tuple[str, TorchScriptRefs]] | None = None,
    ) -> Iterator[Finding]:
        loc = location.child(m.name)
        if m.error is not None or m.data_offset is None:
            yield ZIP_MALFORMED(
                loc, {"header_offset": m.header_offset, "error": m.error or "data not located"}
            )
            return
        available = max(0, min(m.csize, src.size - m.data_offset))
        if available < m.csize:
            yield ZIP_MALFORMED(
                loc,
                {
                    "header_offset": m.header_offset,
                    "error": f"member data ({m.csize} bytes at {m.data_offset}) runs past the end of the file; "
                    f"scanning the {available} bytes present",
                },
            )
        if m.method not in _METHODS:
            yield ZIP_UNSUPPORTED_COMPRESSION(loc, {"method": m.method, "header_offset": m.header_offset})
            return
        budget = max(0, ctx.limits.max_total_uncompressed - total)
        extracted = self._extract(src, m, available, loc, ctx.limits, budget)
        try:
            yield from extracted.findings
            m.produced = extracted.length
            if (m.external_attr >> 16) & 0o170000 == 0o120000 and m.in_central:
                extracted.stream.seek(0)
                target = extracted.stream.read(MAX_SYMLINK_TARGET).decode("utf-8", "replace")
                extracted.stream.seek(0)
                escapes = (
                    target.startswith(("/", "\\"))
                    or bool(_DRIVE.match(target))
                    or escapes_root(
                        posixpath.normpath(
                            posixpath.join(posixpath.dirname(m.name), target.replace("\\", "/"))
                        )
                    )
                )
                yield ZIP_SYMLINK(
                    loc, {"header_offset": m.header_offset, "target": target, "escapes": escapes}
                )
            if keras and _base_name(m.name) == "config.json" and "/" not in m.name.strip("/"):
                extracted.stream.seek(0)
                raw = extracted.stream.read(ctx.limits.max_json_header + 1)
                extracted.stream.seek(0)
                yield from keras_config_findings(
                    raw, loc, ctx.limits, container="keras", source="config.json"
                )
            if m.is_dir and extracted.length == 0:
                return
            ts_member = ts_top is not None and m.in_central and m.name.startswith(f"{ts_top}/")
            if (
                ts_member
                and ts_code is not None
                and m.name.startswith(f"{ts_top}/code/")
                and m.name.endswith(".py")
            ):
                extracted.stream.seek(0)
                ts_code.append((m.name, torchscript_code_refs(extracted.stream.read(TS_CODE_READ))))
            extracted.stream.seek(0)
            # the pickles torch.jit.load reads (data.pkl, constants.pkl, code/*.debug_pkl)
            ts_pickle = ts_member and m.name.endswith((".pkl", ".debug_pkl"))
            yield from ctx.nested(extracted.stream, extracted.length, loc, m.name, torchscript=ts_pickle)
        finally:
            if extracted.owned:
                extracted.stream.close()

    def _extract(
        self, src: _Source, m: _Member, available: int, loc: Location, limits: Limits, budget: int
    ) -> _Extracted:
        assert m.data_offset is not None
        cap = min(limits.max_member_size, budget)
        if m.method == 0:
            return self._stored(src, m, available, loc, limits, budget, cap)
        spool: IO[bytes] = memory_spool(SPOOL_IN_MEMORY, "warden-zip-")
        try:
            run = _Inflate(src, m, available, cap, limits.max_compression_ratio, spool)
        except BaseException:
            spool.close()
            raise
        findings: list[Finding] = []
        ev: dict[str, Any] = {"header_offset": m.header_offset}
        method = _METHODS[m.method]
        if run.stop is not None:
            findings.append(self._limit_finding(m, loc, limits, budget, run.out, run.stop, run.consumed))
        elif run.error is not None:
            error = (
                f"{method} data is corrupt after {run.out} bytes ({run.error}); scanning what was inflated"
            )
            findings.append(ZIP_MALFORMED(loc, {**ev, "error": error}))
        elif not run.complete:
            findings.append(
                ZIP_MALFORMED(loc, {**ev, "error": f"{method} stream is truncated after {run.out} bytes"})
            )
        else:
            if run.crc != m.crc:
                findings.append(_crc_finding(m, loc, run.crc))
            if run.out != m.usize:
                problem = f"declared size {m.usize}, inflates to {run.out}"
                findings.append(ZIP_INCONSISTENT_HEADERS(loc, {**ev, "problems": [problem]}))
        spool.seek(0)
        return _Extracted(spool, run.out, findings, owned=True)

    def _stored(
        self, src: _Source, m: _Member, available: int, loc: Location, limits: Limits, budget: int, cap: int
    ) -> _Extracted:
        assert m.data_offset is not None
        findings: list[Finding] = []
        length = available
        if length > cap:
            findings.append(self._limit_finding(m, loc, limits, budget, length, "size"))
            length = cap
        elif length <= CRC_CHECK_MAX and length == m.csize:
            crc = 0
            for pos in range(0, length, CHUNK):
                crc = zlib.crc32(src.read_at(m.data_offset + pos, min(CHUNK, length - pos)), crc)
            if crc != m.crc:
                findings.append(_crc_finding(m, loc, crc))
        return _Extracted(SubStream(src.stream, m.data_offset, length), length, findings, owned=False)

    @staticmethod
    def _limit_finding(
        m: _Member, loc: Location, limits: Limits, budget: int, out: int, why: str, consumed: int = 0
    ) -> Finding:
        if why == "ratio":
            ratio = limits.max_compression_ratio
            detail = f"inflated {out} bytes from {consumed} compressed, over max_compression_ratio={ratio}"
        elif budget < limits.max_member_size:
            raise LimitExceeded(
                f"member {m.name!r} takes the archive past max_total_uncompressed={limits.max_total_uncompressed}",
                offset=m.header_offset,
            )
        else:
            detail = f"member is larger than max_member_size={limits.max_member_size}"
        evidence = {"header_offset": m.header_offset, "declared_size": m.usize, "compressed_size": m.csize}
        return ZIP_BOMB(loc, {**evidence, "limit": why, "detail": detail})


def _crc_finding(m: _Member, loc: Location, computed: int) -> Finding:
    evidence = {"header_offset": m.header_offset, "stored": f"{m.crc:#010x}", "computed": f"{computed:#010x}"}
    return ZIP_CRC_MISMATCH(loc, evidence)


class _Inflate:
    """Decompress one member into ``spool``, stopping at ``cap`` bytes or when the output outgrows
    ``ratio`` × the compressed bytes consumed (past RATIO_FLOOR). Errors are recorded, not raised:
    whatever was inflated before them is still scanned."""

    def __init__(
        self, src: _Source, m: _Member, available: int, cap: int, ratio: float, spool: IO[bytes]
    ) -> None:
        assert m.data_offset is not None
        self.out = self.crc = self.consumed = 0
        self.complete = False
        self.error: str | None = None
        self.stop: str | None = None
        d = _decompressor(m.method)
        pos = 0
        try:
            while pos < available and self.stop is None:
                chunk = src.read_at(m.data_offset + pos, min(64 * 1024, available - pos))
                if not chunk:
                    break
                pos += len(chunk)
                pending: bytes | None = chunk
                while pending is not None and self.stop is None:
                    data, pending = _step(d, m.method, pending)
                    self.consumed = pos - len(pending or b"") - _unused(d)
                    grown = self.out + len(data)
                    if grown > cap:
                        data = data[: cap - self.out]
                        self.stop = "size"
                    elif grown > RATIO_FLOOR and grown > ratio * max(1, self.consumed):
                        self.stop = "ratio"
                    self.out += len(data)
                    self.crc = zlib.crc32(data, self.crc)
                    spool.write(data)
                if _finished(d):
                    self.complete = True
                    break
        except (zlib.error, OSError, EOFError, ValueError, lzma.LZMAError) as exc:
            self.error = f"{type(exc).__name__}: {exc}"
        if not self.complete and self.error is None and m.method == 14 and pos >= available:
            self.complete = self.out == m.usize  # LZMA without an end marker ends at its declared size


def _step(d: Any, method: int, data: bytes) -> tuple[bytes, bytes | None]:
    """Inflate at most CHUNK bytes of output from ``data``; return (output, input still pending)."""
    out: bytes = d.decompress(data, CHUNK)
    if method == 8:
        return out, (d.unconsumed_tail or None)
    # bzip2 / lzma keep leftover input inside the decompressor; b"" asks for more output from it.
    return out, (b"" if not d.needs_input and not d.eof else None)


def _unused(d: Any) -> int:
    return len(getattr(d, "unused_data", b"") or b"")


def _finished(d: Any) -> bool:
    return bool(getattr(d, "eof", False))


def _base_name(name: str) -> str:
    return name.replace("\\", "/").rsplit("/", 1)[-1].split("\x00", 1)[0]


def _is_keras(members: list[_Member], archive_name: str = "") -> bool:
    """A Keras v3 archive: config.json plus its usual companions, or a ``.keras`` file, or an archive
    holding nothing but config.json (keras.saving.load_model deserialises the config, Lambda layers
    included, before it looks for weights)."""
    names = {m.name.split("\x00", 1)[0] for m in members}
    if "config.json" not in names:
        return False
    companions = {"metadata.json", "model.weights.h5", "model.weights.npz"} & names
    return bool(companions) or archive_name.lower().endswith(".keras") or names <= {"config.json", "assets/"}


def _torchscript_top(members: list[_Member]) -> str | None:
    """The top folder of a TorchScript archive, or None. torch.load takes an archive for TorchScript
    (and hands it to torch.jit.load) when ``constants.pkl`` is among its records
    (``torch.serialization._is_torchscript_zip``); records are the names under the one top folder."""
    central = [m.name for m in members if m.in_central]
    if not central or "/" not in central[0]:
        return None
    top = central[0].split("/", 1)[0]
    names = set(central)
    if f"{top}/constants.pkl" in names and f"{top}/data.pkl" in names:
        return top
    return None


def _torch_layout(members: list[_Member], location: Location) -> Iterator[Finding]:
    """PyTorch zip checks: extra pickles, version record, single top folder, torch.package code."""
    central = [m for m in members if m.in_central]
    names = [m.name for m in members]
    if not any(_base_name(n) == "data.pkl" for n in names) or not central:
        return
    first = central[0].name
    top = first.split("/", 1)[0] if "/" in first else ""
    torchscript = any(n.startswith(f"{top}/code/") for n in names)
    expected = {f"{top}/data.pkl"} | ({f"{top}/constants.pkl"} if torchscript else set())
    package = any(n.endswith(".data/extern_modules") for n in names)
    if package:
        modules = sorted(n for n in names if n.endswith(".py"))
        yield TORCH_PACKAGE_CODE(location, {"modules": modules[:50], "count": len(modules)})
    else:
        extra = sorted(n for n in names if n.lower().endswith(".pkl") and n not in expected)
        if extra:
            yield TORCH_EXTRA_PICKLE(
                location, {"archive": top, "extra_pickles": extra[:50], "count": len(extra)}
            )
    if not {f"{top}/version", f"{top}/.data/version"} & set(names):
        yield TORCH_ZIP_STRUCTURE(
            location,
            {"archive": top, "problem": "no version record (torch.load refuses this archive)"},
            severity=Severity.LOW,
        )
    outside = sorted(n for n in names if not top or n.split("/", 1)[0] != top)
    if outside:
        yield TORCH_ZIP_STRUCTURE(
            location,
            {
                "archive": top,
                "problem": "members outside the archive's top folder",
                "members": outside[:50],
                "count": len(outside),
            },
        )
