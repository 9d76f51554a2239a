"""Fuzzing the pickle-family scanners: random and mutated bytes produce findings, FormatError or
LimitExceeded — never another exception, never a hang, never execution (canary). A differential
test checks that the walker reports every global CPython's own unpicklers (C and pure Python, with a
``find_class`` that never imports) would request for random opcode sequences."""

from __future__ import annotations

import io
import pickle
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.samples import pickles as P
from warden.errors import FormatError
from warden.formats import _pickle_walk
from warden.formats._pickle_walk import PickleWalker, looks_like_pickle
from warden.formats.compressed import CompressedScanner
from warden.formats.interface import FormatScanner, Limits, ScanContext
from warden.formats.numpy import NpyScanner
from warden.formats.pickle import PickleScanner
from warden.report.model import Location
from warden.scan.core import Scanner

FUZZ = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
LIMITS = Limits(max_pickle_memo=1000, max_pickle_stack=10_000, max_member_size=8 << 20)
SCANNERS: list[FormatScanner] = [NpyScanner(), CompressedScanner(), PickleScanner()]


def harness(scanner: FormatScanner, data: bytes, name: str = "fuzz.bin") -> None:
    """Run one scanner directly on ``data``: only findings or FormatError (LimitExceeded is one) may
    come out; nested members go through the real core, which must not report an internal error."""
    core = Scanner(SCANNERS, LIMITS)
    ctx = ScanContext(limits=LIMITS, nested_scan=core._scan_stream)
    scanner.sniff(data[:4096], name)
    try:
        findings = list(scanner.scan(io.BytesIO(data), len(data), Location(file=name), ctx))
    except FormatError as exc:
        assert exc.offset is None or exc.offset >= 0
        assert not exc.message.startswith("malformed pickle ("), exc.message  # a leaked Python error
        return
    for f in findings:
        assert f.rule_id != "SCAN-INTERNAL-ERROR", f.evidence


def _seeds(canary: Path) -> list[bytes]:
    return [
        P.os_system(canary, proto=0),
        P.os_system(canary, proto=2),
        P.os_system(canary, proto=5),
        P.stack_global_via_memo(canary),
        P.memo_confusion(canary),
        P.five_then_malicious(canary),
        P.joblib_like_dump({"a": np.arange(6.0), "o": np.array(["x", None], dtype=object)}),
        P.joblib_like_dump([np.arange(4, dtype=np.int8)], align=False, protocol=2),
        pickle.dumps({"k": [1, 2.5, "s" * 300, b"b" * 40, (1, 2)], "n": None}, protocol=4),
        P.legacy_torch_bytes({"w": __import__("torch").zeros(3)}),
    ]


def _mutate(data: bytes, ops: list[tuple[int, int, int]]) -> bytes:
    buf = bytearray(data)
    for kind, pos, val in ops:
        if not buf:
            break
        p = pos % len(buf)
        if kind == 0:
            buf[p] = val
        elif kind == 1:
            del buf[p : p + 1 + val % 8]
        elif kind == 2:
            buf[p:p] = bytes([val]) * (1 + val % 4)
        else:
            del buf[p:]
    return bytes(buf)


MUTATIONS = st.lists(st.tuples(st.integers(0, 3), st.integers(0, 1 << 20), st.integers(0, 255)), max_size=6)


@FUZZ
@given(data=st.binary(max_size=512))
def test_random_bytes_every_scanner(canary: Path, data: bytes) -> None:
    for scanner in SCANNERS:
        harness(scanner, data)
    looks_like_pickle(data)


@FUZZ
@given(body=st.binary(max_size=256), proto=st.integers(0, 5))
def test_random_opcode_streams(canary: Path, body: bytes, proto: int) -> None:
    harness(PickleScanner(), b"\x80" + bytes([proto]) + body + b".")


@FUZZ
@given(seed=st.integers(0, 9), ops=MUTATIONS)
def test_mutated_pickles(canary: Path, seed: int, ops: list[tuple[int, int, int]]) -> None:
    data = _mutate(_seeds(canary)[seed], ops)
    harness(PickleScanner(), data, "model.pkl")


@FUZZ
@given(seed=st.integers(0, 9), ops=MUTATIONS, chunk=st.sampled_from([16, 33, 64]))
def test_mutated_pickles_small_buffers(
    canary: Path, seed: int, ops: list[tuple[int, int, int]], chunk: int
) -> None:
    data = _mutate(_seeds(canary)[seed], ops)
    mp = pytest.MonkeyPatch()
    mp.setattr(_pickle_walk, "CHUNK", chunk)
    try:
        harness(PickleScanner(), data, "model.pkl")
    finally:
        mp.undo()


@FUZZ
@given(ops=MUTATIONS, which=st.integers(0, 2))
def test_mutated_npy(canary: Path, ops: list[tuple[int, int, int]], which: int) -> None:
    seeds = [
        P.npy_bytes(np.arange(12.0).reshape(3, 4)),
        P.npy_object_array_malicious(canary),
        P.npy_bytes(np.zeros(3, dtype=[("x", "<f4"), ("y", "S3")])),
    ]
    harness(NpyScanner(), _mutate(seeds[which], ops), "a.npy")


@FUZZ
@given(ops=MUTATIONS, codec=st.sampled_from(P.CODECS))
def test_mutated_compressed(canary: Path, ops: list[tuple[int, int, int]], codec: str) -> None:
    data = P.compress(P.os_system(canary), codec)
    mutated = _mutate(data, ops)
    if CompressedScanner().sniff(mutated[:4096], "x.gz"):
        harness(CompressedScanner(), mutated, "x.gz")


@FUZZ
@given(data=st.binary(max_size=300))
def test_walker_always_consumes(canary: Path, data: bytes) -> None:
    """Whatever the input, a walk ends (every opcode consumes bytes) with a report or FormatError."""
    walker = PickleWalker(io.BytesIO(data), end=len(data), limits=LIMITS)
    try:
        walker.walk_file()
    except FormatError:
        pass
    for info in walker.report.pickles:
        assert 0 <= info.start <= len(data)


# --------------------------------------------------------------------------------------------------
# differential: the walker never misses an import CPython's unpickler would make


class _Inert:
    """What the oracle hands out instead of any imported global: accepts every call, does nothing."""

    def __new__(cls, *args: object, **kwargs: object) -> _Inert:
        return object.__new__(cls)

    def __init__(self, *args: object, **kwargs: object) -> None:
        pass

    def __call__(self, *args: object, **kwargs: object) -> _Inert:
        return _Inert()

    def __setstate__(self, state: object) -> None:
        pass


def _oracle(base: type) -> type:
    class Oracle(base):  # type: ignore[misc,valid-type]
        """Records every (module, name) the real unpickler asks for. safe: find_class never imports
        anything; it returns an inert stub, so the generated bytes cannot reach real code."""

        def __init__(self, f: io.BytesIO) -> None:
            super().__init__(f)
            self.seen: list[tuple[str, str]] = []

        def find_class(self, module: str, name: str) -> type:
            self.seen.append((module, name))
            return _Inert

        def persistent_load(self, pid: object) -> _Inert:
            return _Inert()

    return Oracle


_ORACLES = [_oracle(pickle._Unpickler), _oracle(pickle.Unpickler)]  # type: ignore[attr-defined]
_NAMES = ["os", "system", "torch", "Size", "a"]
_s = st.sampled_from
_OP = st.one_of(
    _s([b"(", b"0", b"1", b"2", b"\x94", b"\x93", b"t", b"\x85", b"\x86", b"\x87", b")", b"R", b"b", b"N"]),
    _s([b"}", b"s", b"u", b"]", b"a", b"e", b"\x81", b"o", b"l", b"d"]),
    _s(_NAMES).map(lambda n: b"\x8c" + bytes([len(n)]) + n.encode()),
    _s(_NAMES).map(lambda n: b"V" + n.encode() + b"\n"),
    st.integers(0, 5).map(lambda k: b"q" + bytes([k])),
    st.integers(0, 5).map(lambda k: b"h" + bytes([k])),
    st.integers(0, 5).map(lambda k: b"r" + k.to_bytes(4, "little")),
    st.integers(0, 5).map(lambda k: b"j" + k.to_bytes(4, "little")),
    st.integers(0, 5).map(lambda k: b"p" + str(k).encode() + b"\n"),
    st.integers(0, 5).map(lambda k: b"g" + str(k).encode() + b"\n"),
    st.tuples(_s(_NAMES), _s(_NAMES)).map(lambda t: b"c" + t[0].encode() + b"\n" + t[1].encode() + b"\n"),
    st.tuples(_s(_NAMES), _s(_NAMES)).map(lambda t: b"i" + t[0].encode() + b"\n" + t[1].encode() + b"\n"),
)


@FUZZ
@given(ops=st.lists(_OP, max_size=40), twice=st.booleans())
def test_walker_sees_every_import_cpython_makes(canary: Path, ops: list[bytes], twice: bool) -> None:
    body = b"\x80\x04" + b"".join(ops) + b"."
    data = body * (2 if twice else 1)
    seen: set[tuple[str, str]] = set()
    for oracle in _ORACLES:
        for reuse in (True, False):  # one Unpickler for both pickles, or a fresh one per pickle
            f = io.BytesIO(data)
            u = oracle(f)
            for _ in range(2 if twice else 1):
                try:
                    u.load()
                except Exception:  # noqa: BLE001 - the oracle stops where CPython stops
                    break
                finally:
                    seen |= set(u.seen)
                if not reuse:
                    u = oracle(f)
    walker = PickleWalker(io.BytesIO(data), end=len(data))
    try:
        walker.walk_file()
    except FormatError:
        pass
    mine = {(g.module, g.name) for g in walker.report.imports}
    assert seen <= mine or walker.report.n_unresolved, (seen - mine, data)
