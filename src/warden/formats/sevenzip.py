"""7z archives: members listed and decompressed by ``py7zr`` into bounded in-process spools (never
extracted into a directory), then handed back to the core like zip and tar members.

The same guards as the zip and tar scanners: member names are checked for traversal and odd
characters (``warden.formats.zipfile.name_findings``), symlinks are reported with their target,
and every byte written by the decompressor goes through a capped writer that stops the archive at
``Limits.max_member_size`` per member, ``Limits.max_total_uncompressed`` for all members, and
``Limits.max_compression_ratio`` of everything produced over the archive's size (7z compresses
whole solid blocks, so the ratio is taken over the archive, past the same 8 MiB floor as zip).
Member count is capped by ``Limits.max_members`` before anything is decompressed. Encrypted
archives cannot be checked without the password: that is a finding, not a silent skip.

Hand-written here is only the writer and the limits; the 7z format itself is ``py7zr``'s.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any, BinaryIO

from warden.errors import FormatError, LimitExceeded
from warden.formats.interface import FormatScanner, Limits, ScanContext
from warden.formats.spool import memory_spool
from warden.formats.zipfile import RATIO_FLOOR, SPOOL_IN_MEMORY, escapes_root, name_findings
from warden.report.model import Finding, Location, Severity
from warden.rules import rule

SEVENZ_MAGIC = b"7z\xbc\xaf\x27\x1c"

SEVENZ_MALFORMED = rule(
    "SEVENZ-MALFORMED",
    Severity.MEDIUM,
    "7z archive could not be read",
    "The file starts like a 7z archive but py7zr cannot read it (truncated, corrupt, or an unsupported "
    "method). Its members were not checked.",
    "Obtain an intact copy; do not extract or load it until it scans cleanly.",
)
SEVENZ_ENCRYPTED = rule(
    "SEVENZ-ENCRYPTED",
    Severity.HIGH,
    "7z archive is encrypted: its members could not be checked",
    "The archive (or its header) is password-protected, so the scanner could not read the members. "
    "Whatever they hold was not checked.",
    "Ask for an unencrypted archive, or extract it in a sandbox and scan the extracted files.",
)
SEVENZ_PATH_TRAVERSAL = rule(
    "SEVENZ-PATH-TRAVERSAL",
    Severity.HIGH,
    "7z member name escapes the extraction directory",
    "A member name is absolute, has a drive letter or '..' components, or uses backslashes: "
    "extracting the archive writes outside the target directory.",
    "Do not extract the archive; repackage it with relative names.",
)
SEVENZ_SUSPICIOUS_NAME = rule(
    "SEVENZ-SUSPICIOUS-NAME",
    Severity.MEDIUM,
    "7z member name has control characters",
    "A member name contains NUL or control characters, used to make tools display one name and "
    "write another.",
    "Repackage the archive with plain names.",
)
SEVENZ_SYMLINK = rule(
    "SEVENZ-SYMLINK",
    Severity.MEDIUM,
    "7z archive contains a symbolic link",
    "Extracting the archive creates a symlink; one pointing outside the extraction directory lets "
    "later members or loaders write or read elsewhere.",
    "Replace the link with the file it points to.",
)
SEVENZ_BOMB = rule(
    "SEVENZ-BOMB",
    Severity.HIGH,
    "7z archive expands past a safety limit (decompression bomb)",
    "Decompressing the archive produced more than a member-size, total-size or compression-ratio "
    "limit allows. It was stopped there; the rest was not checked.",
    "Do not extract the archive. If it is legitimate, re-scan with raised limits.",
)

_MAX_LINK = 4096


class _Stop(Exception):
    """Raised from inside py7zr's decompression loop when a limit is hit."""

    def __init__(self, why: str, name: str) -> None:
        super().__init__(why)
        self.why, self.name = why, name


class _Writer:
    """py7zr's ``Py7zIO`` for one member: a spool that counts what it is given."""

    def __init__(self, owner: _Factory, name: str) -> None:
        self.owner, self.name = owner, name
        self.spool: IO[bytes] = memory_spool(SPOOL_IN_MEMORY, "warden-7z-")
        self.length = 0

    def write(self, s: bytes | bytearray) -> int:
        lim = self.owner.limits
        self.length += len(s)
        self.owner.total += len(s)
        if self.length > lim.max_member_size:
            raise _Stop(f"member is larger than max_member_size={lim.max_member_size}", self.name)
        if self.owner.total > lim.max_total_uncompressed:
            raise _Stop(f"members expand past max_total_uncompressed={lim.max_total_uncompressed}", self.name)
        floor = max(RATIO_FLOOR, self.owner.archive_size)
        if (
            self.owner.total > floor
            and self.owner.total > lim.max_compression_ratio * self.owner.archive_size
        ):
            raise _Stop(
                f"{self.owner.total} bytes from a {self.owner.archive_size}-byte archive, over "
                f"max_compression_ratio={lim.max_compression_ratio}",
                self.name,
            )
        return self.spool.write(s)

    def read(self, size: int | None = None) -> bytes:
        return self.spool.read(-1 if size is None else size)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self.spool.seek(offset, whence)

    def flush(self) -> None:
        self.spool.flush()

    def close(self) -> None:
        """py7zr closes a writer when a member is done; the spool stays open until it is scanned."""

    def size(self) -> int:
        return self.length


class _Factory:
    def __init__(self, limits: Limits, archive_size: int) -> None:
        self.limits, self.archive_size = limits, max(1, archive_size)
        self.total = 0
        self.writers: dict[str, _Writer] = {}

    def create(self, filename: str) -> _Writer:
        w = _Writer(self, filename)
        old = self.writers.pop(filename, None)
        if old is not None:
            old.spool.close()
        self.writers[filename] = w
        return w

    def close(self) -> None:
        for w in self.writers.values():
            w.spool.close()


def _alias_members(archive: Any) -> dict[str, str]:
    """Give every member a plain alias before extracting, and return alias → real name.

    py7zr sanitises output names even when writing to a factory and refuses the whole archive when
    one name escapes (``../x``): that would leave every member unchecked. The real names were already
    judged by ``name_findings``; decompressing under aliases scans every member's bytes anyway. Uses
    py7zr's ``FileInfo._file_info`` (1.x); without it the real names are used."""
    out: dict[str, str] = {}
    for f in getattr(archive, "files", ()):
        info = getattr(f, "_file_info", None)
        if not isinstance(info, dict) or "filename" not in info:
            continue
        alias = f"warden-member-{f.id}"
        out[alias] = str(info["filename"])
        info["filename"] = alias
    return out


class SevenZipScanner(FormatScanner):
    name = "sevenzip"
    malformed_rule = SEVENZ_MALFORMED

    def sniff(self, head: bytes, name: str) -> bool:
        return head.startswith(SEVENZ_MAGIC)

    def scan(self, stream: BinaryIO, size: int, location: Location, ctx: ScanContext) -> Iterator[Finding]:
        try:
            import py7zr
            from py7zr.exceptions import (
                ArchiveError,
                Bad7zFile,
                PasswordRequired,
                UnsupportedCompressionMethodError,
            )
        except ImportError as exc:
            raise FormatError(f"cannot read 7z archives: {exc} (pip install py7zr)") from None
        errors: tuple[type[BaseException], ...] = (
            Bad7zFile, ArchiveError, UnsupportedCompressionMethodError, EOFError, OSError, ValueError,
            KeyError, IndexError, TypeError, AttributeError, LookupError, RuntimeError,
        )  # fmt: skip
        stream.seek(0)
        try:
            archive = py7zr.SevenZipFile(stream, mode="r")
        except PasswordRequired:
            yield SEVENZ_ENCRYPTED(location, {"what": "header"})
            return
        except errors as exc:
            raise FormatError(f"7z: {type(exc).__name__}: {exc}"[:300]) from None
        with archive:
            try:
                infos = archive.list()
            except errors as exc:
                raise FormatError(f"7z: cannot list members: {exc}"[:300]) from None
            if len(infos) > ctx.limits.max_members:
                raise LimitExceeded(
                    f"7z lists {len(infos)} members, over max_members={ctx.limits.max_members}"
                )
            yield from self._names(infos, location)
            if archive.needs_password():
                yield SEVENZ_ENCRYPTED(location, {"what": "members", "members": len(infos)})
                return
            aliases = _alias_members(archive)
            factory = _Factory(ctx.limits, size)
            try:
                stop: _Stop | None = None
                try:
                    archive.extract(factory=factory)  # type: ignore[arg-type]
                except _Stop as exc:
                    stop = exc
                except PasswordRequired:
                    yield SEVENZ_ENCRYPTED(location, {"what": "members", "members": len(infos)})
                    return
                except errors as exc:
                    yield SEVENZ_MALFORMED(location, {"error": f"{type(exc).__name__}: {exc}"[:300]})
                if stop is not None:
                    yield SEVENZ_BOMB(
                        location.child(stop.name), {"detail": stop.why, "produced": factory.total}
                    )
                links = {i.filename for i in infos if getattr(i, "is_symlink", False)}
                for alias, w in list(factory.writers.items()):
                    name = aliases.get(alias, alias)
                    loc = location.child(name)
                    if name in links:
                        w.spool.seek(0)
                        target = w.spool.read(_MAX_LINK).decode("utf-8", "replace")
                        escapes = target.startswith(("/", "\\")) or escapes_root(
                            "/".join([*name.replace("\\", "/").split("/")[:-1], target.replace("\\", "/")])
                        )
                        yield SEVENZ_SYMLINK(loc, {"target": target, "escapes": escapes},
                                             severity=Severity.HIGH if escapes else Severity.MEDIUM)  # fmt: skip
                        continue
                    w.spool.seek(0)
                    yield from ctx.nested(w.spool, w.length, loc, name)  # type: ignore[arg-type]
                    w.spool.close()
            finally:
                factory.close()

    @staticmethod
    def _names(infos: list[Any], location: Location) -> Iterator[Finding]:
        for info in infos:
            name = str(info.filename)
            yield from name_findings(
                name, location.child(name), SEVENZ_PATH_TRAVERSAL, SEVENZ_SUSPICIOUS_NAME, {}
            )
