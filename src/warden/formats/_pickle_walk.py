"""A streaming pickle opcode walker that never unpickles: the reusable core of the pickle scanners.

``PickleWalker`` reads a stream of pickles (protocols 0–5) in large buffered chunks and runs a
*symbolic* unpickler over it: the stack and memo hold placeholders instead of objects, except for
what matters to security and to the file layout — short strings (so ``STACK_GLOBAL`` resolves
through the memo exactly as CPython does), small integers, small tuples/dicts, imported globals and
call results. It records every import (``GLOBAL``, ``STACK_GLOBAL``, ``INST``; ``EXT*`` codes and
``STACK_GLOBAL`` operands that are not literal strings as *unresolved*), every call site
(``REDUCE``, ``BUILD``, ``INST``, ``OBJ``, ``NEWOBJ``, ``NEWOBJ_EX``: which global is called, at which
offset), calls on values that are not imports, ``BUILD``/``APPEND``/``SETITEM`` applied to an
imported global (attribute or registry overwrite), and opcodes a standard pickler never writes.

It follows every pickle in the stream (no "first 5" limit), understands the legacy ``torch.save``
layout (5 pickles, then per storage an 8-byte element count and the raw bytes, sized from the
``('storage', StorageType, key, location, numel)`` persistent ids of the main pickle; walking goes on
if more pickle follows) and joblib's inline arrays (raw array bytes, or a nested protocol-2 pickle
for object arrays, right after the ``BUILD`` of a ``NumpyArrayWrapper``). Bulk payloads
(``BINBYTES*``, ``BYTEARRAY8``, long strings) are skipped with ``seek`` and never held in memory.

Where loaders disagree, every reading is checked: joblib's array bytes are also walked as opcodes
(what plain ``pickle.load`` would do with them), and a later pickle that imports or calls is also
walked with the previous pickle's memo continued (an ``Unpickler`` reused across ``load()`` calls)
besides the fresh memo ``pickle.load`` gives it. Byte payloads handed to a nested loader
(``torch.storage._load_from_bytes``) or starting with a file magic are listed for the scanning core.

Why hand-written: ``pickletools.genops`` is the reference for opcode decoding, but it builds a Python
object for every argument (decoding every string and long), reads one opcode at a time through
``read()`` calls, cannot seek past payloads, keeps no stack or memo (so peers that use it resolve
``STACK_GLOBAL`` by looking backwards at opcodes, the source of several memo-confusion bypasses),
and stops at the first ``STOP``. Here each opcode is dispatched on its byte from a buffer, with
allocation only for values that matter, and CPython's own stack/mark/memo semantics (``_pickle.c``)
decide what a global resolves to.

Bounded: memo entries (``Limits.max_pickle_memo``; past it new entries are forgotten and using one
counts as unresolved), stack depth (``Limits.max_pickle_stack`` → ``LimitExceeded``), tracked
structure (a cumulative budget after which values are no longer tracked), line and string sizes.
Every loop consumes input, and malformed or truncated input raises ``FormatError`` with the offset.
"""

from __future__ import annotations

import codecs
import gc
import io
import re
import struct
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from warden.errors import FormatError, LimitExceeded
from warden.formats.interface import Limits
from warden.formats.pickle_policy import NESTED_LOADERS, SAFE_GLOBALS, normalise_module

__all__ = [
    "LEGACY_TORCH_MAGIC",
    "Blob",
    "Call",
    "GlobalRef",
    "PickleWalker",
    "WalkReport",
    "looks_like_pickle",
]

CHUNK = 1 << 20  # bytes read per refill
_PAD = b"\x00" * 16  # appended at end of data so fixed-size reads past the end are caught by position
_KEEP_STR = 256  # strings longer than this are not kept (module paths are far shorter)
_KEEP_LINE = 1 << 16  # text-opcode lines kept in full; longer ones are skipped
_TUPLE_CAP = 256  # tuples longer than this are not tracked
_DICT_CAP = 64  # pairs tracked per dict
_LIST_CAP = 64  # items tracked per list (legacy torch storage keys: no cap)
_UNIT_BUDGET = 32_000_000  # cumulative tracked-structure budget (~ pointers); past it: untracked
_MAX_EVIDENCE = 8  # call sites kept per import
_MAX_EVENTS = 64  # indirect calls / mutations / unresolved imports kept per walk

LEGACY_TORCH_MAGIC = 0x1950A86A20F9469CFC6C
LEGACY_TORCH_PROTOCOL = 1001

# Element sizes of the legacy torch storage types (torch._utils._element_size of their dtype).
STORAGE_ELEMENT_SIZE: dict[str, int] = {
    "DoubleStorage": 8,
    "FloatStorage": 4,
    "HalfStorage": 2,
    "BFloat16Storage": 2,
    "LongStorage": 8,
    "IntStorage": 4,
    "ShortStorage": 2,
    "CharStorage": 1,
    "ByteStorage": 1,
    "BoolStorage": 1,
    "ComplexFloatStorage": 8,
    "ComplexDoubleStorage": 16,
    "QUInt8Storage": 1,
    "QInt8Storage": 1,
    "QInt32Storage": 4,
    "QUInt4x2Storage": 1,
    "QUInt2x4Storage": 1,
    "UntypedStorage": 1,
}

_JOBLIB_WRAPPERS = frozenset(
    {"joblib.numpy_pickle.NumpyArrayWrapper", "sklearn.externals.joblib.numpy_pickle.NumpyArrayWrapper"}
)
_NUMPY_DTYPE = "numpy.dtype"
_COPYREG_BUILDERS = frozenset({"copyreg._reconstructor", "copyreg.__newobj__", "copyreg.__newobj_ex__"})

OPCODE_NAMES: dict[int, str] = {
    0x28: "MARK", 0x2E: "STOP", 0x30: "POP", 0x31: "POP_MARK", 0x32: "DUP", 0x46: "FLOAT", 0x49: "INT",
    0x4A: "BININT", 0x4B: "BININT1", 0x4C: "LONG", 0x4D: "BININT2", 0x4E: "NONE", 0x50: "PERSID",
    0x51: "BINPERSID", 0x52: "REDUCE", 0x53: "STRING", 0x54: "BINSTRING", 0x55: "SHORT_BINSTRING",
    0x56: "UNICODE", 0x58: "BINUNICODE", 0x61: "APPEND", 0x62: "BUILD", 0x63: "GLOBAL", 0x64: "DICT",
    0x7D: "EMPTY_DICT", 0x65: "APPENDS", 0x67: "GET", 0x68: "BINGET", 0x69: "INST", 0x6A: "LONG_BINGET",
    0x6C: "LIST", 0x5D: "EMPTY_LIST", 0x6F: "OBJ", 0x70: "PUT", 0x71: "BINPUT", 0x72: "LONG_BINPUT",
    0x73: "SETITEM", 0x74: "TUPLE", 0x29: "EMPTY_TUPLE", 0x75: "SETITEMS", 0x47: "BINFLOAT",
    0x80: "PROTO", 0x81: "NEWOBJ", 0x82: "EXT1", 0x83: "EXT2", 0x84: "EXT4", 0x85: "TUPLE1",
    0x86: "TUPLE2", 0x87: "TUPLE3", 0x88: "NEWTRUE", 0x89: "NEWFALSE", 0x8A: "LONG1", 0x8B: "LONG4",
    0x42: "BINBYTES", 0x43: "SHORT_BINBYTES", 0x8C: "SHORT_BINUNICODE", 0x8D: "BINUNICODE8",
    0x8E: "BINBYTES8", 0x8F: "EMPTY_SET", 0x90: "ADDITEMS", 0x91: "FROZENSET", 0x92: "NEWOBJ_EX",
    0x93: "STACK_GLOBAL", 0x94: "MEMOIZE", 0x95: "FRAME", 0x96: "BYTEARRAY8", 0x97: "NEXT_BUFFER",
    0x98: "READONLY_BUFFER",
}  # fmt: skip
VALID_OPCODES = frozenset(OPCODE_NAMES)


_UNPACK_I = struct.Struct("<i").unpack_from
_UNPACK_U32 = struct.Struct("<I").unpack_from


class _Marker:
    """A placeholder for a value the walker does not track."""

    __slots__ = ("what",)

    def __init__(self, what: str) -> None:
        self.what = what

    def __repr__(self) -> str:
        return f"<{self.what}>"


_O = _Marker("value")  # numbers, sets, untracked containers...
_LONG = _Marker("long string")  # a string too long to keep
_FORGOT = _Marker("memo entry past the memo limit")
_PERS = _Marker("persistent-load result")


class GlobalRef:
    """One import site. ``module``/``name`` are the raw texts (``None`` when unresolved)."""

    __slots__ = (
        "calls",
        "context",
        "module",
        "name",
        "ncalls",
        "offset",
        "opcode",
        "path",
        "pickle_index",
        "unresolved",
    )

    def __init__(
        self,
        module: str | None,
        name: str | None,
        offset: int,
        opcode: str,
        pickle_index: int,
        unresolved: str | None = None,
        context: str = "",
    ) -> None:
        self.module = module
        self.context = context
        self.name = name
        self.offset = offset
        self.opcode = opcode
        self.pickle_index = pickle_index
        self.unresolved = unresolved
        self.path = f"{normalise_module(module)}.{name}" if module is not None and name is not None else "?"
        self.calls: list[tuple[int, str]] = []
        self.ncalls = 0

    def __repr__(self) -> str:
        return f"GlobalRef({self.path!r} @{self.offset})"


class Call:
    """The result of a call opcode: ``func`` called with ``args`` (kept when a small tuple)."""

    __slots__ = ("args", "flags", "func", "kind", "offset")

    def __init__(self, func: object, args: object, kind: str, offset: int) -> None:
        self.func = func
        self.args = args if type(args) is tuple else None
        self.kind = kind
        self.offset = offset
        self.flags: tuple[int, int] | None = None  # numpy.dtype BUILD state: (elsize, flags)

    def instance_class(self) -> GlobalRef | None:
        """The class of the object this call built, when known (for BUILD attribution)."""
        f = self.func
        if type(f) is not GlobalRef:
            return None
        if self.kind == "REDUCE" and f.path in _COPYREG_BUILDERS and self.args:
            first = self.args[0]
            return first if type(first) is GlobalRef else None
        return f


class Blob:
    """A bytes payload inside a pickle: ``length`` bytes at ``offset`` of the stream (first bytes in
    ``head`` when cheap). ``latin1`` marks protocol 0–2 bytes, pickled as
    ``_codecs.encode(text, "latin1")``: the stream holds the UTF-8 of the text, which must be
    decoded and re-encoded as latin-1 to get the bytes; ``data`` holds short payloads directly."""

    __slots__ = ("data", "head", "latin1", "length", "listed", "nested", "offset")

    def __init__(
        self, offset: int, length: int, head: bytes, *, latin1: bool = False, data: bytes | None = None
    ):
        self.offset = offset
        self.length = length
        self.head = head
        self.latin1 = latin1
        self.data = data
        self.nested = False  # passed to a nested loader (torch.storage._load_from_bytes)
        self.listed = False  # already in WalkReport.blobs


class StrRef:
    """A text payload too long to keep: its UTF-8 bytes are ``length`` bytes at ``offset``."""

    __slots__ = ("length", "offset")

    def __init__(self, offset: int, length: int) -> None:
        self.offset = offset
        self.length = length


class TList(list):  # type: ignore[type-arg]
    """A tracked list (first items only)."""


class TDict(list):  # type: ignore[type-arg]
    """A tracked dict, as a list of (key, value) pairs (keys may be unhashable placeholders)."""

    def get(self, key: object) -> object:
        for k, v in self:
            if k == key:
                return v
        return None


@dataclass
class PickleInfo:
    index: int
    start: int
    end: int
    protocol: int
    context: str  # "top", "joblib-object-array", ...


@dataclass
class WalkReport:
    """Everything the walker found, filled as it goes (so it is complete up to an error)."""

    imports: list[GlobalRef] = field(default_factory=list)
    unresolved: list[GlobalRef] = field(default_factory=list)
    n_unresolved: int = 0
    indirect_calls: list[tuple[int, str, str]] = field(default_factory=list)  # offset, opcode, callee
    n_indirect: int = 0
    mutations: list[tuple[int, str, GlobalRef]] = field(default_factory=list)  # offset, opcode, target
    n_mutations: int = 0
    nonstandard: dict[str, int] = field(default_factory=dict)  # opcode/what → first offset
    blobs: list[Blob] = field(default_factory=list)  # candidates for nested scanning
    pickles: list[PickleInfo] = field(default_factory=list)
    legacy_torch: bool = False
    storages: int = 0
    joblib_arrays: int = 0
    trailing: tuple[int, int, str] | None = None  # offset, length, why it is not a pickle
    memo_overflow: bool = False
    untracked: bool = False  # the tracking budget ran out
    global_calls: int = 0  # call opcodes whose callee is an import (sniff evidence)
    shadow_walks: int = 0  # joblib array data also read as opcodes (plain pickle.load view)
    opaque_nested: list[tuple[int, str]] = field(default_factory=list)  # nested loader, payload unknown


class _Incomplete(Exception):
    """Trial mode: the data ended before the pickle did."""


_BLOB_MAGICS = (b"PK\x03\x04", b"\x93NUMPY", b"\x1f\x8b\x08", b"BZh", b"\xfd7zXZ\x00") + tuple(
    bytes([0x80, p]) for p in range(2, 6)
)


class PickleWalker:
    """Walk the pickles in ``stream[start:end]``. Use ``walk_file`` (all pickles, legacy torch and
    trailing data) or ``walk_one`` (a single pickle). ``report`` holds the results, also after a
    ``FormatError``."""

    def __init__(
        self,
        stream: BinaryIO,
        *,
        start: int = 0,
        end: int,
        limits: Limits | None = None,
        trial: bool = False,
    ) -> None:
        self.stream = stream
        self.start = start
        self.end = end
        self.limits = limits or Limits()
        self.trial = trial
        self.report = WalkReport()
        self.memo: dict[int, object] = {}
        self.units = 0
        self.list_cap = _LIST_CAP
        self._storage_sizes: dict[bytes, int] | None = None  # legacy torch: key → element size
        self._prev_memo: dict[int, object] | None = None  # previous pickle's memo (resolvable values)
        self._prev_len = 0  # and its size
        self._pickle_index = 0
        self._context = ""  # recorded on imports: "" or why these opcodes are read
        self._joblib = True  # honour joblib's inline arrays (off inside nested/shadow walks)
        self._shadow_budget = max(64 << 20, 2 * max(end - start, 0))
        # buffer state: buf[i] is stream offset base + i; bytes past n are padding
        self.buf = b""
        self.base = start
        self.n = 0
        self.i = 0
        self.eof = False
        self._pos = start  # stream position after the real bytes of buf
        self._positioned = False

    # ------------------------------------------------------------------ buffer management

    def _seek_to(self, pos: int) -> None:
        self.buf = b""
        self.base = pos
        self.n = 0
        self.i = 0
        self._pos = pos
        self._positioned = False
        self.eof = pos >= self.end
        if self.eof:
            self.buf = _PAD

    def _fill(self, need: int) -> None:
        """Make ``need`` bytes from ``self.i`` available if the data has them (else set eof+pad)."""
        keep = self.buf[self.i : self.n]
        self.base += self.i
        self.i = 0
        if not self._positioned:
            self.stream.seek(self._pos)
            self._positioned = True
        want = min(max(CHUNK, need - len(keep)), self.end - self._pos)
        data = self.stream.read(want) if want > 0 else b""
        self._pos += len(data)
        buf = keep + data if keep else data
        self.n = len(buf)
        self.eof = self._pos >= self.end or len(data) < want
        self.buf = buf + _PAD if self.eof else buf

    def _truncated(self, what: str, offset: int) -> FormatError:
        if self.trial:
            raise _Incomplete()
        return FormatError(f"pickle truncated: {what}", offset=offset)

    def _take(self, length: int, keep: bool) -> bytes | None:
        """Consume ``length`` payload bytes at ``self.i``; return them if ``keep`` (else seek)."""
        i = self.i
        if i + length <= self.n:
            self.i = i + length
            return self.buf[i : i + length] if keep else None
        abs_end = self.base + i + length
        if abs_end > self.end:
            raise self._truncated(f"a {length}-byte payload runs past the end of the data", self.base + i)
        if keep:
            self._fill(length)
            if length > self.n:
                raise self._truncated("payload", self.base)
            self.i = length
            return self.buf[:length]
        self._seek_to(abs_end)
        return None

    def _line(self, opname: str) -> bytes | None:
        """Consume one ``\\n``-terminated line at ``self.i``; the line without ``\\n``, or None
        when it is longer than the keep limit (skipped)."""
        start_abs = self.base + self.i
        while True:
            j = self.buf.find(b"\n", self.i, self.n)
            if j >= 0:
                line = self.buf[self.i : j] if j - self.i <= _KEEP_LINE else None
                self.i = j + 1
                return line
            if self.n - self.i > _KEEP_LINE:
                break
            if self.eof:
                raise self._truncated(f"{opname} line has no newline", start_abs)
            self._fill(self.n - self.i + CHUNK)
        # too long to keep: skip to the newline chunk by chunk
        while True:
            j = self.buf.find(b"\n", self.i, self.n)
            if j >= 0:
                self.i = j + 1
                return None
            if self.eof:
                raise self._truncated(f"{opname} line has no newline", start_abs)
            self.i = self.n
            self._fill(CHUNK)

    # ------------------------------------------------------------------ recording helpers

    def _new_global(
        self, module: bytes | None, name: bytes | None, offset: int, opcode: str, why: str | None
    ) -> GlobalRef:
        index = self._pickle_index - 1
        if why is None and module is not None and name is not None:
            g = GlobalRef(
                module.decode("utf-8", "surrogateescape"),
                name.decode("utf-8", "surrogateescape"),
                offset,
                opcode,
                index,
                context=self._context,
            )
            self.report.imports.append(g)
        else:
            g = GlobalRef(
                None, None, offset, opcode, index, unresolved=why or "unresolved", context=self._context
            )
            self.report.n_unresolved += 1
            if len(self.report.unresolved) < _MAX_EVENTS:
                self.report.unresolved.append(g)
        return g

    def _record_call(self, func: object, offset: int, opname: str) -> None:
        if type(func) is GlobalRef:
            func.ncalls += 1
            if len(func.calls) < _MAX_EVIDENCE:
                func.calls.append((offset, opname))
            self.report.global_calls += 1
            return
        rep = self.report
        rep.n_indirect += 1
        if len(rep.indirect_calls) < _MAX_EVENTS:
            rep.indirect_calls.append((offset, opname, _describe(func)))

    def _record_mutation(self, target: GlobalRef, offset: int, opname: str) -> None:
        rep = self.report
        rep.n_mutations += 1
        if len(rep.mutations) < _MAX_EVENTS:
            rep.mutations.append((offset, opname, target))

    def _nonstandard(self, what: str, offset: int) -> None:
        if what not in self.report.nonstandard:
            self.report.nonstandard[what] = offset

    def _check_limits(self, depth: int) -> None:
        limits = self.limits
        if depth > limits.max_pickle_stack:
            raise LimitExceeded(
                f"pickle stack deeper than {limits.max_pickle_stack} entries", offset=self.base + self.i
            )
        if len(self.memo) > limits.max_pickle_memo and type(self.memo) is dict:
            self.memo = _CappedMemo(self.memo)
            self.report.memo_overflow = True

    # ------------------------------------------------------------------ one pickle

    def walk_one(self, pos: int, *, context: str = "top", fresh_memo: bool = False) -> tuple[int, object]:
        """Walk one pickle starting at ``pos``; return the offset after its STOP and the value STOP
        popped (a placeholder unless tracked)."""
        index = self._pickle_index
        saved_memo = None
        if fresh_memo:
            saved_memo, self.memo = self.memo, {}
        elif index > 0:
            # pickle.load on the next pickle starts a fresh memo; an Unpickler reused across loads
            # keeps it: the previous memo serves look-ups that miss (_memo_miss), and a pickle that
            # imports or calls is walked again with the memo continued (_reused_unpickler_view)
            prev = self.memo
            self._prev_len = len(prev)
            # only values that can matter later (strings, imports, call results, payloads) are kept
            self._prev_memo = {k: v for k, v in prev.items() if type(v) in _RESOLVABLE}
            self.memo = {}
            del prev  # the full previous memo must not stay alive during this walk
        if self.base + self.i != pos:
            self._seek_to(pos)
        info = PickleInfo(index, pos, pos, 0, context)
        self.report.pickles.append(info)
        self._pickle_index += 1
        rep = self.report
        events = len(rep.imports) + rep.n_unresolved + rep.global_calls + rep.n_indirect
        nonstd = len(rep.nonstandard)
        try:
            end_pos, value, proto = self._run([], [])
        finally:
            if saved_memo is not None:
                self.memo = saved_memo
        info.end = end_pos
        info.protocol = proto
        kept = self._prev_memo
        if (
            not fresh_memo
            and kept is not None
            and self._prev_len
            and (proto >= 4 or len(rep.nonstandard) != nonstd)
            and len(rep.imports) + rep.n_unresolved + rep.global_calls + rep.n_indirect != events
        ):
            self._reused_unpickler_view(pos, end_pos, kept, self._prev_len)
        self._prev_memo = None
        return end_pos, value

    def _reused_unpickler_view(self, pos: int, end_pos: int, prev: dict[int, object], prev_len: int) -> None:
        """Re-walk a later pickle as an Unpickler reused across loads reads it: its memo continues
        the previous pickle's (MEMOIZE numbering differs, and look-ups can reach the old entries).
        Records what it finds; stops silently where that reading fails."""
        saved = (self.memo, self._context, self.end, self._joblib)
        saved_buf = (self.buf, self.n, self.base, self.i, self.eof, self._pos, self._positioned)
        self.memo = _OverlayMemo(prev, prev_len)
        self._context = "as read by an Unpickler reused across loads (memo continues)"
        self._joblib = False
        self.end = end_pos
        self._seek_to(pos)
        try:
            self._run([], [])
        except (FormatError, _Incomplete):
            pass
        finally:
            self.memo, self._context, self.end, self._joblib = saved
            self.buf, self.n, self.base, self.i, self.eof, self._pos, self._positioned = saved_buf
            self._positioned = False

    def _run(self, stack: list[Any], marks: list[list[Any]]) -> tuple[int, object, int]:  # noqa: C901
        """The dispatch loop (one function on purpose: locals and an if-chain ordered by opcode
        frequency are what make a pure-Python walker fast)."""
        rep = self.report
        memo = self.memo
        push = stack.append
        proto = 1  # declared protocol (no PROTO opcode: 0 or 1)
        first_off = self.base + self.i
        budget = _UNIT_BUDGET
        units = self.units
        tuple_cap = _TUPLE_CAP
        x: Any
        track_lists = self.list_cap > _LIST_CAP  # lists only matter for legacy torch storage keys
        buf = self.buf
        n = self.n
        base = self.base
        i = self.i
        lim = n - 16 if not self.eof else n - 16
        from_bytes = int.from_bytes
        unpack_i = _UNPACK_I
        unpack_I = _UNPACK_U32  # noqa: N806

        try:
            while True:
                if i > lim:
                    if not self.eof:
                        self.i = i
                        self._fill(16)
                        buf, n, base, i = self.buf, self.n, self.base, self.i
                        lim = n - 16
                        self.units = units
                        self._check_limits(len(stack) + sum(len(m) for m in marks) + len(marks))
                        memo = self.memo
                    if i >= n:
                        if i > n:
                            raise self._truncated("the last opcode's argument is cut off", base + n)
                        raise self._truncated("no STOP opcode", base + i)
                op = buf[i]
                # ordered by frequency in dense pickles; memo ops after pushes are fused in
                if op == 0x4A:  # BININT
                    push(unpack_i(buf, i + 1)[0])
                    i += 5
                elif op == 0x28:  # MARK
                    marks.append(stack)
                    stack = []
                    push = stack.append
                    i += 1
                elif op == 0x4D:  # BININT2
                    push(buf[i + 1] | (buf[i + 2] << 8))
                    i += 3
                elif op == 0x8C:  # SHORT_BINUNICODE
                    ln = buf[i + 1]
                    if i + 8 + ln <= n:  # room for a fused memo opcode after the string
                        x = buf[i + 2 : i + 2 + ln]
                        push(x)
                        i += 2 + ln
                        o2 = buf[i]
                        if o2 == 0x94:  # MEMOIZE right after the push (fused: no extra dispatch)
                            memo[len(memo)] = x
                            if proto < 4:
                                self._nonstandard("MEMOIZE", base + i)
                            i += 1
                        elif o2 == 0x71:  # BINPUT right after the push
                            memo[buf[i + 1]] = x
                            i += 2
                        elif o2 == 0x72:  # LONG_BINPUT right after the push
                            memo[unpack_I(buf, i + 1)[0]] = x
                            i += 5
                    else:
                        self.i = i + 2
                        push(self._take(ln, True))
                        buf, n, base, i = self.buf, self.n, self.base, self.i
                        lim = n - 16
                    if proto < 4:
                        self._nonstandard("SHORT_BINUNICODE", base + i)
                elif op == 0x47:  # BINFLOAT
                    push(_O)
                    i += 9
                elif op == 0x4B:  # BININT1
                    push(buf[i + 1])
                    i += 2
                elif op == 0x68:  # BINGET
                    try:
                        push(memo[buf[i + 1]])
                    except KeyError:
                        push(self._memo_miss(buf[i + 1], base + i))
                    i += 2
                elif op == 0x5D:  # EMPTY_LIST
                    if track_lists and units < budget:
                        units += 4
                        x = TList()
                    else:
                        x = _O
                    push(x)
                    i += 1
                    o2 = buf[i]
                    if o2 == 0x94:  # MEMOIZE right after the push (fused: no extra dispatch)
                        memo[len(memo)] = x
                        if proto < 4:
                            self._nonstandard("MEMOIZE", base + i)
                        i += 1
                    elif o2 == 0x71:  # BINPUT right after the push
                        memo[buf[i + 1]] = x
                        i += 2
                    elif o2 == 0x72:  # LONG_BINPUT right after the push
                        memo[unpack_I(buf, i + 1)[0]] = x
                        i += 5
                elif op == 0x7D:  # EMPTY_DICT
                    if units < budget:
                        units += 4
                        x = TDict()
                    else:
                        x = _O
                    push(x)
                    i += 1
                    o2 = buf[i]
                    if o2 == 0x94:  # MEMOIZE right after the push (fused: no extra dispatch)
                        memo[len(memo)] = x
                        if proto < 4:
                            self._nonstandard("MEMOIZE", base + i)
                        i += 1
                    elif o2 == 0x71:  # BINPUT right after the push
                        memo[buf[i + 1]] = x
                        i += 2
                    elif o2 == 0x72:  # LONG_BINPUT right after the push
                        memo[unpack_I(buf, i + 1)[0]] = x
                        i += 5
                elif op == 0x65:  # APPENDS
                    if not marks:
                        raise FormatError("APPENDS without MARK", offset=base + i)
                    items = stack
                    stack = marks.pop()
                    push = stack.append
                    target = stack[-1]
                    tt = type(target)
                    if tt is TList:
                        room = self.list_cap - len(target)
                        if room > 0 and units < budget:
                            add = items[:room]
                            units += len(add)
                            target.extend(add)
                    elif tt is GlobalRef:
                        self._record_mutation(target, base + i, "APPENDS")
                    i += 1
                elif op == 0x73:  # SETITEM
                    v = stack.pop()
                    k = stack.pop()
                    target = stack[-1]
                    tt = type(target)
                    if tt is TDict:
                        if len(target) < _DICT_CAP and units < budget:
                            units += 2
                            target.append((k, v))
                    elif tt is GlobalRef:
                        self._record_mutation(target, base + i, "SETITEM")
                    i += 1
                elif op == 0x75:  # SETITEMS
                    if not marks:
                        raise FormatError("SETITEMS without MARK", offset=base + i)
                    items = stack
                    stack = marks.pop()
                    push = stack.append
                    if len(items) & 1:
                        raise FormatError("odd number of items for SETITEMS", offset=base + i)
                    target = stack[-1]
                    tt = type(target)
                    if tt is TDict:
                        room = _DICT_CAP - len(target)
                        if room > 0 and units < budget:
                            head = items[: 2 * room]
                            pairs = list(zip(head[0::2], head[1::2], strict=True))
                            units += 2 * len(pairs)
                            target.extend(pairs)
                    elif tt is GlobalRef:
                        self._record_mutation(target, base + i, "SETITEMS")
                    i += 1
                elif op == 0x74:  # TUPLE
                    if not marks:
                        raise FormatError("TUPLE without MARK", offset=base + i)
                    items = stack
                    stack = marks.pop()
                    push = stack.append
                    if len(items) <= tuple_cap and units < budget:
                        units += 4 + len(items)
                        x = tuple(items)
                    else:
                        x = _O
                    push(x)
                    i += 1
                    o2 = buf[i]
                    if o2 == 0x94:  # MEMOIZE right after the push (fused: no extra dispatch)
                        memo[len(memo)] = x
                        if proto < 4:
                            self._nonstandard("MEMOIZE", base + i)
                        i += 1
                    elif o2 == 0x71:  # BINPUT right after the push
                        memo[buf[i + 1]] = x
                        i += 2
                    elif o2 == 0x72:  # LONG_BINPUT right after the push
                        memo[unpack_I(buf, i + 1)[0]] = x
                        i += 5
                elif op == 0x94:  # MEMOIZE
                    memo[len(memo)] = stack[-1]
                    if proto < 4:
                        self._nonstandard("MEMOIZE", base + i)
                    i += 1
                elif op == 0x71:  # BINPUT
                    memo[buf[i + 1]] = stack[-1]
                    i += 2
                elif op == 0x86:  # TUPLE2
                    b = stack.pop()
                    a = stack.pop()
                    if units < budget:
                        units += 6
                        x = (a, b)
                    else:
                        x = _O
                    push(x)
                    i += 1
                    o2 = buf[i]
                    if o2 == 0x94:  # MEMOIZE right after the push (fused: no extra dispatch)
                        memo[len(memo)] = x
                        if proto < 4:
                            self._nonstandard("MEMOIZE", base + i)
                        i += 1
                    elif o2 == 0x71:  # BINPUT right after the push
                        memo[buf[i + 1]] = x
                        i += 2
                    elif o2 == 0x72:  # LONG_BINPUT right after the push
                        memo[unpack_I(buf, i + 1)[0]] = x
                        i += 5
                elif op == 0x85:  # TUPLE1
                    a = stack.pop()
                    if units < budget:
                        units += 5
                        x = (a,)
                    else:
                        x = _O
                    push(x)
                    i += 1
                    o2 = buf[i]
                    if o2 == 0x94:  # MEMOIZE right after the push (fused: no extra dispatch)
                        memo[len(memo)] = x
                        if proto < 4:
                            self._nonstandard("MEMOIZE", base + i)
                        i += 1
                    elif o2 == 0x71:  # BINPUT right after the push
                        memo[buf[i + 1]] = x
                        i += 2
                    elif o2 == 0x72:  # LONG_BINPUT right after the push
                        memo[unpack_I(buf, i + 1)[0]] = x
                        i += 5
                elif op == 0x87:  # TUPLE3
                    c = stack.pop()
                    b = stack.pop()
                    a = stack.pop()
                    if units < budget:
                        units += 7
                        x = (a, b, c)
                    else:
                        x = _O
                    push(x)
                    i += 1
                    o2 = buf[i]
                    if o2 == 0x94:  # MEMOIZE right after the push (fused: no extra dispatch)
                        memo[len(memo)] = x
                        if proto < 4:
                            self._nonstandard("MEMOIZE", base + i)
                        i += 1
                    elif o2 == 0x71:  # BINPUT right after the push
                        memo[buf[i + 1]] = x
                        i += 2
                    elif o2 == 0x72:  # LONG_BINPUT right after the push
                        memo[unpack_I(buf, i + 1)[0]] = x
                        i += 5
                elif op == 0x61:  # APPEND
                    v = stack.pop()
                    target = stack[-1]
                    tt = type(target)
                    if tt is TList:
                        if len(target) < self.list_cap and units < budget:
                            units += 1
                            target.append(v)
                    elif tt is GlobalRef:
                        self._record_mutation(target, base + i, "APPEND")
                    i += 1
                elif op == 0x52:  # REDUCE
                    args = stack.pop()
                    func = stack[-1]
                    self._record_call(func, base + i, "REDUCE")
                    units += 8
                    call = Call(func, args, "REDUCE", base + i)
                    if type(func) is GlobalRef:
                        fpath = func.path
                        if fpath == "_codecs.encode":
                            stack[-1] = _latin1_blob(call) or call
                            i += 1
                            continue
                        if fpath in NESTED_LOADERS:
                            self._nested_loader(call, base + i)
                    stack[-1] = call
                    i += 1
                elif op == 0x62:  # BUILD
                    state = stack.pop()
                    inst = stack[-1]
                    ti = type(inst)
                    if ti is Call:
                        cls = inst.instance_class()
                        if cls is not None:
                            self._record_call(cls, base + i, "BUILD")
                            if cls.path in _JOBLIB_WRAPPERS and self._joblib:
                                self.i = i + 1
                                self.units = units
                                self._joblib_array(state, base + i, stack, marks)
                                buf, n, base, i = self.buf, self.n, self.base, self.i
                                lim = n - 16
                                units = self.units
                                memo = self.memo
                                continue
                        if (
                            type(inst.func) is GlobalRef
                            and inst.func.path == _NUMPY_DTYPE
                            and type(state) is tuple
                            and len(state) >= 8
                        ):
                            elsize, flags = state[5], state[7]
                            if type(elsize) is int and type(flags) is int:
                                inst.flags = (elsize, flags)
                    elif ti is GlobalRef:
                        self._record_mutation(inst, base + i, "BUILD")
                    i += 1
                elif op == 0x81:  # NEWOBJ
                    args = stack.pop()
                    cls = stack[-1]
                    self._record_call(cls, base + i, "NEWOBJ")
                    units += 8
                    stack[-1] = Call(cls, args, "NEWOBJ", base + i)
                    i += 1
                elif op == 0x29:  # EMPTY_TUPLE
                    push(())
                    i += 1
                elif op == 0x58:  # BINUNICODE
                    ln = from_bytes(buf[i + 1 : i + 5], "little")
                    self.i = i + 5
                    s = self._take(ln, ln <= _KEEP_STR)
                    push(s if s is not None else StrRef(base + i + 5, ln))
                    buf, n, base, i = self.buf, self.n, self.base, self.i
                    lim = n - 16
                elif op == 0x4E:  # NONE
                    push(None)
                    i += 1
                elif op == 0x88:  # NEWTRUE
                    push(True)
                    i += 1
                elif op == 0x89:  # NEWFALSE
                    push(False)
                    i += 1
                elif op == 0x72:  # LONG_BINPUT
                    memo[unpack_I(buf, i + 1)[0]] = stack[-1]
                    i += 5
                elif op == 0x6A:  # LONG_BINGET
                    key = unpack_I(buf, i + 1)[0]
                    try:
                        push(memo[key])
                    except KeyError:
                        push(self._memo_miss(key, base + i))
                    i += 5
                elif op == 0x93:  # STACK_GLOBAL
                    name = stack.pop()
                    module = stack.pop()
                    off = base + i
                    if proto < 4:
                        self._nonstandard("STACK_GLOBAL", off)
                    if type(module) is bytes and type(name) is bytes:
                        g = self._new_global(module, name, off, "STACK_GLOBAL", None)
                    else:
                        _check_stack_global_operand(module, off)
                        _check_stack_global_operand(name, off)
                        why = (
                            f"STACK_GLOBAL operands are not literal strings "
                            f"(module: {_describe(module)}, name: {_describe(name)})"
                        )
                        g = self._new_global(None, None, off, "STACK_GLOBAL", why)
                    push(g)
                    units += 16
                    i += 1
                elif op == 0x63 or op == 0x69:  # GLOBAL / INST
                    off = base + i
                    opname = "GLOBAL" if op == 0x63 else "INST"
                    self.i = i + 1
                    mod_line = self._line(opname)
                    name_line = self._line(opname)
                    buf, n, base, i = self.buf, self.n, self.base, self.i
                    lim = n - 16
                    units += 16
                    if mod_line is None or name_line is None:
                        why = f"{opname} line longer than {_KEEP_LINE} bytes"
                        g = self._new_global(None, None, off, opname, why)
                    else:
                        g = self._new_global(mod_line, name_line, off, opname, None)
                    if op == 0x63:
                        push(g)
                    else:
                        if not marks:
                            raise FormatError("INST without MARK", offset=off)
                        items = stack
                        stack = marks.pop()
                        push = stack.append
                        self._record_call(g, off, "INST")
                        units += 8
                        push(Call(g, tuple(items) if len(items) <= tuple_cap else None, "INST", off))
                elif op == 0x51:  # BINPERSID
                    pid = stack.pop()
                    push(self._persistent(pid, base + i))
                    i += 1
                elif op == 0x8A:  # LONG1
                    ln = buf[i + 1]
                    if i + 2 + ln <= n:
                        push(from_bytes(buf[i + 2 : i + 2 + ln], "little", signed=True))
                        i += 2 + ln
                    else:
                        self.i = i + 2
                        raw = self._take(ln, True) or b""
                        buf, n, base, i = self.buf, self.n, self.base, self.i
                        lim = n - 16
                        push(from_bytes(raw, "little", signed=True))
                elif (
                    op == 0x43 or op == 0x42 or op == 0x8E or op == 0x96
                ):  # SHORT_BINBYTES BINBYTES BINBYTES8 BYTEARRAY8
                    off = base + i
                    if op == 0x43:
                        ln, hdr = buf[i + 1], 2
                    elif op == 0x42:
                        ln, hdr = from_bytes(buf[i + 1 : i + 5], "little"), 5
                    else:
                        ln, hdr = from_bytes(buf[i + 1 : i + 9], "little"), 9
                        if op == 0x96 and proto < 5:
                            self._nonstandard("BYTEARRAY8", off)
                    p = i + hdr
                    self.i = p
                    if ln >= 16 and p + 8 > n and not self.eof:
                        self._fill(8)  # the payload's first bytes, for the magic check
                        p = self.i
                    blob = Blob(off + hdr, ln, self.buf[p : p + min(8, ln)])
                    self._take(ln, False)
                    buf, n, base, i = self.buf, self.n, self.base, self.i
                    lim = n - 16
                    if ln >= 16 and blob.head.startswith(_BLOB_MAGICS):
                        blob.listed = True
                        rep.blobs.append(blob)
                    units += 6
                    push(blob)
                elif op == 0x2E:  # STOP
                    value = stack.pop()
                    i += 1
                    self.i = i
                    self.units = units
                    self._check_limits(0)
                    return base + i, value, proto
                elif op == 0x80:  # PROTO
                    v = buf[i + 1]
                    if v > 5:
                        raise FormatError(f"unsupported pickle protocol {v}", offset=base + i)
                    if base + i != first_off:
                        self._nonstandard("PROTO not at the start", base + i)
                    proto = v
                    i += 2
                elif op == 0x95:  # FRAME
                    if proto < 4:
                        self._nonstandard("FRAME", base + i)
                    i += 9
                elif op == 0x92:  # NEWOBJ_EX
                    stack.pop()  # kwargs
                    args = stack.pop()
                    cls = stack[-1]
                    self._record_call(cls, base + i, "NEWOBJ_EX")
                    units += 8
                    stack[-1] = Call(cls, args, "NEWOBJ_EX", base + i)
                    i += 1
                elif op == 0x6F:  # OBJ
                    if not marks:
                        raise FormatError("OBJ without MARK", offset=base + i)
                    items = stack
                    stack = marks.pop()
                    push = stack.append
                    if not items:
                        raise FormatError("OBJ without a class", offset=base + i)
                    cls = items[0]
                    self._record_call(cls, base + i, "OBJ")
                    units += 8
                    push(Call(cls, tuple(items[1:]) if len(items) <= tuple_cap else None, "OBJ", base + i))
                    i += 1
                elif op == 0x6C or op == 0x64 or op == 0x91 or op == 0x31:  # LIST DICT FROZENSET POP_MARK
                    if not marks:
                        raise FormatError(f"{OPCODE_NAMES[op]} without MARK", offset=base + i)
                    items = stack
                    stack = marks.pop()
                    push = stack.append
                    if op == 0x6C:
                        if track_lists and units < budget:
                            lst = TList(items[: self.list_cap])
                            units += 4 + len(lst)
                            push(lst)
                        else:
                            push(_O)
                    elif op == 0x64:
                        if len(items) & 1:
                            raise FormatError("odd number of items for DICT", offset=base + i)
                        if units < budget:
                            head = items[: 2 * _DICT_CAP]
                            d = TDict(zip(head[0::2], head[1::2], strict=True))
                            units += 4 + 2 * len(d)
                            push(d)
                        else:
                            push(_O)
                    elif op == 0x91:
                        push(_O)
                    i += 1
                elif op == 0x8F:  # EMPTY_SET
                    push(_O)
                    i += 1
                elif op == 0x90:  # ADDITEMS
                    if not marks:
                        raise FormatError("ADDITEMS without MARK", offset=base + i)
                    stack = marks.pop()
                    push = stack.append
                    target = stack[-1]
                    if type(target) is GlobalRef:
                        self._record_mutation(target, base + i, "ADDITEMS")
                    i += 1
                elif op == 0x30:  # POP
                    if stack:
                        stack.pop()
                    elif marks:
                        stack = marks.pop()
                        push = stack.append
                    else:
                        raise FormatError("POP on an empty stack", offset=base + i)
                    i += 1
                elif op == 0x32:  # DUP
                    self._nonstandard("DUP", base + i)
                    push(stack[-1])
                    i += 1
                elif op == 0x8D:  # BINUNICODE8
                    ln = from_bytes(buf[i + 1 : i + 9], "little")
                    self.i = i + 9
                    s = self._take(ln, ln <= _KEEP_STR)
                    push(s if s is not None else StrRef(base + i + 9, ln))
                    buf, n, base, i = self.buf, self.n, self.base, self.i
                    lim = n - 16
                elif op == 0x55 or op == 0x54:  # SHORT_BINSTRING / BINSTRING
                    if op == 0x55:
                        ln, hdr = buf[i + 1], 2
                    else:
                        ln, hdr = from_bytes(buf[i + 1 : i + 5], "little", signed=True), 5
                        if ln < 0:
                            raise FormatError("BINSTRING pickle has negative byte count", offset=base + i)
                    self.i = i + hdr
                    s = self._take(ln, ln <= _KEEP_STR)
                    buf, n, base, i = self.buf, self.n, self.base, self.i
                    lim = n - 16
                    push(s if s is not None else _LONG)
                elif op == 0x8B:  # LONG4
                    ln = from_bytes(buf[i + 1 : i + 5], "little", signed=True)
                    if ln < 0:
                        raise FormatError("LONG pickle has negative byte count", offset=base + i)
                    self.i = i + 5
                    big = self._take(ln, ln <= 64)
                    buf, n, base, i = self.buf, self.n, self.base, self.i
                    lim = n - 16
                    push(from_bytes(big, "little", signed=True) if big is not None else _O)
                elif op == 0x82 or op == 0x83 or op == 0x84:  # EXT1 EXT2 EXT4
                    width = 1 if op == 0x82 else 2 if op == 0x83 else 4
                    code = from_bytes(buf[i + 1 : i + 1 + width], "little")
                    why = f"extension registry code {code}"
                    push(self._new_global(None, None, base + i, OPCODE_NAMES[op], why))
                    i += 1 + width
                elif op in _TEXT_OPS:
                    off = base + i
                    self.i = i + 1
                    line = self._line(OPCODE_NAMES[op])
                    buf, n, base, i = self.buf, self.n, self.base, self.i
                    lim = n - 16
                    if op == 0x70 or op == 0x67:  # PUT / GET
                        if line is None:
                            raise FormatError("memo index line too long", offset=off)
                        try:
                            key = int(line)
                        except ValueError:
                            raise FormatError(f"invalid memo index {line[:20]!r}", offset=off) from None
                        if op == 0x70:
                            if key < 0:
                                raise FormatError("negative PUT argument", offset=off)
                            memo[key] = stack[-1]
                        else:
                            try:
                                push(memo[key])
                            except KeyError:
                                push(self._memo_miss(key, off))
                    elif op == 0x49:  # INT
                        push(_text_int(line, bool_ok=True))
                    elif op == 0x4C:  # LONG
                        push(_text_int(line[:-1] if line and line.endswith(b"L") else line, bool_ok=False))
                    elif op == 0x46:  # FLOAT
                        push(_O)
                    elif op == 0x53:  # STRING
                        push(_string_arg(line, off))
                    elif op == 0x56:  # UNICODE
                        push(_unicode_arg(line, off))
                    else:  # PERSID
                        push(self._persistent(line if line is not None else _LONG, off))
                elif op == 0x97:  # NEXT_BUFFER
                    self._nonstandard("NEXT_BUFFER", base + i)
                    push(_O)
                    i += 1
                elif op == 0x98:  # READONLY_BUFFER
                    stack[-1]  # noqa: B018 - must exist
                    i += 1
                else:
                    raise FormatError(f"invalid pickle opcode 0x{op:02x}", offset=base + i)
        except IndexError:
            raise FormatError("pickle stack underflow", offset=base + i) from None
        except _Incomplete:
            raise
        except FormatError:
            raise
        except (ValueError, OverflowError, UnicodeError, TypeError, struct.error) as exc:
            raise FormatError(
                f"malformed pickle ({type(exc).__name__}: {exc})"[:200], offset=base + i
            ) from None
        finally:
            self.units = units
            if base == self.base and i > self.i:
                self.i = i

    def _memo_miss(self, key: int, offset: int) -> object:
        """A memo read of a key this pickle never stored: the previous pickle's entry (an Unpickler
        reused across loads keeps its memo), else the load fails here."""
        prev = self._prev_memo
        if prev is not None and (key in prev or 0 <= key < self._prev_len):
            self._nonstandard("memo read from a previous pickle", offset)
            return prev.get(key, _O)
        raise FormatError(f"memo key {key} not found", offset=offset)

    def _nested_loader(self, call: Call, offset: int) -> None:
        """A call of an allowlisted loader of embedded files: list its payload for nested scanning,
        or record that the payload cannot be extracted."""
        payloads = [a for a in (call.args or ()) if type(a) is Blob]
        if not payloads:
            rep = self.report
            if len(rep.opaque_nested) < _MAX_EVENTS:
                rep.opaque_nested.append((offset, call.func.path if type(call.func) is GlobalRef else "?"))
            return
        for blob in payloads:
            blob.nested = True
            if not blob.listed:
                blob.listed = True
                self.report.blobs.append(blob)

    def _persistent(self, pid: object, offset: int) -> object:
        """What a persistent load returns, symbolically; records legacy torch storages."""
        if type(pid) is tuple and len(pid) >= 2:
            kind = pid[0]
            if kind == b"module" and type(pid[1]) is GlobalRef:
                return pid[1]  # torch legacy: the container class itself
            if kind == b"storage" and self._storage_sizes is not None and len(pid) >= 5:
                stype, key = pid[1], pid[2]
                if type(stype) is GlobalRef and type(key) is bytes:
                    short = stype.path.rsplit(".", 1)[-1]
                    size = STORAGE_ELEMENT_SIZE.get(short)
                    if size is None or not stype.path.startswith("torch."):
                        raise FormatError(f"legacy torch: unknown storage type {stype.path!r}", offset=offset)
                    self._storage_sizes[key] = size
        return _PERS

    # ------------------------------------------------------------------ joblib inline arrays

    def _joblib_array(self, state: object, offset: int, stack: list[Any], marks: list[list[Any]]) -> None:
        """After BUILD of a joblib NumpyArrayWrapper: skip (or walk) the array data that follows.

        joblib.load reads the array bytes (or, for object arrays, a fresh protocol-2 pickle) right
        after the BUILD; plain pickle.load would read those same bytes as more opcodes. Both readings
        are checked: the data is first walked as opcodes continuing this pickle (a "shadow" walk
        that reports what it finds and stops silently at the first error), then skipped or walked
        the way joblib does."""
        if type(state) is not TDict:
            raise FormatError(
                "joblib array wrapper state is not a dict the walker could track", offset=offset
            )
        shape = state.get(b"shape")
        dtype = state.get(b"dtype")
        if type(shape) is not tuple or not all(type(d) is int and d >= 0 for d in shape):
            raise FormatError("joblib array wrapper: shape is not a tuple of sizes", offset=offset)
        itemsize, hasobject = _dtype_size(dtype, offset)
        self.report.joblib_arrays += 1
        pos = self.base + self.i
        self._shadow(pos, stack, marks)
        if hasobject:
            # joblib pickles object arrays with pickle.dump(array, protocol=2): a fresh pickle
            saved = self._joblib, self._context
            self._joblib, self._context = False, "joblib object array"
            try:
                self.walk_one(pos, context="joblib object array", fresh_memo=True)
            finally:
                self._joblib, self._context = saved
            return
        count = 1
        for d in shape:
            count *= d
        nbytes = count * itemsize
        align = None
        for k, v in state:
            if k == b"numpy_array_alignment_bytes":
                align = v
        if align is not None:
            if type(align) is not int:
                raise FormatError("joblib array wrapper: bad alignment", offset=offset)
            padb = self._take(1, True)
            if padb is None or len(padb) != 1:
                raise self._truncated("joblib array padding", pos)
            nbytes += padb[0]
        self._take(nbytes, False)

    def _shadow(self, pos: int, stack: list[Any], marks: list[list[Any]]) -> None:
        """Walk ``pos…`` as a continuation of the current pickle (copy of its stack, read-through
        memo), recording what it finds, ending silently at the first error; then restore."""
        budget = self._shadow_budget
        if budget <= 0:
            raise LimitExceeded("joblib array data: shadow-walk budget exhausted", offset=pos)
        saved_buf = (self.buf, self.n, self.base, self.i, self.eof, self._pos, self._positioned)
        saved = (self.end, self.trial, self.memo, self._joblib, self._context, self._pickle_index)
        shadow_end = min(self.end, pos + budget)
        self.end, self.trial, self._joblib = shadow_end, True, False
        self._context = "joblib array data read as opcodes (plain pickle.load)"
        self.memo = _OverlayMemo(saved[2])
        self._pickle_index = saved[5]
        self.report.shadow_walks += 1
        if self.n > shadow_end - self.base:  # keep the buffer within the shadow end
            self.n = max(shadow_end - self.base, 0)
            self.buf = self.buf[: self.n] + _PAD
            self.eof = True
        walked = 0
        try:
            self._run(list(stack), [list(m) for m in marks])
            walked = self.base + self.i - pos
        except _Incomplete:
            walked = shadow_end - pos
            if shadow_end < saved[0]:
                raise LimitExceeded("joblib array data: shadow-walk budget exhausted", offset=pos) from None
        except FormatError as exc:
            walked = max((exc.offset or pos) - pos, 1)
        finally:
            self.end, self.trial, self.memo, self._joblib, self._context, self._pickle_index = saved
            self.buf, self.n, self.base, self.i, self.eof, self._pos, self._positioned = saved_buf
            self._positioned = False
        self._shadow_budget = budget - walked

    # ------------------------------------------------------------------ whole file

    def walk_file(self) -> WalkReport:
        """Walk every pickle in ``[start, end)``: legacy torch layout, joblib arrays, pickles after
        STOP while the next bytes parse as a pickle; records trailing data that is not a pickle."""
        # The walk allocates many small containers and creates no garbage cycles worth collecting
        # mid-walk (a self-referencing tracked list is the worst case, bounded by the unit budget):
        # pausing the cyclic GC saves ~15% and the memory is the same.
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            return self._walk_file()
        finally:
            if was_enabled:
                gc.enable()

    def _walk_file(self) -> WalkReport:
        pos = self.start
        rep = self.report
        while pos < self.end:
            index = self._pickle_index
            if index > 0:
                if self.base + self.i != pos:
                    self._seek_to(pos)
                if self.i >= self.n:
                    self._fill(16)
                if self.i >= self.n:
                    break
                first = self.buf[self.i]
                if first not in VALID_OPCODES:
                    rep.trailing = (pos, self.end - pos, f"byte 0x{first:02x} is not a pickle opcode")
                    break
            n_events = len(rep.imports) + rep.n_unresolved + rep.global_calls + rep.n_indirect
            try:
                pos, value = self.walk_one(pos)
            except LimitExceeded:
                raise
            except FormatError as exc:
                if (
                    index == 0
                    or len(rep.imports) + rep.n_unresolved + rep.global_calls + rep.n_indirect != n_events
                ):
                    raise
                # no import and no call: bytes that merely start like opcodes, not a pickle that can
                # run anything
                rep.pickles.pop()
                rep.trailing = (pos, self.end - pos, exc.message)
                break
            if index == 0 and type(value) is int and value == LEGACY_TORCH_MAGIC:
                rep.legacy_torch = True
                self._storage_sizes = {}
            if rep.legacy_torch and index == 3:
                self.list_cap = 1 << 62  # the storage-keys pickle: keep every key
            if rep.legacy_torch and index == 4:
                self.list_cap = _LIST_CAP
                pos = self._skip_legacy_storages(value, pos)
        return rep

    def _skip_legacy_storages(self, keys: object, pos: int) -> int:
        sizes = self._storage_sizes or {}
        if type(keys) is not TList or not all(type(k) is bytes for k in keys):
            raise FormatError("legacy torch: the storage-keys pickle is not a list of strings", offset=pos)
        for key in keys:
            size = sizes.get(key)
            if size is None:
                raise FormatError(
                    f"legacy torch: storage {key.decode('utf-8', 'replace')!r} has no persistent id in the "
                    "main pickle",
                    offset=pos,
                )
            self._seek_to(pos)
            raw = self._take(8, True)
            if raw is None or len(raw) != 8:
                raise self._truncated("legacy torch storage size", pos)
            count = int.from_bytes(raw, "little", signed=True)
            if count < 0:
                raise FormatError("legacy torch: negative storage size", offset=pos)
            nbytes = count * size
            if pos + 8 + nbytes > self.end:
                raise FormatError(
                    f"legacy torch: storage {key.decode('utf-8', 'replace')!r} ({nbytes} bytes) runs past the "
                    "end of the file",
                    offset=pos,
                )
            pos += 8 + nbytes
            self.report.storages += 1
        self._seek_to(pos)
        return pos


class _OverlayMemo(dict):  # type: ignore[type-arg]
    """A read-through view of a memo (shadow walks, reused-Unpickler re-walks): writes stay local,
    MEMOIZE numbering continues after the entries underneath."""

    def __init__(self, under: dict[int, object], under_len: int | None = None) -> None:
        super().__init__()
        self._under = under
        self._under_len = len(under) if under_len is None else under_len

    def __missing__(self, key: object) -> object:
        under = self._under
        if key in under:
            return under[key]  # type: ignore[index,unused-ignore]
        if type(key) is int and 0 <= key < self._under_len and len(under) < self._under_len:
            return _O  # an entry of the previous pickle that was not kept (not a string or import)
        raise KeyError(key)

    def __len__(self) -> int:
        return self._under_len + dict.__len__(self)


class _CappedMemo(dict):  # type: ignore[type-arg]
    """The memo once it holds ``max_pickle_memo`` entries: new keys are forgotten (overwrites of
    known keys still apply) and reading a forgotten key gives a placeholder that never resolves."""

    def __setitem__(self, key: object, value: object) -> None:
        if key in self:
            dict.__setitem__(self, key, value)

    def __missing__(self, key: object) -> object:
        return _FORGOT


_RESOLVABLE = (bytes, GlobalRef, Call, StrRef, Blob)
_TEXT_OPS = frozenset({0x70, 0x67, 0x49, 0x4C, 0x46, 0x53, 0x56, 0x50})


_LATIN1 = frozenset({b"latin1", b"latin-1", b"latin_1", b"iso-8859-1", b"iso8859-1", b"l1"})


def _latin1_blob(call: Call) -> Blob | None:
    """``_codecs.encode(text, "latin1")`` (how protocols 0–2 pickle bytes) as a Blob of the bytes."""
    args = call.args
    if not args or len(args) != 2 or type(args[1]) is not bytes or args[1].lower() not in _LATIN1:
        return None
    text = args[0]
    if type(text) is bytes:
        try:
            data = text.decode("utf-8", "surrogatepass").encode("latin-1")
        except UnicodeError:
            return None
        return Blob(call.offset, len(data), data[:8], data=data)
    if type(text) is StrRef:
        return Blob(text.offset, text.length, b"", latin1=True)
    return None


# Allowlisted callables that can return an exact ``str`` (``str(...)``; copyreg's rebuilders given
# ``str`` as the class). Every other allowlisted global is a class, function or constant that is not
# a str and whose call result is not an exact str either.
_STR_CAPABLE = frozenset(
    {"builtins.str", "copyreg._reconstructor", "copyreg.__newobj__", "copyreg.__newobj_ex__"}
)


def _never_str(value: object) -> bool:
    """True when ``value`` can never be an exact ``str`` at load time."""
    if value is None or type(value) in (int, bool, tuple, TList, TDict, Blob):
        return True
    if type(value) is GlobalRef:
        return value.module is not None and value.path in SAFE_GLOBALS
    if type(value) is Call:
        f = value.func
        return (
            type(f) is GlobalRef
            and f.module is not None
            and f.path in SAFE_GLOBALS
            and f.path not in _STR_CAPABLE
        )
    return False


def _check_stack_global_operand(value: object, offset: int) -> None:
    """CPython requires exact str operands (``PyUnicode_CheckExact`` in _pickle.c, ``type(x) is str``
    in pickle.py, which joblib uses): values that can never be one make the load fail there, so
    nothing after this opcode runs. An allowlisted import (a class or function) or the result of
    calling an allowlisted class is never a str: joblib array bytes read as opcodes hit this."""
    if _never_str(value):
        raise FormatError("STACK_GLOBAL requires str", offset=offset)


def _describe(value: object) -> str:
    t = type(value)
    if isinstance(value, GlobalRef):
        return f"import {value.path}"
    if isinstance(value, Call):
        f = value.func
        inner = f.path if isinstance(f, GlobalRef) else _describe(f)
        return f"result of calling {inner}"
    if isinstance(value, _Marker):
        return value.what
    if t is bytes:
        return "string"
    if t is StrRef:
        return "long string"
    return t.__name__


def _text_int(line: bytes | None, *, bool_ok: bool) -> object:
    if line is None:
        return _O
    if bool_ok and line in (b"00", b"01"):
        return line == b"01"
    try:
        return int(line, 0)
    except ValueError:
        try:
            return int(line)
        except ValueError:
            return _O


def _string_arg(line: bytes | None, offset: int) -> object:
    """STRING (protocol 0): a quoted, escaped Python 2 str literal."""
    if line is None:
        return _LONG
    if len(line) < 2 or line[0] != line[-1] or line[:1] not in (b"'", b'"'):
        raise FormatError("the STRING opcode argument must be quoted", offset=offset)
    value = line[1:-1]
    if b"\\" in value:
        try:
            with warnings.catch_warnings():  # invalid escapes only warn (as in CPython's load_string)
                warnings.simplefilter("ignore")
                value = codecs.escape_decode(value)[0]
        except ValueError as exc:
            raise FormatError(f"bad STRING escape: {exc}", offset=offset) from None
    return value if len(value) <= _KEEP_STR else _LONG


def _unicode_arg(line: bytes | None, offset: int) -> object:
    """UNICODE (protocol 0): raw-unicode-escape text."""
    if line is None:
        return _LONG
    try:
        text = line.decode("raw-unicode-escape")
    except UnicodeDecodeError as exc:
        raise FormatError(f"bad UNICODE escape: {exc.reason}", offset=offset) from None
    value = text.encode("utf-8", "surrogatepass")
    return value if len(value) <= _KEEP_STR else _LONG


def _dtype_size(dtype: object, offset: int) -> tuple[int, bool]:
    """(itemsize, hasobject) of a numpy.dtype call the walker tracked."""
    if type(dtype) is not Call or type(dtype.func) is not GlobalRef or dtype.func.path != _NUMPY_DTYPE:
        raise FormatError(
            "joblib array wrapper: dtype is not a numpy.dtype the walker could track", offset=offset
        )
    args = dtype.args
    if not args or type(args[0]) is not bytes:
        raise FormatError("joblib array wrapper: untracked dtype descriptor", offset=offset)
    descr = args[0].decode("latin-1")
    kind = descr.lstrip("<>|=")[:1]
    digits = descr.lstrip("<>|=")[1:]
    if kind == "O":
        return 8, True
    if dtype.flags is not None:
        elsize, flags = dtype.flags
        if flags & 1:
            return max(elsize, 0), True
        if elsize > 0:
            return elsize, False
    if not digits.isdigit():
        raise FormatError(f"joblib array wrapper: cannot size dtype {descr!r}", offset=offset)
    size = int(digits)
    if kind == "U":
        size *= 4
    if kind == "V" and dtype.flags is None:
        raise FormatError(f"joblib array wrapper: untracked structured dtype {descr!r}", offset=offset)
    return size, False


# --------------------------------------------------------------------------------------------------
# sniffing


def looks_like_pickle(head: bytes, *, hinted: bool = False) -> bool:
    """Whether ``head`` (the first bytes of a stream) is a pickle, by trial-walking it.

    Protocol 2+ pickles start with PROTO; protocol 0/1 pickles have no magic, so the head must parse
    as opcodes up to STOP or to the end of the head, or import a global and call it before failing
    (CPython would have run that call). ``hinted`` (a pickle-like file name) relaxes this so a broken
    ``.pkl`` that starts like a pickle is reported as a malformed pickle."""
    if not head or head[0] not in VALID_OPCODES:
        return False
    protocol_start = head[0] == 0x80 and len(head) > 1 and head[1] <= 5
    walker = PickleWalker(io.BytesIO(head), end=len(head), trial=True)
    rep = walker.report
    pos = 0
    while True:  # a benign pickle may come first ("N." + payload): look at every pickle in the head
        try:
            pos, _value = walker.walk_one(pos)
        except _Incomplete:
            consumed = walker.base + walker.i
            return protocol_start or hinted or _plausible_imports(rep) or consumed >= 64
        except FormatError:
            return rep.global_calls > 0 or (protocol_start and (hinted or _plausible_imports(rep)))
        if protocol_start or rep.global_calls or hinted or _plausible_imports(rep):
            return True
        if pos >= len(head) or head[pos] not in VALID_OPCODES:
            return pos == len(head) or pos >= 8


_IDENT_PATH = re.compile(rb"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")


def _plausible_imports(rep: WalkReport) -> bool:
    """Imports whose module and name look like Python paths (text files starting with 'c' do not)."""
    for g in rep.imports:
        if g.module is not None and g.name is not None:
            mod = g.module.encode("utf-8", "surrogateescape")
            name = g.name.encode("utf-8", "surrogateescape")
            if _IDENT_PATH.fullmatch(mod) and _IDENT_PATH.fullmatch(name):
                return True
    return False


def read_head(stream: BinaryIO, start: int, length: int) -> bytes:
    stream.seek(start)
    return stream.read(length)


SniffFn = Callable[[bytes, str], bool]
