"""Compressed streams: decompressed under limits and scanned as what they contain (joblib's
compressed dumps, .pkl.gz), with corrupt/truncated/trailing data and bombs reported."""

from __future__ import annotations

import gzip
import io
import pickle
import zlib
from pathlib import Path

import numpy as np
import pytest

from tests.samples import pickles as P
from tests.samples.pickles import scan_with_core
from warden.formats.compressed import CompressedScanner, decompress_limited, detect_codec, inner_name
from warden.formats.interface import Limits


def rules(findings: list) -> list[str]:
    return [f.rule_id for f in findings]


@pytest.mark.parametrize("codec", P.CODECS)
def test_malicious_pickle_inside(canary: Path, codec: str) -> None:
    findings, scanner = scan_with_core(P.compress(P.os_system(canary), codec), "model.joblib")
    (hit,) = findings
    assert hit.rule_id == "PICKLE-DANGEROUS-GLOBAL" and hit.evidence["global"] == "posix.system"
    assert hit.location.file == "model.joblib" and hit.location.member == f"<{codec}>:model.joblib"
    assert scanner.outcomes[-1].format == "compressed"


@pytest.mark.parametrize("codec", P.CODECS)
def test_benign_content_is_clean(canary: Path, codec: str) -> None:
    data = P.joblib_like_dump({"w": np.arange(100.0), "names": ["a", "b"]})
    assert scan_with_core(P.compress(data, codec), "model.joblib")[0] == []


def test_joblib_like_object_array_compressed(canary: Path) -> None:
    import os

    arr = np.array([P._Reduce(os.system, (f"touch {canary}",))], dtype=object)
    data = P.compress(P.joblib_like_dump({"o": arr}), "zlib")
    findings, _ = scan_with_core(data, "clf.joblib")
    assert [f.evidence["global"] for f in findings if f.rule_id == "PICKLE-DANGEROUS-GLOBAL"] == [
        "posix.system"
    ]


def test_multi_member_gzip(canary: Path) -> None:
    payload = P.os_system(canary)
    data = gzip.compress(payload[:7]) + gzip.compress(payload[7:])
    findings, _ = scan_with_core(data, "x.pkl.gz")
    assert rules(findings) == ["PICKLE-DANGEROUS-GLOBAL"]


def test_truncated_stream_scans_what_it_has(canary: Path) -> None:
    payload = P.os_system(canary) + pickle.dumps(list(range(20_000)), protocol=4)
    data = gzip.compress(payload)
    findings, scanner = scan_with_core(data[: len(data) // 2], "x.pkl.gz")
    assert "PICKLE-DANGEROUS-GLOBAL" in rules(findings)
    assert "COMPRESSED-MALFORMED" in rules(findings)
    assert scanner.outcomes[-1].status == "malformed"


def test_trailing_garbage_vs_zero_padding(canary: Path) -> None:
    body = gzip.compress(pickle.dumps({"a": 1}, protocol=4))
    findings, _ = scan_with_core(body + b"\x00" * 512, "x.gz")
    assert findings == []
    findings, _ = scan_with_core(body + b"junk!", "x.gz")
    assert rules(findings) == ["COMPRESSED-MALFORMED"]
    assert findings[0].location.offset == len(body)


def test_corrupt_stream(canary: Path) -> None:
    data = bytearray(gzip.compress(pickle.dumps(list(range(1000)), protocol=4)))
    data[20:40] = b"\xff" * 20
    findings, _ = scan_with_core(bytes(data), "x.pkl.gz")
    assert "COMPRESSED-MALFORMED" in rules(findings)
    # zlib has only a 2-byte header: a stream that does not decompress is not taken for zlib
    raw = bytearray(zlib.compress(pickle.dumps(list(range(1000)), protocol=4)))
    raw[20:40] = b"\xff" * 20
    assert detect_codec(bytes(raw)) is None


def test_bomb_ratio(canary: Path) -> None:
    data = gzip.compress(b"\x00" * (16 << 20))
    findings, _ = scan_with_core(data, "bomb.pkl.gz")
    (limit,) = [f for f in findings if f.rule_id == "SCAN-LIMIT-EXCEEDED"]
    assert "max_compression_ratio" in limit.evidence["error"]
    # what was decompressed before the limit was still handed to the core (here: zeros, no format)
    assert rules(findings) == ["FORMAT-UNRECOGNISED", "SCAN-LIMIT-EXCEEDED"]


def test_bomb_size(canary: Path) -> None:
    data = gzip.compress(pickle.dumps(list(range(300_000)), protocol=4))
    findings, _ = scan_with_core(data, "big.pkl.gz", limits=Limits(max_member_size=100_000))
    assert "SCAN-LIMIT-EXCEEDED" in rules(findings)
    out = io.BytesIO()
    with pytest.raises(Exception, match="max_member_size"):
        decompress_limited(io.BytesIO(data), len(data), "gzip", out, Limits(max_member_size=100_000))
    assert 100_000 < out.tell() <= 100_000 + (8 << 20)  # bounded: at most one output step past


def test_detect_codec_by_bytes_not_names() -> None:
    for codec in P.CODECS:
        assert detect_codec(P.compress(b"hello world" * 10, codec)) == codec
    assert detect_codec(b"x^ hello, this is text") is None
    assert detect_codec(b"BZh9 not really") is None
    assert detect_codec(pickle.dumps(1)) is None
    assert not CompressedScanner().sniff(b"\x93NUMPY", "a.gz")


def test_inner_names() -> None:
    assert inner_name("model.pkl.gz") == "model.pkl"
    assert inner_name("weights.tgz") == "weights.tar"
    assert inner_name("clf.joblib") == "clf.joblib"
    assert inner_name("a.xz") == "a"


def test_joblib_lz4_compression(canary: Path, tmp_path: Path) -> None:
    """joblib.dump(..., compress="lz4") writes an LZ4 frame around the pickle."""
    import joblib
    import lz4.frame

    path = tmp_path / "model.joblib"
    joblib.dump({"w": np.arange(10)}, path, compress="lz4")
    findings, scanner = scan_with_core(path.read_bytes(), "model.joblib")
    assert findings == [] and scanner.outcomes[-1].format == "compressed"
    findings, _ = scan_with_core(lz4.frame.compress(P.os_system(canary)), "model.joblib")
    assert "posix.system" in {f.evidence.get("resolved_as") for f in findings}
