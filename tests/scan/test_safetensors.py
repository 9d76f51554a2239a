"""safetensors header parser and scanner: agreement with the safetensors library on real files,
every malformed case refused with a clear message and offset, findings with benign look-alikes."""

from __future__ import annotations

import io
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import pytest
import safetensors

from tests.samples import tensors as S
from warden.errors import FormatError, LimitExceeded
from warden.formats.gguf import GGUFScanner
from warden.formats.interface import FormatScanner, Limits, ScanContext
from warden.formats.safetensors import (
    MALFORMED,
    METADATA_NONSTRING,
    TRAILING_DATA,
    SafetensorsScanner,
    parse_safetensors_header,
)
from warden.report.model import Finding, Location, Severity
from warden.rules import get_rule
from warden.scan.core import Scanner


def parse(data: bytes, limits: Limits | None = None):
    return parse_safetensors_header(io.BytesIO(data), len(data), limits)


def scan(tmp_path: Path, data: bytes, name: str = "model.safetensors", scanners: list[FormatScanner] | None = None,
         limits: Limits | None = None) -> list[Finding]:  # fmt: skip
    path = tmp_path / name
    path.write_bytes(data)
    scanner = Scanner(scanners or [SafetensorsScanner()], limits)
    return list(scanner.scan_file(path, name, tmp_path))


def above_info(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity > Severity.INFO]


# -- benign files written by the library ----------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(S.BENIGN_SAFETENSORS))
def test_benign_file_agrees_with_library(tmp_path: Path, kind: str) -> None:
    path = S.BENIGN_SAFETENSORS[kind](tmp_path / f"{kind}.safetensors")
    data = path.read_bytes()
    header = parse(data)
    library = dict(safetensors.deserialize(data))
    assert {t.name for t in header.tensors} == set(library)
    for t in header.tensors:
        lib = library[t.name]
        assert t.dtype == lib["dtype"]
        assert list(t.shape) == lib["shape"]
        # absolute offsets point at exactly the bytes the library returns for the tensor
        assert data[t.start : t.end] == bytes(lib["data"])
    with safetensors.safe_open(str(path), "np") as f:
        assert dict(header.metadata) == (f.metadata() or {})
    assert header.trailing_bytes == 0 and header.nonstring_metadata == ()
    assert header.data_start + header.data_size == len(data)


@pytest.mark.parametrize("kind", sorted(S.BENIGN_SAFETENSORS))
def test_benign_file_raises_nothing_above_info(tmp_path: Path, kind: str) -> None:
    data = S.BENIGN_SAFETENSORS[kind](tmp_path / "src.safetensors").read_bytes()
    findings = scan(tmp_path, data)
    assert above_info(findings) == []
    (summary,) = findings
    assert summary.rule_id == "SAFETENSORS-SUMMARY"
    assert summary.evidence["tensors"] == len(parse(data).tensors)


def test_subbyte_and_fp8_dtypes_are_sized_in_bits(tmp_path: Path) -> None:
    header = parse(S.BENIGN_SAFETENSORS["fp8-fp4"](tmp_path / "fp.safetensors").read_bytes())
    by_name = {t.name: t for t in header.tensors}
    assert by_name["fp4"].dtype == "F4" and by_name["fp4"].shape == (2, 6) and by_name["fp4"].nbytes == 6
    assert by_name["e8m0_scale"].dtype == "F8_E8M0" and by_name["e8m0_scale"].nbytes == 4
    assert by_name["e4m3"].dtype == "F8_E4M3" and by_name["e5m2"].dtype == "F8_E5M2"


def test_scalar_and_empty_tensors(tmp_path: Path) -> None:
    header = parse(S.BENIGN_SAFETENSORS["torch-mixed"](tmp_path / "m.safetensors").read_bytes())
    by_name = {t.name: t for t in header.tensors}
    assert by_name["scalar"].shape == () and by_name["scalar"].numel == 1 and by_name["scalar"].nbytes == 4
    assert by_name["empty"].shape == (0, 3) and by_name["empty"].nbytes == 0
    assert [t.start for t in header.tensors] == sorted(t.start for t in header.tensors)


# -- malformed files ----------------------------------------------------------------------------------

MALFORMED_CASES = S.malformed_safetensors()


@pytest.mark.parametrize("case", sorted(MALFORMED_CASES))
def test_malformed_is_refused_with_reason_and_offset(case: str) -> None:
    bad = MALFORMED_CASES[case]
    with pytest.raises(FormatError) as info:
        parse(bad.data)
    assert bad.error in info.value.message
    assert info.value.offset is not None and 0 <= info.value.offset <= len(bad.data)
    assert not isinstance(info.value, LimitExceeded)


@pytest.mark.parametrize("case", sorted(MALFORMED_CASES))
def test_library_agrees_except_where_we_are_stricter(case: str) -> None:
    bad = MALFORMED_CASES[case]
    if bad.library_rejects:
        with pytest.raises(safetensors.SafetensorError):
            safetensors.deserialize(bad.data)
    else:  # documented differential: the library loads it, and loaders disagree on what it holds
        safetensors.deserialize(bad.data)


@pytest.mark.parametrize(
    "case", ["header-length-2^63", "overlapping-offsets", "duplicate-tensor-name", "nan-in-header"]
)
def test_malformed_becomes_a_finding_naming_the_problem(tmp_path: Path, case: str) -> None:
    bad = MALFORMED_CASES[case]
    (finding,) = [f for f in scan(tmp_path, bad.data) if f.severity > Severity.INFO]
    assert finding.rule_id == MALFORMED.id == "SAFETENSORS-MALFORMED"
    assert finding.severity == Severity.HIGH
    assert bad.error in finding.evidence["error"]
    assert finding.location.offset is not None


def test_huge_header_length_message() -> None:
    data = S.raw_safetensors({}, bytes(1014), length=2**63 - 1)
    assert len(data) == 1024
    with pytest.raises(FormatError, match=r"^header length 9223372036854775807 exceeds file size 1024$"):
        parse(data)


def test_header_over_the_format_maximum_is_malformed() -> None:
    # A sparse stream: the parser must refuse before reading 100 MB.
    class Big(io.RawIOBase):
        def __init__(self) -> None:
            self.pos = 0
            self.read_bytes = 0

        def readable(self) -> bool:
            return True

        def seek(self, offset: int, whence: int = 0) -> int:
            self.pos = offset
            return offset

        def readinto(self, b: Any) -> int:
            chunk = struct.pack("<Q", 100_000_001)[self.pos : self.pos + len(b)]
            b[: len(chunk)] = chunk
            self.pos += len(chunk)
            self.read_bytes += len(chunk)
            return len(chunk)

    stream = Big()
    with pytest.raises(FormatError, match="exceeds the safetensors maximum of 100000000"):
        parse_safetensors_header(stream, 200_000_000)  # type: ignore[arg-type]
    assert stream.read_bytes == 8


def test_header_over_the_limit_is_limit_exceeded(tmp_path: Path) -> None:
    data = S.BENIGN_SAFETENSORS["numpy-basic"](tmp_path / "a.safetensors").read_bytes()
    with pytest.raises(LimitExceeded, match="max_json_header=64"):
        parse(data, Limits(max_json_header=64))
    findings = scan(tmp_path, data, limits=Limits(max_json_header=64))
    assert [f.rule_id for f in findings] == ["SCAN-LIMIT-EXCEEDED"]


def test_truncation_anywhere_is_refused(tmp_path: Path) -> None:
    data = S.BENIGN_SAFETENSORS["torch-mixed"](tmp_path / "m.safetensors").read_bytes()
    for cut in range(len(data)):
        with pytest.raises(FormatError):
            parse(data[:cut])
    parse(data)


# -- findings and their look-alikes -----------------------------------------------------------------


def test_trailing_data_is_a_high_finding(tmp_path: Path) -> None:
    data = S.trailing_payload_safetensors(b"PK\x03\x04 smuggled payload")
    header = parse(data)
    assert header.trailing_bytes == len(b"PK\x03\x04 smuggled payload")
    findings = above_info(scan(tmp_path, data))
    assert [f.rule_id for f in findings] == [TRAILING_DATA.id]
    (f,) = findings
    assert f.severity == Severity.HIGH
    assert f.location.offset == header.data_start + header.data_size
    assert f.evidence["trailing_bytes"] == header.trailing_bytes
    assert f.evidence["head"].startswith(b"PK\x03\x04")


def test_trailing_padding_inside_the_header_is_not_trailing_data(tmp_path: Path) -> None:
    # the library pads the JSON with spaces to 8 bytes: that is inside the header, not after tensors
    data = S.BENIGN_SAFETENSORS["numpy-basic"](tmp_path / "a.safetensors").read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    assert data[8 + n - 1 : 8 + n] in (b" ", b"}")
    assert parse(data).trailing_bytes == 0
    json_ws = S.raw_safetensors('{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}} \n\t\r', b"ab")
    assert parse(json_ws).trailing_bytes == 0
    safetensors.deserialize(json_ws)


class _PayloadSniffer(FormatScanner):
    """Stands in for the pickle/zip scanners: proves the trailing payload is handed back to the core."""

    name = "payload"
    malformed_rule = MALFORMED

    def sniff(self, head: bytes, name: str) -> bool:
        return head.startswith(b"EVIL")

    def scan(self, stream: BinaryIO, size: int, location: Location, ctx: ScanContext) -> Iterator[Finding]:
        yield Finding(
            "TEST-PAYLOAD", Severity.CRITICAL, "payload", location, {"bytes": stream.read(), "size": size}
        )


def test_trailing_payload_is_scanned_as_a_nested_member(tmp_path: Path) -> None:
    data = S.trailing_payload_safetensors(b"EVIL-PAYLOAD")
    findings = scan(tmp_path, data, scanners=[SafetensorsScanner(), _PayloadSniffer()])
    nested = [f for f in findings if f.rule_id == "TEST-PAYLOAD"]
    assert len(nested) == 1
    assert nested[0].evidence == {"bytes": b"EVIL-PAYLOAD", "size": 12}
    assert nested[0].location.member == "<trailing-data>"


def test_metadata_nonstring_is_a_medium_finding(tmp_path: Path) -> None:
    data = S.metadata_nonstring_safetensors()
    header = parse(data)
    assert dict(header.metadata) == {"format": "pt"}
    assert dict(header.nonstring_metadata) == {"step": "number", "cfg": "object"}
    (f,) = above_info(scan(tmp_path, data))
    assert f.rule_id == METADATA_NONSTRING.id and f.severity == Severity.MEDIUM
    assert sorted(f.evidence["keys"]) == ["cfg", "step"]
    with pytest.raises(safetensors.SafetensorError):  # the library refuses the whole file
        safetensors.deserialize(data)


def test_string_metadata_that_looks_like_json_does_not_fire(tmp_path: Path) -> None:
    data = S.st_numpy(
        tmp_path / "m.safetensors", metadata={"cfg": '{"lr": 0.1}', "step": "1000"}
    ).read_bytes()
    assert above_info(scan(tmp_path, data)) == []


def test_metadata_null_is_no_metadata() -> None:
    data = S.raw_safetensors(
        '{"__metadata__":null,"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', b"x"
    )
    header = parse(data)
    assert dict(header.metadata) == {} and header.nonstring_metadata == ()
    safetensors.deserialize(data)


def test_rules_are_registered() -> None:
    for rule_id, sev in [
        ("SAFETENSORS-MALFORMED", Severity.HIGH),
        ("SAFETENSORS-TRAILING-DATA", Severity.HIGH),
        ("SAFETENSORS-METADATA-NONSTRING", Severity.MEDIUM),
        ("SAFETENSORS-SUMMARY", Severity.INFO),
    ]:
        assert get_rule(rule_id).severity == sev


# -- sniffing and reading discipline ----------------------------------------------------------------


def test_sniff_by_structure(tmp_path: Path) -> None:
    st = SafetensorsScanner()
    real = S.BENIGN_SAFETENSORS["numpy-basic"](tmp_path / "a.safetensors").read_bytes()
    assert st.sniff(real[:4096], "weights.bin")  # content, not the name
    huge = S.raw_safetensors({}, length=2**63)
    assert st.sniff(huge, "model.safetensors")  # absurd length: still ours when it says so
    assert not st.sniff(huge, "model.bin")
    assert not st.sniff(b"SETTINGS{'a': 1}", "config.py")  # ASCII before '{' is an absurd length
    assert not st.sniff(b"\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00}", "model.safetensors")  # a pickle
    assert not st.sniff(S.gguf_valid_raw()[:64], "model.safetensors")
    assert not GGUFScanner().sniff(real[:64], "model.gguf")


def test_leading_whitespace_header_named_safetensors_is_reported_malformed(tmp_path: Path) -> None:
    bad = MALFORMED_CASES["leading-whitespace"]
    (f,) = scan(tmp_path, bad.data)
    assert f.rule_id == "SAFETENSORS-MALFORMED" and "must start with '{'" in f.evidence["error"]


class Recorder(io.RawIOBase):
    def __init__(self, data: bytes) -> None:
        self.inner = io.BytesIO(data)
        self.reads: list[tuple[int, int]] = []

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        return self.inner.seek(offset, whence)

    def tell(self) -> int:
        return self.inner.tell()

    def readinto(self, b: Any) -> int:
        at = self.inner.tell()
        n = self.inner.readinto(b)
        self.reads.append((at, n))
        return n


def test_parser_reads_only_the_header(tmp_path: Path) -> None:
    import numpy as np

    data = S.st_numpy(tmp_path / "big.safetensors", {"w": np.zeros((512, 512), np.float32)}).read_bytes()
    rec = Recorder(data)
    header = parse_safetensors_header(rec, len(data))  # type: ignore[arg-type]
    assert rec.reads and max(at + n for at, n in rec.reads) <= header.data_start
