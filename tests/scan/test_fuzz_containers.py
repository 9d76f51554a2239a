"""Hypothesis fuzzing of the container scanners: mutated valid archives must give findings or a
FormatError/LimitExceeded — never another exception, a hang, or a payload run."""

from __future__ import annotations

import io
import json
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.samples.containers import (
    Entry,
    benign_pickle,
    build_tar,
    build_zip,
    container_scanners,
    keras2_h5_benign,
    keras_v3_config,
    keras_v3_lambda_layer,
    malicious_pickle,
    onnx_bytes,
    real_npz,
    tar_link,
    torch_entries,
)
from warden.errors import FormatError
from warden.formats import hdf5 as hdf5_module
from warden.formats.hdf5 import HDF5Scanner, keras_config_findings
from warden.formats.interface import FormatScanner, Limits, ScanContext
from warden.formats.onnx import OnnxScanner
from warden.formats.tar import TarScanner
from warden.formats.zipfile import ZipScanner
from warden.report.model import Finding, Location
from warden.scan.core import Scanner

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
LIMITS = Limits(
    max_members=500, max_member_size=4 << 20, max_total_uncompressed=16 << 20, max_json_header=1 << 20
)
_INTERESTING = [0, 1, 0x7F, 0x80, 0xFF, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF]
# Hypothesis cannot use the function-scoped ``canary`` fixture: the seeds' payloads point at this
# path instead, and the module-scoped fixture below fails if any of them ever ran.
_CANARY = Path(tempfile.mkdtemp(prefix="warden-fuzz-")) / "CANARY-EXECUTED"


@pytest.fixture(autouse=True, scope="module")
def _payloads_never_ran() -> Iterator[None]:
    yield
    assert not _CANARY.exists(), f"a scanned payload was executed: {_CANARY} was created"


@st.composite
def mutate(draw: st.DrawFn, seed: bytes) -> bytes:
    """Byte edits, 32-bit field overwrites with edge values, inserts, deletes and truncation."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(0, 8))):
        if not data:
            break
        pos = draw(st.integers(0, len(data) - 1))
        kind = draw(st.sampled_from(["byte", "field", "insert", "delete"]))
        if kind == "byte":
            data[pos] = draw(st.integers(0, 255))
        elif kind == "field":
            value = (
                draw(st.sampled_from(_INTERESTING))
                if draw(st.booleans())
                else draw(st.integers(0, 2**32 - 1))
            )
            data[pos : pos + 4] = value.to_bytes(4, "little")
        elif kind == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=64))
        else:
            del data[pos : pos + draw(st.integers(1, 64))]
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    return bytes(data)


def run_scanner(scanner: FormatScanner, data: bytes, name: str) -> list[Finding]:
    """Call the scanner directly (nested members go through the core). Only FormatError (and its
    LimitExceeded) may escape; a nested parser failure would show up as SCAN-INTERNAL-ERROR."""
    core = Scanner(container_scanners(), LIMITS)
    ctx = ScanContext(limits=LIMITS, nested_scan=core._scan_stream)
    findings: list[Finding] = []
    start = time.monotonic()
    try:
        for finding in scanner.scan(io.BytesIO(data), len(data), Location(name), ctx):
            assert isinstance(finding, Finding)
            findings.append(finding)
    except FormatError:
        pass
    assert time.monotonic() - start < 20, "scanner took too long"
    internal = [f.evidence for f in findings if f.rule_id == "SCAN-INTERNAL-ERROR"]
    assert not internal, internal
    return findings


def _zip_seed() -> bytes:
    entries = [
        *torch_entries(malicious_pickle(_CANARY)),
        Entry("archive/data/1", bytes(range(200)), method=8, data_descriptor=True),
        Entry("archive/link", b"../x", external_attr=0o120777 << 16),
        Entry("archive/hidden.pkl", benign_pickle(), in_central=False),
        Entry(
            "inner.tar",
            build_tar([("a.txt", b"hello"), ("n.zip", build_zip([Entry("x", b"y" * 50, method=8)]))]),
        ),
    ]
    return build_zip(entries, comment=b"c")


ZIP_SEEDS = [_zip_seed(), real_npz(compressed=True)]
TAR_SEED = build_tar([("model/config.json", b'{"a": 1}'), tar_link("model/l", "config.json"),
                      ("model/w.zip", build_zip([Entry("w.bin", bytes(64), method=8)])), ("x" * 120, b"long")])  # fmt: skip


@pytest.mark.parametrize("seed", ZIP_SEEDS, ids=["torch-zip", "npz"])
@FUZZ
@given(data=st.data())
def test_fuzz_zip(seed: bytes, data: st.DataObject) -> None:
    run_scanner(ZipScanner(), data.draw(mutate(seed)), "model.pt")


@FUZZ
@given(blob=mutate(TAR_SEED))
def test_fuzz_tar(blob: bytes) -> None:
    run_scanner(TarScanner(), blob, "model.tar")


@FUZZ
@given(blob=mutate(onnx_bytes(custom_domain="com.x", external="w.bin")))
def test_fuzz_onnx(blob: bytes) -> None:
    run_scanner(OnnxScanner(), blob, "model.onnx")


@FUZZ
@given(blob=st.binary(max_size=600))
def test_fuzz_sniffers_on_random_bytes(blob: bytes) -> None:
    for scanner in container_scanners():
        assert scanner.sniff(blob, "model.bin") in (True, False)


def _json_mutations() -> Callable[[st.DrawFn], bytes]:
    text = json.dumps(keras_v3_config([keras_v3_lambda_layer(_CANARY)])).encode()
    return mutate(text)


@FUZZ
@given(blob=_json_mutations())
def test_fuzz_keras_config(blob: bytes) -> None:
    findings = list(
        keras_config_findings(blob, Location("config.json"), LIMITS, container="keras", source="t")
    )
    assert all(isinstance(f, Finding) for f in findings)


@FUZZ
@given(value=st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["class_name", "module", "config", "function", "registered_name", "code", "vocabulary",
                         "function_type", "name"]), inner, max_size=5),
    max_leaves=30,
))  # fmt: skip
def test_fuzz_keras_config_structure(value: object) -> None:
    """Arbitrary JSON shapes with Keras' key names: the walker must not trip over types."""
    text = json.dumps(value)
    list(keras_config_findings(text, Location("config.json"), LIMITS, container="h5", source="t"))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(blob=mutate(keras2_h5_benign()))
def test_fuzz_hdf5_isolated(blob: bytes) -> None:
    """libhdf5 crashes and hangs on some of these: the child process must turn that into findings.
    Few examples: each one starts a child process."""
    old = hdf5_module.CHILD_TIMEOUT_S
    hdf5_module.CHILD_TIMEOUT_S = 10.0
    try:
        run_scanner(HDF5Scanner(), blob, "model.h5")
    finally:
        hdf5_module.CHILD_TIMEOUT_S = old


def test_hdf5_crash_becomes_a_finding(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A child that dies by a signal (what libhdf5 does on some corrupt files) is reported, not raised."""
    monkeypatch.setattr(hdf5_module, "_CHILD", "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)")
    findings = run_scanner(HDF5Scanner(), keras2_h5_benign(), "model.h5")
    assert [f.rule_id for f in findings] == ["HDF5-PARSER-CRASH"]


def test_hdf5_hang_becomes_a_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hdf5_module, "_CHILD", "import time; time.sleep(30)")
    monkeypatch.setattr(hdf5_module, "CHILD_TIMEOUT_S", 1.0)
    core = Scanner([HDF5Scanner()], LIMITS)
    data = keras2_h5_benign()
    ctx = ScanContext(limits=LIMITS, nested_scan=core._scan_stream)
    findings = list(core._scan_stream(io.BytesIO(data), len(data), Location("m.h5"), "m.h5", ctx))
    assert [f.rule_id for f in findings] == ["SCAN-LIMIT-EXCEEDED"]
