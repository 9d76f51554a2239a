"""The scanning core: handed the format scanners, walks a model's files and yields findings.

For each file (and, through ``ScanContext.nested``, each member of a container) it reads the head,
asks the scanners in order which one the bytes call for, runs it, and turns parse failures into a
finding that names the file and the problem. Findings yielded before a failure are kept, so a
malicious file that is also partly broken is still reported as malicious.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from warden.errors import FormatError, LimitExceeded
from warden.formats.interface import HEAD_BYTES, FormatScanner, Limits, ScanContext
from warden.report.model import Finding, Location, Severity
from warden.rules import rule
from warden.scan.budget import BudgetExceeded, FileBudget, watchdog

INTERNAL_ERROR = rule(
    "SCAN-INTERNAL-ERROR",
    Severity.MEDIUM,
    "Scanner failed unexpectedly on this file",
    "A parser raised an unexpected error. The file was not fully checked; treat it as unverified.",
    "Report the file to the Warden maintainers; do not load it until it scans cleanly.",
)
LIMIT_HIT = rule(
    "SCAN-LIMIT-EXCEEDED",
    Severity.HIGH,
    "File exceeds a safety limit of the scanner",
    "A size, count, depth or ratio limit was exceeded (zip bomb, absurd length field, deep nesting). "
    "Content past the limit was not checked.",
    "Do not load the file. If it is legitimate, re-scan with raised limits and review why it is so large.",
)
UNRECOGNISED = rule(
    "FORMAT-UNRECOGNISED",
    Severity.MEDIUM,
    "Model-like file in an unrecognised format",
    "The file has a name used for model weights but its bytes match no format Warden can parse, "
    "so nothing about it could be checked.",
    "Find out what the file is before loading it; convert weights to safetensors.",
)
EMPTY_FILE = rule(
    "FORMAT-EMPTY-FILE",
    Severity.MEDIUM,
    "Model file is empty (0 bytes)",
    "The file has a name used for model weights or configuration but holds no bytes: a truncated "
    "download or upload. Nothing in it could be checked, and a loader will fail or fall back to "
    "another file.",
    "Download the file again and compare its size and SHA-256 with the publisher's.",
)
BUDGET_EXCEEDED = rule(
    "SCAN-BUDGET-EXCEEDED",
    Severity.HIGH,
    "File not fully checked within the scanner's time or memory budget",
    "Scanning the file ran past its time budget (Limits.max_file_seconds plus a share per GiB) or "
    "its memory budget (Limits.max_file_memory) and was stopped there. What was found before is "
    "reported; the rest of the file was not checked. High when the format can carry code (pickles, "
    "archives, templates, source), medium for weights-only formats.",
    "Do not load the file until it scans completely: re-scan on an idle machine or with raised "
    "limits, and find out why it is so expensive to parse (it may be built to exhaust scanners).",
)
# Formats that cannot carry code: a budget stop on them is medium, not high.
_WEIGHTS_ONLY = frozenset({"safetensors"})
MISMATCH = rule(
    "FORMAT-MISMATCH",
    Severity.MEDIUM,
    "File content does not match its extension",
    "The bytes are a different format from the one the file name claims (e.g. a pickle named "
    ".safetensors). Loaders that trust the name may run code the user did not expect.",
    "Rename the file to its real format or replace it with a safetensors export.",
)

# Formats that are also walked when their sniff matches but another scanner was picked first: these
# are the ones whose loaders execute code, so a polyglot must not hide them behind an innocent parser.
POLYGLOT_ALSO = frozenset({"pickle"})
# Extensions that mean "model weights or serialized objects": an unparseable one is worth a finding.
MODEL_EXTENSIONS = {
    ".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle", ".joblib", ".safetensors", ".gguf", ".ggml",
    ".h5", ".hdf5", ".keras", ".onnx", ".npy", ".npz", ".msgpack", ".model", ".dat", ".mar", ".tar",
    ".zip", ".pb", ".tflite",
}  # fmt: skip
# What each scanner's name says an extension should hold, for FORMAT-MISMATCH.
EXPECTED_FORMAT = {
    ".safetensors": {"safetensors"},
    ".gguf": {"gguf"},
    ".npy": {"numpy"},
    ".npz": {"zipfile"},
    ".onnx": {"onnx"},
    ".json": {"jsonconfig"},
    ".jinja": {"template"},
    ".py": {"python"},
    ".keras": {"zipfile"},
    ".h5": {"hdf5"},
    ".hdf5": {"hdf5"},
    ".pt": {"zipfile", "pickle", "tar"},
    ".pth": {"zipfile", "pickle", "tar"},
    ".ckpt": {"zipfile", "pickle", "tar"},
}


@dataclass(frozen=True)
class FileOutcome:
    """How one file went: which parser handled it, or why none did (skipped is a result, not an error)."""

    path: str
    format: str | None
    status: str  # "scanned" | "malformed" | "unrecognised" | "skipped" | "error" | "budget"
    reason: str = ""


class Scanner:
    """Holds the scanners and limits; ``scan_file`` yields findings and records an outcome per file."""

    def __init__(self, scanners: Sequence[FormatScanner], limits: Limits | None = None) -> None:
        self.scanners = list(scanners)
        self.limits = limits or Limits()
        self.outcomes: list[FileOutcome] = []

    def _tail_zip(
        self, picked: FormatScanner | None, head: bytes, stream: BinaryIO, size: int
    ) -> FormatScanner | None:
        """The zip scanner, when the stream ends with a zip end record but does not start like a
        zip and no parser other than pickle claimed it."""
        if (picked is not None and picked.name not in POLYGLOT_ALSO) or _zip_head(head) or size < 22:
            return None
        zip_scanner = next((s for s in self.scanners if s.name == "zipfile"), None)
        if zip_scanner is None:
            return None
        tail_len = min(size, 22 + 0xFFFF)
        stream.seek(size - tail_len)
        tail = stream.read(tail_len)
        stream.seek(0)
        at = tail.rfind(b"PK\x05\x06")
        return zip_scanner if at >= 0 and tail_len - at >= 22 else None

    def _deep_hdf5(self, stream: BinaryIO, size: int) -> FormatScanner | None:
        hdf5 = next((s for s in self.scanners if s.name == "hdf5"), None)
        if hdf5 is None:
            return None
        offset = HEAD_BYTES
        while offset + 8 <= size:
            stream.seek(offset)
            if stream.read(8) == b"\x89HDF\r\n\x1a\n":
                stream.seek(0)
                return hdf5
            offset *= 2
        stream.seek(0)
        return None

    def pick(self, head: bytes, name: str) -> FormatScanner | None:
        for scanner in self.scanners:
            if scanner.sniff(head, name):
                return scanner
        return None

    def scan_file(self, path: Path, rel: str, root: Path | None) -> Iterator[Finding]:
        location = Location(file=rel)
        try:
            size = path.stat().st_size
            budget = FileBudget(self.limits, size)
            ctx = ScanContext(limits=self.limits, nested_scan=self._scan_stream, root=root, budget=budget)
            with path.open("rb") as fh, watchdog(budget):
                yield from self._scan_stream(fh, size, location, rel, ctx, top_level=True)
        except OSError as exc:
            self.outcomes.append(FileOutcome(rel, None, "error", f"cannot read: {exc.strerror or exc}"))

    def _scan_stream(
        self,
        stream: BinaryIO,
        size: int,
        location: Location,
        name: str,
        ctx: ScanContext,
        top_level: bool = False,
    ) -> Iterator[Finding]:
        if ctx.depth > self.limits.max_depth:
            yield LIMIT_HIT(location, {"limit": "max_depth", "value": self.limits.max_depth})
            return
        head = stream.read(HEAD_BYTES)
        stream.seek(0)
        scanner = self.pick(head, name)
        suffix = PurePosixPath(name).suffix.lower()
        # A zip with bytes before its first local header has its magic at the end, not the head
        # (Python's zipfile and everything built on it read it). Take it as a zip when no parser
        # claimed the head, and also walk it as one when the head is a pickle (a polyglot).
        tail_zip = self._tail_zip(scanner, head, stream, size)
        if scanner is None and tail_zip is not None:
            scanner, tail_zip = tail_zip, None
        if scanner is None or scanner.name in POLYGLOT_ALSO:
            # HDF5 user blocks: libhdf5 looks for the superblock at 0, 512, 1024, 2048, 4096, ...
            # (every power of two from 512); the head only shows the first four.
            hdf5 = self._deep_hdf5(stream, size)
            if hdf5 is not None:
                if scanner is None:
                    scanner = hdf5
                elif tail_zip is None:
                    tail_zip = hdf5
        if scanner is None:
            if suffix in MODEL_EXTENSIONS and size > 0:
                yield UNRECOGNISED(location, {"extension": suffix, "head": head[:16]})
            elif suffix in MODEL_EXTENSIONS:
                yield EMPTY_FILE(location, {"extension": suffix, "size": 0})
            if top_level:
                self.outcomes.append(
                    FileOutcome(
                        location.file,
                        None,
                        "unrecognised" if suffix in MODEL_EXTENSIONS else "skipped",
                        "empty file (0 bytes)" if size == 0 else "no parser for this content",
                    )
                )
            return
        expected = EXPECTED_FORMAT.get(suffix)
        if expected is not None and scanner.name not in expected:
            yield MISMATCH(location, {"extension": suffix, "detected_format": scanner.name})
        status, reason = yield from self._run(scanner, stream, size, location, ctx)
        if status == "budget":
            if top_level:
                self.outcomes.append(FileOutcome(location.file, scanner.name, "budget", reason))
            return
        if tail_zip is not None:
            stream.seek(0)
            yield from self._run(tail_zip, stream, size, location, ctx)
        # Polyglots: a loader that tries several formats in turn (torch.load: zip, then tar, then pickle)
        # may read the bytes as a pickle even when another parser claimed them first. Walk them as one too.
        for extra in self.scanners:
            if extra is scanner or extra.name not in POLYGLOT_ALSO or _zip_head(head):
                continue
            if extra.sniff(head, ""):  # bytes alone
                stream.seek(0)
                yield from self._run(extra, stream, size, location, ctx)
        if top_level:
            self.outcomes.append(FileOutcome(location.file, scanner.name, status, reason))

    def _run(
        self, scanner: FormatScanner, stream: BinaryIO, size: int, location: Location, ctx: ScanContext
    ) -> Generator[Finding, None, tuple[str, str]]:
        """Run one scanner, turning its failures into findings; returns (status, reason)."""
        budget: FileBudget | None = ctx.budget
        try:
            if budget is None:
                yield from scanner.scan(stream, size, location, ctx)
            else:
                yield from _metered(scanner.scan(stream, size, location, ctx), budget)
        except BudgetExceeded as exc:
            if ctx.depth > 0:  # the top-level scanner reports it once, naming the innermost member
                exc.where = exc.where or location.member
                raise
            severity = Severity.MEDIUM if scanner.name in _WEIGHTS_ONLY else Severity.HIGH
            evidence = {"format": scanner.name, "limit": exc.limit, "error": exc.detail}
            if exc.where:
                evidence["member"] = exc.where
            yield BUDGET_EXCEEDED(location, evidence, severity=severity)
            return "budget", exc.detail
        except LimitExceeded as exc:
            yield LIMIT_HIT(_at(location, exc.offset), {"format": scanner.name, "error": exc.message})
            return "malformed", exc.message
        except FormatError as exc:
            yield scanner.malformed_rule(
                _at(location, exc.offset),
                {"format": scanner.name, "error": exc.message},
                severity=getattr(exc, "severity", None),  # a parser may sharpen it (inert pickle)
            )
            return "malformed", exc.message
        except RecursionError:
            yield LIMIT_HIT(location, {"format": scanner.name, "error": "nesting too deep"})
            return "malformed", "nesting too deep"
        except MemoryError:
            yield INTERNAL_ERROR(location, {"format": scanner.name, "error": "MemoryError"})
            return "error", "out of memory"
        except Exception as exc:  # noqa: BLE001 - safety net: a parser bug must not hide other files
            yield INTERNAL_ERROR(
                location, {"format": scanner.name, "error": f"{type(exc).__name__}: {exc}"[:500]}
            )
            return "error", f"{type(exc).__name__}: {exc}"
        return "scanned", ""


def _metered(gen: Iterator[Finding], budget: FileBudget) -> Iterator[Finding]:
    """Run a scanner's generator with ``budget.active`` raised while its code runs (so the watchdog
    may interrupt it) and lowered while the consumer handles a finding; check the budget per finding."""
    try:
        budget.check()
        while True:
            budget.active += 1
            try:
                finding = next(gen)
            except StopIteration:
                return
            finally:
                budget.active -= 1
            yield finding
            budget.check()
    finally:
        close = getattr(gen, "close", None)  # scanners are generators; a plain iterator has none
        if close is not None:
            close()


def _zip_head(head: bytes) -> bool:
    """A stream that starts with a zip local header is never unpickled from offset 0: torch.load and
    numpy.load test these four bytes and take their zip reader (which fails rather than falling back
    to pickle), and as a pickle the bytes start with PERSID ('P'), which ``pickle.load`` and joblib
    (no ``persistent_load``) refuse before any other opcode, while torch's legacy loader asserts a
    tuple id. Walking it as a pickle only reads member headers and compressed data as opcodes: that
    gave PICKLE-MALFORMED and PICKLE-INDIRECT-CALL on ordinary ``torch.save`` zips."""
    return head[:4] == b"PK\x03\x04"


def _at(location: Location, offset: int | None) -> Location:
    return location.at(offset=offset) if offset is not None else location


def iter_files(root: Path) -> list[tuple[Path, str]]:
    """Every regular file under ``root`` (not following symlinks out of it), with its relative
    POSIX path, sorted. A single file yields itself."""
    if root.is_file():
        return [(root, root.name)]
    out: list[tuple[Path, str]] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if d != ".git")
        for fn in filenames:
            p = Path(dirpath) / fn
            rel = p.relative_to(root).as_posix()
            out.append((p, rel))
    return sorted(out, key=lambda t: t[1])
