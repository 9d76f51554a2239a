""".npy scanner: numeric and structured arrays pass, object arrays are flagged and their pickle is
judged, broken headers are findings (never eval, never an exception)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from numpy.lib import format as npformat

from tests.samples import pickles as P
from tests.samples.pickles import scan_with_core
from warden.errors import FormatError, LimitExceeded
from warden.formats.numpy import NpyScanner, parse_npy_header
from warden.report.model import Severity


def rules(findings: list) -> list[str]:
    return [f.rule_id for f in findings]


def npy_version(array: np.ndarray, version: tuple[int, int]) -> bytes:
    buf = io.BytesIO()
    npformat.write_array(buf, array, version=version)
    return buf.getvalue()


BENIGN = {
    "float2d": np.arange(12.0).reshape(3, 4),
    "int8": np.arange(5, dtype=np.int8),
    "fortran": np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3)),
    "scalar": np.array(3.5),
    "empty": np.zeros((0, 7)),
    "bool": np.ones(9, dtype=bool),
    "unicode": np.array(["ab", "cde"]),
    "structured": np.zeros(4, dtype=[("x", "<f4"), ("y", "<i8", (2,)), ("name", "S5")]),
    "bigendian": np.arange(4, dtype=">i4"),
    "datetime": np.array(["2024-01-01"], dtype="datetime64[D]"),
}


@pytest.mark.parametrize("name", sorted(BENIGN))
def test_benign_arrays_are_clean(canary: Path, name: str) -> None:
    findings, scanner = scan_with_core(P.npy_bytes(BENIGN[name]), f"{name}.npy")
    assert findings == []
    assert scanner.outcomes[-1].format == "numpy"


@pytest.mark.parametrize("version", [(1, 0), (2, 0), (3, 0)])
def test_all_format_versions(canary: Path, version: tuple[int, int]) -> None:
    data = npy_version(np.arange(10, dtype=np.int16), version)
    header = parse_npy_header(io.BytesIO(data), len(data))
    assert header.version == version and header.shape == (10,) and header.itemsize == 2
    assert scan_with_core(data, "a.npy")[0] == []


def test_benign_object_array_is_flagged_medium_only(canary: Path) -> None:
    arr = np.array(["label", 3, None, (1, 2)], dtype=object)
    findings, _ = scan_with_core(P.npy_bytes(arr, allow_pickle=True), "labels.npy")
    assert rules(findings) == ["NUMPY-OBJECT-ARRAY"]
    assert findings[0].severity is Severity.MEDIUM


def test_malicious_object_array(canary: Path) -> None:
    data = P.npy_object_array_malicious(canary)
    findings, _ = scan_with_core(data, "embeddings.npy")
    assert rules(findings)[0] == "NUMPY-OBJECT-ARRAY"
    (hit,) = [f for f in findings if f.rule_id == "PICKLE-DANGEROUS-GLOBAL"]
    assert hit.evidence["global"] == "posix.system"
    assert hit.evidence["context"] == "numpy object array"
    header = parse_npy_header(io.BytesIO(data), len(data))
    assert hit.location.offset > header.data_offset


def test_structured_dtype_with_object_field(canary: Path) -> None:
    import os

    arr = np.zeros(1, dtype=[("x", "<f4"), ("o", "O")])
    arr[0]["o"] = P._Reduce(os.system, (f"touch {canary}",))
    findings, _ = scan_with_core(P.npy_bytes(arr, allow_pickle=True), "a.npy")
    assert {"NUMPY-OBJECT-ARRAY", "PICKLE-DANGEROUS-GLOBAL"} <= set(rules(findings))


def test_npy_named_bin_is_recognised_by_magic(canary: Path) -> None:
    findings, scanner = scan_with_core(P.npy_object_array_malicious(canary), "weights.bin")
    assert scanner.outcomes[-1].format == "numpy"
    assert "PICKLE-DANGEROUS-GLOBAL" in rules(findings)


def test_truncated_object_pickle_is_a_pickle_problem(canary: Path) -> None:
    data = P.npy_object_array_malicious(canary)
    findings, _ = scan_with_core(data[:-2], "a.npy")
    assert {"NUMPY-OBJECT-ARRAY", "PICKLE-DANGEROUS-GLOBAL", "PICKLE-MALFORMED"} <= set(rules(findings))


def test_header_is_never_evaluated(canary: Path) -> None:
    payload = f"__import__('os').system('touch {canary}')"
    findings, _ = scan_with_core(P.npy_raw(payload), "a.npy")
    assert rules(findings) == ["NUMPY-MALFORMED"]
    assert "not a Python literal" in findings[0].evidence["error"]


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("[1, 2]", "not a dict"),
        ("{'descr': '<f8', 'shape': (2,)}", "header keys"),
        ("{'descr': '<f8', 'fortran_order': False, 'shape': (-1,)}", "shape is not a tuple of sizes"),
        ("{'descr': '<f8', 'fortran_order': 'no', 'shape': (2,)}", "fortran_order"),
        ("{'descr': 'not-a-dtype', 'fortran_order': False, 'shape': (2,)}", "is not a dtype"),
        ("{'descr': '<f8', 'fortran_order': False, 'shape': (4,)}", "needs 32"),
    ],
)
def test_malformed_headers(canary: Path, header: str, message: str) -> None:
    findings, scanner = scan_with_core(P.npy_raw(header, b"\x00" * 16), "a.npy")
    assert rules(findings) == ["NUMPY-MALFORMED"]
    assert message in findings[0].evidence["error"]
    assert scanner.outcomes[-1].status == "malformed"


def test_python2_long_suffix_is_accepted(canary: Path) -> None:
    data = P.npy_raw("{'descr': '<i2', 'fortran_order': False, 'shape': (2L,)}", b"\x01\x00\x02\x00")
    assert scan_with_core(data, "old.npy")[0] == []


def test_bad_version_and_lengths(canary: Path) -> None:
    good = P.npy_bytes(np.arange(3.0))
    bad_version = good[:6] + b"\x04\x00" + good[8:]
    with pytest.raises(FormatError, match="unsupported .npy format version"):
        parse_npy_header(io.BytesIO(bad_version), len(bad_version))
    past_end = good[:8] + b"\xff\x7f" + good[10:]
    with pytest.raises(FormatError, match="runs past the end"):
        parse_npy_header(io.BytesIO(past_end), len(past_end))
    huge = b"\x93NUMPY\x02\x00" + (1 << 30).to_bytes(4, "little") + b" " * 64
    with pytest.raises(LimitExceeded):
        parse_npy_header(io.BytesIO(huge), 1 << 31)


def test_trailing_data_is_low(canary: Path) -> None:
    data = P.npy_bytes(np.arange(4.0)) + P.os_system(canary)
    findings, _ = scan_with_core(data, "a.npy")
    assert rules(findings) == ["NUMPY-TRAILING-DATA"]
    assert findings[0].severity is Severity.LOW
    assert findings[0].evidence["length"] == len(P.os_system(canary))


def test_sniff_is_by_magic_only() -> None:
    assert NpyScanner().sniff(b"\x93NUMPY\x01\x00", "x.bin")
    assert not NpyScanner().sniff(b"PK\x03\x04", "x.npy")
