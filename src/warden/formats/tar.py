"""Tar archives (plain; compressed ones arrive here through the compressed-stream scanner), including
the legacy PyTorch tar checkpoint (members ``sys_info``, ``pickle``, ``storages``, ``tensors``).

Python's ``tarfile`` parses the headers (it handles ustar, GNU and pax variants); nothing is ever
extracted. Regular members are handed back to the core as zero-copy windows on the archive (the
stream is seekable), sparse members through a bounded spooled temp file. What is checked by hand:
member names (traversal), links (symlinks and hardlinks, especially those leaving the archive),
device files, counts and sizes, duplicate names, and bytes after the end-of-archive marker — where
tarfile stops but GNU tar (``--ignore-zeros`` or after a bad header) keeps reading.

tarfile reads long-name and pax headers whole into memory; the stream it sees refuses any single
read above ``_MAX_HEADER_READ`` so a forged header size cannot exhaust memory.
"""

from __future__ import annotations

import io
import posixpath
import tarfile
from collections.abc import Iterator
from typing import IO, Any, BinaryIO

from warden.errors import FormatError, LimitExceeded
from warden.formats.interface import FormatScanner, ScanContext
from warden.formats.spool import memory_spool
from warden.formats.zipfile import SubStream, escapes_root, name_findings
from warden.report.model import Finding, Location, Severity
from warden.rules import rule

BLOCK = 512
_MAX_HEADER_READ = 64 << 20  # largest single read tarfile may make (long names, pax records)
_TRAILING_SCAN = 64 << 20  # bytes after the end marker inspected for data and hidden headers
_SPOOL_IN_MEMORY = 16 << 20
_LEGACY_TORCH = {"storages", "tensors", "pickle"}

TAR_MALFORMED = rule(
    "TAR-MALFORMED",
    Severity.MEDIUM,
    "Malformed tar archive",
    "The tar headers could not be parsed (bad checksum, truncated member), so the rest of the "
    "archive was not checked.",
    "Do not extract or load the archive; re-create it from a trusted source.",
)
TAR_PATH_TRAVERSAL = rule(
    "TAR-PATH-TRAVERSAL",
    Severity.HIGH,
    "Tar member name escapes the extraction directory",
    "A member name is absolute or climbs with '..' (or uses backslashes/drive letters): extracting "
    "writes outside the target directory (CVE-2007-4559 class).",
    "Do not extract the archive; if needed use tarfile's data filter (extractall(filter='data')).",
)
TAR_LINK_ESCAPE = rule(
    "TAR-LINK-ESCAPE",
    Severity.HIGH,
    "Tar link points outside the archive",
    "A symlink or hardlink targets an absolute path or climbs above the archive root: extraction "
    "then reads or overwrites files elsewhere on the machine (e.g. /etc).",
    "Do not extract the archive; model archives have no reason to link outside themselves.",
)
TAR_LINK = rule(
    "TAR-LINK",
    Severity.LOW,
    "Tar archive contains links",
    "A symlink or hardlink inside the archive. It stays inside, but links are unusual in model "
    "archives and let later members write through them.",
    "Prefer archives of regular files.",
)
TAR_SPECIAL_FILE = rule(
    "TAR-SPECIAL-FILE",
    Severity.MEDIUM,
    "Tar member is a device, FIFO or set-id file",
    "Character/block devices, FIFOs and setuid/setgid files have no place in a model archive; "
    "extracting them as root creates them.",
    "Re-create the archive with regular files only.",
)
TAR_DUPLICATE_NAME = rule(
    "TAR-DUPLICATE-NAME",
    Severity.MEDIUM,
    "Tar archive has two members with the same name",
    "tarfile's getmember() and extraction keep the last copy, so the copy a scanner reports may not "
    "be the one that is loaded. Every copy was scanned.",
    "Re-create the archive with unique names.",
)
TAR_MEMBER_TOO_LARGE = rule(
    "TAR-MEMBER-TOO-LARGE",
    Severity.HIGH,
    "Tar member exceeds the size limit",
    "A member is larger than max_member_size; only its first max_member_size bytes were scanned.",
    "Review why the member is so large; re-scan with raised limits if it is legitimate.",
)
TAR_TRAILING_DATA = rule(
    "TAR-TRAILING-DATA",
    Severity.LOW,
    "Data after the end of the tar archive",
    "Non-zero bytes follow the end-of-archive marker (or a header tarfile rejected). Python's "
    "tarfile stops there; GNU tar can keep reading and find more members.",
    "Re-create the archive with a standard tool.",
)
TAR_TORCH_LEGACY = rule(
    "TAR-TORCH-LEGACY",
    Severity.INFO,
    "Legacy PyTorch tar checkpoint",
    "A pre-1.6 torch.save tar checkpoint: its 'pickle', 'storages' and 'tensors' members are "
    "pickles that torch.load unpickles; each was scanned.",
    "Convert the checkpoint to safetensors.",
)


class _CappedReader(io.RawIOBase):
    """The archive stream as tarfile sees it: same bytes, but no single huge read."""

    def __init__(self, base: IO[bytes]) -> None:
        super().__init__()
        self._base = base

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0 or size > _MAX_HEADER_READ:
            raise LimitExceeded(
                f"tar header data larger than {_MAX_HEADER_READ} bytes", offset=self._base.tell()
            )
        return self._base.read(size)

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._base.seek(offset, whence)

    def tell(self) -> int:
        return self._base.tell()


def _text(name: str) -> str:
    """tarfile decodes names with surrogateescape; findings need encodable text."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _checksum_ok(block: bytes) -> bool:
    field = block[148:156].replace(b"\x00", b" ").strip()
    if not field or any(c not in b"01234567" for c in field):
        return False
    stored = int(field, 8)
    unsigned = sum(block[:148]) + 8 * 32 + sum(block[156:512])
    signed = sum((b - 256 if b > 127 else b) for b in block[:148] + block[156:512]) + 8 * 32
    return stored in (unsigned, signed)


class TarScanner(FormatScanner):
    name = "tar"
    malformed_rule = TAR_MALFORMED

    def sniff(self, head: bytes, name: str) -> bool:
        if len(head) < BLOCK:
            return False
        block = head[:BLOCK]
        if block[257:262] == b"ustar":
            return _checksum_ok(block)
        # Old V7 archives have no magic: a valid header checksum and a printable name stand in for it.
        first = block[:100].split(b"\x00", 1)[0]
        return bool(first) and all(32 <= c < 127 for c in first) and _checksum_ok(block)

    def scan(self, stream: BinaryIO, size: int, location: Location, ctx: ScanContext) -> Iterator[Finding]:
        limits = ctx.limits
        reader = _CappedReader(stream)
        try:
            tar = tarfile.open(fileobj=reader, mode="r:")
        except tarfile.TarError as exc:
            raise FormatError(f"not a readable tar archive: {exc}", offset=0) from None
        names: dict[str, int] = {}
        count = total = 0
        while True:
            try:
                info = tar.next()
            except (tarfile.TarError, EOFError, ValueError, UnicodeError) as exc:
                raise FormatError(f"bad tar header: {exc}", offset=tar.offset) from None
            if info is None:
                break
            count += 1
            if count > limits.max_members:
                raise LimitExceeded(f"more than max_members={limits.max_members} members", offset=info.offset)
            tar.members.clear()  # type: ignore[attr-defined]  # tarfile keeps every TarInfo; we do not
            name = _text(info.name)
            loc = location.child(name)
            ev: dict[str, Any] = {"header_offset": info.offset}
            yield from name_findings(name, loc, TAR_PATH_TRAVERSAL, None, ev)
            names[name] = names.get(name, 0) + 1
            if names[name] == 2:
                yield TAR_DUPLICATE_NAME(loc, {**ev, "name": name})
            if info.issym() or info.islnk():
                yield self._link(info, loc, ev)
                continue
            if info.ischr() or info.isblk() or info.isfifo():
                kind = "character device" if info.ischr() else "block device" if info.isblk() else "FIFO"
                yield TAR_SPECIAL_FILE(loc, {**ev, "kind": kind, "mode": oct(info.mode)})
                continue
            if info.mode & 0o6000 and info.isfile():
                yield TAR_SPECIAL_FILE(
                    loc, {**ev, "kind": "setuid/setgid file", "mode": oct(info.mode)}, severity=Severity.LOW
                )
            if not info.isfile() or info.size == 0:
                continue
            length = info.size
            if length > limits.max_member_size:
                yield TAR_MEMBER_TOO_LARGE(loc, {**ev, "size": length, "limit": limits.max_member_size})
                length = limits.max_member_size
            total += length
            if total > limits.max_total_uncompressed:
                raise LimitExceeded(
                    f"members exceed max_total_uncompressed={limits.max_total_uncompressed} bytes",
                    offset=info.offset,
                )
            yield from self._nest(tar, info, stream, size, length, loc, name, ctx)
        yield from self._trailing(stream, size, tar.offset, location)
        if _LEGACY_TORCH <= set(names):
            yield TAR_TORCH_LEGACY(location, {"members": sorted(_LEGACY_TORCH | ({"sys_info"} & set(names)))})

    @staticmethod
    def _link(info: tarfile.TarInfo, loc: Location, ev: dict[str, Any]) -> Finding:
        target = _text(info.linkname)
        norm = target.replace("\\", "/")
        absolute = norm.startswith("/") or (len(norm) > 1 and norm[1] == ":")
        if info.issym():  # relative to the link's own directory
            resolved = posixpath.normpath(posixpath.join(posixpath.dirname(_text(info.name)), norm))
        else:  # hardlinks name another member, relative to the archive root
            resolved = posixpath.normpath(norm)
        kind = "symlink" if info.issym() else "hardlink"
        evidence = {**ev, "kind": kind, "target": target, "resolved": resolved}
        if absolute or escapes_root(resolved) or resolved == "..":
            return TAR_LINK_ESCAPE(loc, evidence)
        return TAR_LINK(loc, evidence)

    @staticmethod
    def _nest(
        tar: tarfile.TarFile,
        info: tarfile.TarInfo,
        stream: BinaryIO,
        size: int,
        length: int,
        loc: Location,
        name: str,
        ctx: ScanContext,
    ) -> Iterator[Finding]:
        if not info.issparse():
            if info.offset_data + length > size:
                raise FormatError(
                    f"member {info.name!r} ({info.size} bytes at {info.offset_data}) runs past the end of the archive",
                    offset=info.offset,
                )
            yield from ctx.nested(SubStream(stream, info.offset_data, length), length, loc, name)  # type: ignore[arg-type]
            return
        # Sparse members are reassembled by tarfile; copy the (bounded) result to a temp file.
        with memory_spool(_SPOOL_IN_MEMORY, "warden-tar-") as tmp:
            try:
                member = tar.extractfile(info)
                if member is None:
                    return
                left = length
                while left > 0:
                    data = member.read(min(1 << 20, left))
                    if not data:
                        break
                    tmp.write(data)
                    left -= len(data)
            except (tarfile.TarError, EOFError, ValueError, OSError) as exc:
                raise FormatError(
                    f"cannot read sparse member {info.name!r}: {exc}", offset=info.offset
                ) from None
            tmp.seek(0)
            yield from ctx.nested(tmp, length - left, loc, name)  # type: ignore[arg-type]

    @staticmethod
    def _trailing(stream: BinaryIO, size: int, end: int, location: Location) -> Iterator[Finding]:
        """Non-zero bytes after the end marker, and tar headers hiding there."""
        pos = end
        stop = min(size, end + _TRAILING_SCAN)
        nonzero_at: int | None = None
        headers: list[int] = []
        while pos < stop:
            stream.seek(pos)
            chunk = stream.read(min(1 << 20, stop - pos))
            if not chunk:
                break
            if nonzero_at is None and chunk.strip(b"\x00"):
                nonzero_at = pos + len(chunk) - len(chunk.lstrip(b"\x00"))
            for off in range(0, len(chunk) - BLOCK + 1, BLOCK):
                block = chunk[off : off + BLOCK]
                if block[257:262] == b"ustar" and _checksum_ok(block) and len(headers) < 16:
                    headers.append(pos + off)
            pos += len(chunk)
        if nonzero_at is None:
            return
        evidence: dict[str, Any] = {
            "end_of_archive": end,
            "first_nonzero": nonzero_at,
            "trailing_bytes": size - end,
        }
        if headers:
            evidence["hidden_headers_at"] = headers
            yield TAR_TRAILING_DATA(
                location.at(offset=nonzero_at),
                evidence,
                severity=Severity.HIGH,
                title="Tar members hidden after the end of the archive",
            )
        else:
            yield TAR_TRAILING_DATA(location.at(offset=nonzero_at), evidence)
