"""Pickle files — raw pickles (protocols 0–5), joblib dumps, legacy ``torch.save`` files — and the
pickle findings shared by every scanner that meets a pickle stream (npy object arrays, torch zip
``data.pkl`` members handed back by the zip scanner, decompressed joblib files).

Nothing is unpickled: ``warden.formats._pickle_walk.PickleWalker`` walks the opcodes symbolically
(why it is hand-written is explained there) and ``warden.formats.pickle_policy`` judges each import
allowlist-first. Recognition is by bytes: protocol 2+ starts with PROTO, protocol 0/1 has no magic
and is recognised by trial-walking the head; the file name only relaxes that for pickle-like names.
Byte payloads passed to a nested loader (``torch.storage._load_from_bytes``) or that start with a
file magic (zip, pickle, npy, gzip...) are handed back to the scanning core as embedded files.
"""

from __future__ import annotations

import codecs
import io
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import Any, BinaryIO, cast

from warden.errors import FormatError, LimitExceeded
from warden.formats._pickle_walk import Blob, GlobalRef, PickleWalker, WalkReport, looks_like_pickle
from warden.formats.interface import FormatScanner, ScanContext
from warden.formats.pickle_policy import classify_global
from warden.formats.spool import memory_spool
from warden.formats.torchscript import is_torchscript_resolved
from warden.report.model import Finding, Location, Severity
from warden.rules import rule

__all__ = [
    "DANGEROUS_GLOBAL",
    "GLOBAL_MUTATION",
    "INDIRECT_CALL",
    "MALFORMED",
    "NONSTANDARD_OPCODE",
    "TRAILING_DATA",
    "UNAUDITED_GLOBAL",
    "UNRESOLVED_GLOBAL",
    "PickleScanner",
    "findings_from_walk",
    "scan_pickle_region",
]

_REMEDIATION = (
    "Do not load this file with pickle, torch.load(weights_only=False) or joblib.load. Ask for a "  # safe: remediation text, not a call
    "safetensors export, or load it in an isolated sandbox only after reviewing every import."
)

DANGEROUS_GLOBAL = rule(
    "PICKLE-DANGEROUS-GLOBAL",
    Severity.CRITICAL,
    "Pickle imports a dangerous callable",
    "The pickle imports a function or module known to run commands, execute or compile code, import "
    "modules, touch files or the network, or serve as a call/attribute gadget. Unpickling it runs "
    "that code on the loading machine.",
    _REMEDIATION,
)
UNAUDITED_GLOBAL = rule(
    "PICKLE-UNAUDITED-GLOBAL",
    Severity.HIGH,
    "Pickle imports a global outside the allowlist",
    "The pickle imports a global that is not one of the known ML reconstruction globals (torch "
    "tensor/storage rebuilders, numpy arrays and dtypes, plain containers). Unpickling calls or "
    "instantiates it; nobody has audited what that does.",
    "Review the module and name. Prefer a safetensors export; otherwise load with "
    "torch.load(weights_only=True) or a restricted unpickler that allows only what you reviewed.",  # safe: remediation text, not a call
)
UNRESOLVED_GLOBAL = rule(
    "PICKLE-UNRESOLVED-GLOBAL",
    Severity.CRITICAL,
    "Pickle imports a global that cannot be resolved statically",
    "A STACK_GLOBAL takes its module or name from a value computed at load time (not a literal "
    "string), or an EXT opcode refers to the extension registry. Standard picklers never do this; it "
    "is how scanners that read opcodes are evaded.",
    _REMEDIATION,
)
INDIRECT_CALL = rule(
    "PICKLE-INDIRECT-CALL",
    Severity.HIGH,
    "Pickle calls a value that is not an imported global",
    "A call opcode (REDUCE, NEWOBJ, OBJ...) calls the result of another call or a value the scanner "
    "cannot name. Standard picklers only call imported globals; chained calls are how gadgets such as "
    "getattr(module, name)(...) are built.",
    _REMEDIATION,
)
GLOBAL_MUTATION = rule(
    "PICKLE-GLOBAL-MUTATION",
    Severity.CRITICAL,
    "Pickle modifies an imported module, class or function",
    "BUILD, APPEND or SETITEM is applied to an imported global itself rather than to an object the "
    "pickle created: it overwrites attributes or registries of live modules (for example to hijack "
    "a function that runs later).",
    _REMEDIATION,
)
NONSTANDARD_OPCODE = rule(
    "PICKLE-NONSTANDARD-OPCODE",
    Severity.MEDIUM,
    "Pickle uses opcodes no standard pickler writes",
    "The pickle contains opcodes that CPython's pickler never emits in this combination (DUP, "
    "opcodes from a newer protocol than declared, PROTO in the middle, out-of-band buffers). Loaders "
    "accept them; hand-crafted pickles use them to confuse scanners.",
    "Treat the file as hand-crafted: find out who produced it before loading it.",
)
TRAILING_DATA = rule(
    "PICKLE-TRAILING-DATA",
    Severity.LOW,
    "Data after the last pickle",
    "Bytes follow the last pickle that do not parse as a pickle (no import or call could be read "
    "from them). pickle.load ignores them, but they can hide a second file (polyglot).",
    "Find out what the extra bytes are; re-export the model without them.",
)
MALFORMED = rule(
    "PICKLE-MALFORMED",
    Severity.HIGH,
    "Pickle could not be fully parsed",
    "The pickle stream is truncated or invalid at the given offset. Everything before the offset was "
    "checked; what follows was not. A loader runs every opcode up to the error.",
    "Do not load the file; obtain an intact copy from a trusted source, preferably as safetensors.",
)

# Names that make a broken pickle-looking file worth reporting as a malformed pickle.
_PICKLE_SUFFIXES = {
    ".pkl", ".pickle", ".joblib", ".pt", ".pth", ".bin", ".ckpt", ".dat", ".data", ".p", ".sav",
    ".model", ".dill",
}  # fmt: skip
_MAX_OFFSETS = 10
_MAX_NESTED = 100_000
_SPOOL_MAX = 64 << 20
_MAGIC_SUFFIX = (
    (b"PK\x03\x04", ".zip"),
    (b"\x93NUMPY", ".npy"),
    (b"\x1f\x8b", ".gz"),
    (b"BZh", ".bz2"),
    (b"\xfd7zXZ\x00", ".xz"),
    (b"\x80", ".pkl"),
)


class PickleScanner(FormatScanner):
    """Raw pickle, joblib and legacy torch files: every pickle in the file."""

    name = "pickle"
    malformed_rule = MALFORMED

    def sniff(self, head: bytes, name: str) -> bool:
        return looks_like_pickle(head, hinted=PurePosixPath(name).suffix.lower() in _PICKLE_SUFFIXES)

    def scan(self, stream: BinaryIO, size: int, location: Location, ctx: ScanContext) -> Iterator[Finding]:
        yield from scan_pickle_region(stream, 0, size, location, ctx)


def scan_pickle_region(
    stream: BinaryIO,
    start: int,
    end: int,
    location: Location,
    ctx: ScanContext,
    *,
    context: str = "",
) -> Iterator[Finding]:
    """Walk the pickles in ``stream[start:end]`` and yield their findings, then scan embedded files.
    A ``FormatError`` is raised after the findings gathered before it were yielded."""
    walker = PickleWalker(stream, start=start, end=end, limits=ctx.limits)
    error: FormatError | None = None
    try:
        walker.walk_file()
    except FormatError as exc:
        error = exc
    report = walker.report
    yield from findings_from_walk(report, location, context=context, torchscript=ctx.torchscript)
    yield from _nested(stream, report, location, ctx)
    if error is not None:
        if _inert(report) and not isinstance(error, LimitExceeded):
            # No import, call or embedded file was read before the error, and every loader stops at
            # the same opcode (the walker follows CPython's framing): nothing in the file can have
            # run. Random bytes in a ``.bin`` that happen to start with an opcode byte end up here.
            error.message += "; no import or call precedes it, so a loader stops there without running code"
            error.severity = Severity.MEDIUM  # type: ignore[attr-defined]
        raise error


def _inert(report: WalkReport) -> bool:
    """True when the walk read nothing that runs code: no import, call, mutation or nested file."""
    return not (
        report.imports
        or report.n_unresolved
        or report.global_calls
        or report.n_indirect
        or report.n_mutations
        or report.blobs
        or report.opaque_nested
    )


def _format_of(report: WalkReport) -> str:
    if report.legacy_torch:
        return "legacy torch.save"
    if report.joblib_arrays:
        return "joblib"
    return "pickle"


def findings_from_walk(
    report: WalkReport, location: Location, *, context: str = "", torchscript: bool = False
) -> Iterator[Finding]:
    """Turn a walk into findings: one per distinct import with its verdict (allowlisted ones give
    none), unresolved imports, indirect calls, mutations of globals, non-standard opcodes, trailing
    data. ``torchscript``: the pickle is read by torch.jit.load, whose own globals are not imports."""
    fmt = _format_of(report)
    groups: dict[tuple[str, str], list[GlobalRef]] = {}
    for g in _dedupe(report.imports):
        assert g.module is not None and g.name is not None
        groups.setdefault((g.module, g.name), []).append(g)
    for (module, name), refs in groups.items():
        if torchscript and is_torchscript_resolved(module, name):
            continue
        verdict = classify_global(module, name)
        if verdict.kind == "safe":
            continue
        first = refs[0]
        calls = [c for r in refs for c in r.calls][:_MAX_OFFSETS]
        evidence: dict[str, Any] = {
            "global": _clip(f"{module}.{name}"),
            "module": _clip(module),
            "name": _clip(name),
            "resolved_as": _clip(verdict.path),
            "reason": verdict.reason,
            "opcode": first.opcode,
            "occurrences": len(refs),
            "offsets": [r.offset for r in refs[:_MAX_OFFSETS]],
            "calls": [{"offset": off, "opcode": op} for off, op in calls],
            "call_count": sum(r.ncalls for r in refs),
            "pickle_index": first.pickle_index,
            "format": fmt,
        }
        _add_context(evidence, first, context)
        r = DANGEROUS_GLOBAL if verdict.kind == "dangerous" else UNAUDITED_GLOBAL
        title = f"{r.title}: {_clip(f'{module}.{name}', 120)}"
        yield r(location.at(offset=first.offset), evidence, title=title)
    for g in _dedupe(report.unresolved):
        evidence = {
            "opcode": g.opcode,
            "reason": g.unresolved,
            "call_count": g.ncalls,
            "calls": [{"offset": off, "opcode": op} for off, op in g.calls],
            "pickle_index": g.pickle_index,
            "total_unresolved": report.n_unresolved,
            "format": fmt,
        }
        _add_context(evidence, g, context)
        severity = Severity.HIGH if g.opcode.startswith("EXT") else Severity.CRITICAL
        yield UNRESOLVED_GLOBAL(location.at(offset=g.offset), evidence, severity=severity)
    seen_callees: set[str] = set()
    for offset, _opcode, callee in report.indirect_calls:
        if callee in seen_callees:
            continue
        seen_callees.add(callee)
        same = [(o, op) for o, op, c in report.indirect_calls if c == callee][:_MAX_OFFSETS]
        evidence = {
            "callee": callee,
            "calls": [{"offset": o, "opcode": op} for o, op in same],
            "total_indirect_calls": report.n_indirect,
            "format": fmt,
        }
        if context:
            evidence["context"] = context
        yield INDIRECT_CALL(location.at(offset=offset), evidence, title=f"{INDIRECT_CALL.title} ({callee})")
    for offset, opcode, target in report.mutations:
        evidence = {
            "target": target.path,
            "opcode": opcode,
            "import_offset": target.offset,
            "total_mutations": report.n_mutations,
            "format": fmt,
        }
        if context:
            evidence["context"] = context
        yield GLOBAL_MUTATION(
            location.at(offset=offset), evidence, title=f"{GLOBAL_MUTATION.title}: {target.path}"
        )
    for offset, path in report.opaque_nested:
        evidence = {
            "global": path,
            "reason": "loads an embedded file from a value the scanner cannot extract (not a bytes literal)",
            "format": fmt,
        }
        if context:
            evidence["context"] = context
        yield UNAUDITED_GLOBAL(
            location.at(offset=offset), evidence, title=f"Embedded file not checked: {path}"
        )
    if report.nonstandard:
        first_offset = min(report.nonstandard.values())
        evidence = {"opcodes": dict(sorted(report.nonstandard.items(), key=lambda kv: kv[1])), "format": fmt}
        if context:
            evidence["context"] = context
        yield NONSTANDARD_OPCODE(location.at(offset=first_offset), evidence)
    if report.trailing is not None:
        offset, length, why = report.trailing
        yield TRAILING_DATA(
            location.at(offset=offset),
            {"length": length, "why_not_a_pickle": why, "pickles": len(report.pickles), "format": fmt},
        )


# Contexts of alternative readings (shadow walks): an import also found by the primary walk at the
# same offset is reported once, with the primary context.
_SECONDARY = ("plain pickle.load", "reused across loads")


def _dedupe(refs: list[GlobalRef]) -> list[GlobalRef]:
    kept: dict[tuple[int, str | None, str | None, str | None], GlobalRef] = {}
    for g in refs:
        key = (g.offset, g.module, g.name, g.unresolved)
        old = kept.get(key)
        if old is None or (
            any(s in old.context for s in _SECONDARY) and not any(s in g.context for s in _SECONDARY)
        ):
            kept[key] = g
    return sorted(kept.values(), key=lambda g: g.offset)


def _clip(text: str, limit: int = 300) -> str:
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= limit else text[:limit] + f"…(+{len(text) - limit} chars)"


def _add_context(evidence: dict[str, Any], g: GlobalRef, context: str) -> None:
    parts = [c for c in (context, g.context) if c]
    if parts:
        evidence["context"] = "; ".join(parts)


def _nested(stream: BinaryIO, report: WalkReport, location: Location, ctx: ScanContext) -> Iterator[Finding]:
    """Hand embedded files (nested-loader arguments, payloads with a file magic, trailing data with a
    file magic) back to the core."""
    cap = min(_MAX_NESTED, ctx.limits.max_members)
    for blob in report.blobs[:cap]:
        member = location.child(f"<bytes@{blob.offset}>")
        name = f"embedded{_blob_suffix(blob)}"
        if blob.data is not None:
            yield from ctx.nested(io.BytesIO(blob.data), len(blob.data), member, name)
        elif blob.latin1:
            with memory_spool(_SPOOL_MAX, "warden-pkl-") as tmp:
                size = _latin1_decode(_window(stream, blob.offset, blob.length), tmp)
                if size is None:
                    continue  # not latin-1 text: _codecs.encode would fail, nothing is loaded
                tmp.seek(0)
                yield from ctx.nested(tmp, size, member, name)  # type: ignore[arg-type]
        else:
            yield from ctx.nested(_window(stream, blob.offset, blob.length), blob.length, member, name)
    if len(report.blobs) > cap:
        raise LimitExceeded(f"{len(report.blobs)} embedded files in one pickle file; only {cap} were scanned")
    if report.trailing is not None:
        offset, length, _why = report.trailing
        stream.seek(offset)
        head = stream.read(8)
        suffix = next(
            (sfx for magic, sfx in _MAGIC_SUFFIX if head.startswith(magic) and magic != b"\x80"), None
        )
        if suffix is not None:
            member = location.child(f"<bytes@{offset}>")
            yield from ctx.nested(_window(stream, offset, length), length, member, f"embedded{suffix}")


def _latin1_decode(src: BinaryIO, dst: Any) -> int | None:
    """UTF-8 text → latin-1 bytes, streamed; None if a character is outside latin-1."""
    decoder = codecs.getincrementaldecoder("utf-8")("surrogatepass")
    total = 0
    try:
        while True:
            chunk = src.read(1 << 20)
            text = decoder.decode(chunk, final=not chunk)
            data = text.encode("latin-1")
            dst.write(data)
            total += len(data)
            if not chunk:
                return total
    except UnicodeError:
        return None


def _blob_suffix(blob: Blob) -> str:
    for magic, suffix in _MAGIC_SUFFIX:
        if blob.head.startswith(magic):
            return suffix
    return ".pt" if blob.nested else ".bin"


def _window(stream: BinaryIO, start: int, length: int) -> BinaryIO:
    return cast(BinaryIO, _Window(stream, start, length))


class _Window(io.RawIOBase):
    """A read-only, seekable view of ``length`` bytes of ``stream`` from ``start``."""

    def __init__(self, stream: BinaryIO, start: int, length: int) -> None:
        super().__init__()
        self._stream = stream
        self._start = start
        self._length = length
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            pos = offset
        elif whence == io.SEEK_CUR:
            pos = self._pos + offset
        elif whence == io.SEEK_END:
            pos = self._length + offset
        else:
            raise ValueError(f"bad whence {whence}")
        if pos < 0:
            raise ValueError("negative seek position")
        self._pos = pos
        return pos

    def read(self, size: int | None = -1) -> bytes:
        remaining = self._length - self._pos
        if remaining <= 0:
            return b""
        if size is None or size < 0 or size > remaining:
            size = remaining
        self._stream.seek(self._start + self._pos)
        data = self._stream.read(size)
        self._pos += len(data)
        return data

    def readinto(self, b: Any) -> int:
        data = self.read(len(b))
        b[: len(data)] = data
        return len(data)
