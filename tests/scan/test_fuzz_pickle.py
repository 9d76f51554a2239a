"""Fuzzing the pickle-family scanners: random and mutated bytes produce findings, FormatError or
LimitExceeded — never another exception, never a hang, never execution (canary)."""

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
