"""GGUF header parser and scanner: agreement with gguf.GGUFReader on files written by GGUFWriter,
llama.cpp's checks on crafted files, findings with benign look-alikes, chat-template hand-off."""

from __future__ import annotations

import importlib.util
import io
import struct
import sys
from pathlib import Path
from typing import Any

import gguf
import numpy as np
import pytest

from tests.samples import tensors as S
from warden.errors import FormatError, LimitExceeded
from warden.formats.gguf import (
    DUPLICATE_KEY,
    MALFORMED,
    TENSOR_LAYOUT,
    TENSOR_OVERLAP,
    TRAILING_DATA,
    GGUFScanner,
    _analyze_template,
    _Reader,
    parse_gguf,
)
from warden.formats.interface import Limits
from warden.report.model import Finding, Location, Severity
from warden.rules import get_rule
from warden.scan.core import Scanner

HAS_TEMPLATE_ANALYSER = importlib.util.find_spec("warden.formats.template") is not None


def parse(data: bytes, limits: Limits | None = None):
    return parse_gguf(io.BytesIO(data), len(data), limits)


def scan(
    tmp_path: Path, data: bytes, name: str = "model.gguf", limits: Limits | None = None
) -> list[Finding]:
    path = tmp_path / name
    path.write_bytes(data)
    return list(Scanner([GGUFScanner()], limits).scan_file(path, name, tmp_path))


def above_info(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity > Severity.INFO]


BENIGN = {
    "default": {},
    "no-template": {"template": None},
    "named-templates": {"named_templates": {"tool_use": "{% for t in tools %}{{ t.name }}{% endfor %}"}},
    "alignment-64": {"alignment": 64},
    "no-tensors": {"tensors": False},
    "minimal": {"template": None, "all_types": False},
}


def _reader_type(field: Any) -> str:
    names = [gguf.GGUFValueType(t).name.lower() for t in field.types]
    return f"array[{names[1]}]" if names[0] == "array" and len(names) > 1 else names[0]


@pytest.mark.parametrize("kind", sorted(BENIGN))
def test_benign_file_agrees_with_gguf_reader(tmp_path: Path, kind: str) -> None:
    path = S.gguf_benign(tmp_path / f"{kind}.gguf", **BENIGN[kind])
    data = path.read_bytes()
    info = parse(data)
    reader = gguf.GGUFReader(path)
    fields = {k: f for k, f in reader.fields.items() if not k.startswith("GGUF.")}
    assert [kv.key for kv in info.kv] == list(fields)
    for kv in info.kv:
        field = fields[kv.key]
        assert kv.offset == field.offset
        if not field.types:  # an empty array: the reader records no element type
            assert kv.count == 0 and kv.value == ()
            continue
        assert kv.type == _reader_type(field)
        expected = field.contents()
        if kv.type.startswith("array"):
            assert kv.count == len(expected)
            assert list(kv.value) == expected[: len(kv.value)]
        elif kv.type == "string" and not kv.truncated:
            assert kv.value == expected
        elif kv.type == "string":
            assert expected.startswith(kv.value) and kv.nbytes == 8 + len(expected.encode())
        else:
            assert kv.value == expected
    assert info.alignment == reader.alignment
    assert [t.name for t in info.tensors] == [t.name for t in reader.tensors]
    for ours, theirs in zip(info.tensors, reader.tensors, strict=True):
        assert ours.ggml_type == int(theirs.tensor_type)
        assert list(ours.dims) == [int(d) for d in theirs.shape]
        assert ours.nbytes == int(theirs.n_bytes)
        assert ours.numel == int(theirs.n_elements)
        assert ours.start == theirs.data_offset
        assert data[ours.start : ours.end] == theirs.data.tobytes()
    if info.tensors:
        assert info.data_start == reader.data_offset
    assert info.trailing_bytes == 0 and not info.duplicate_keys and not info.overlaps and not info.gaps
    assert info.out_of_order is None


@pytest.mark.parametrize("kind", sorted(BENIGN))
def test_benign_file_raises_nothing_above_info(tmp_path: Path, kind: str) -> None:
    data = S.gguf_benign(tmp_path / "src.gguf", **BENIGN[kind]).read_bytes()
    findings = scan(tmp_path, data)
    assert above_info(findings) == [], [f.to_dict() for f in findings]
    assert findings[0].rule_id == "GGUF-SUMMARY"


def test_summary_and_tensor_details(tmp_path: Path) -> None:
    data = S.gguf_benign(tmp_path / "m.gguf").read_bytes()
    info = parse(data)
    by_name = {t.name: t for t in info.tensors}
    q = by_name["blk.0.attn_q.weight"]
    assert q.type_name == "Q8_0" and q.shape == (4, 64) and q.dims == (64, 4) and q.nbytes == 4 * 2 * 34
    assert by_name["output_norm.weight"].type_name == "F16"
    assert by_name["blk.0.empty"].nbytes == 0
    assert info.metadata["general.architecture"] == "llama"
    assert info.metadata["test.u64"] == 2**63 + 5
    assert info.metadata["test.bool"] is True
    assert info.get("tokenizer.ggml.tokens").value == ("<s>", "</s>", "hello", "world", "▁the")
    long = info.get("test.long_string")
    assert long.truncated and len(long.value) == 256 and long.nbytes == 8 + 1000
    (summary,) = scan(tmp_path, data)
    assert summary.evidence["tensor_types"] == {"F16": 1, "F32": 2, "Q8_0": 1}
    assert summary.evidence["chat_templates"] == ["tokenizer.chat_template"]


def test_base_of_the_malformed_family_is_valid() -> None:
    info = parse(S.gguf_valid_raw())
    assert [t.name for t in info.tensors] == ["a", "b"] and info.trailing_bytes == 0


# -- malformed files ----------------------------------------------------------------------------------

MALFORMED_CASES = S.malformed_gguf()


@pytest.mark.parametrize("case", sorted(MALFORMED_CASES))
def test_malformed_is_refused_with_reason_and_offset(case: str) -> None:
    data, fragment = MALFORMED_CASES[case]
    with pytest.raises(FormatError) as info:
        parse(data)
    assert fragment in info.value.message
    assert not isinstance(info.value, LimitExceeded)
    assert info.value.offset is not None and 0 <= info.value.offset <= len(data)


@pytest.mark.parametrize("case", ["huge-string-length", "nested-array", "n-dims-5", "misaligned-offset"])
def test_malformed_becomes_a_finding(tmp_path: Path, case: str) -> None:
    data, fragment = MALFORMED_CASES[case]
    (f,) = scan(tmp_path, data)
    assert f.rule_id == MALFORMED.id == "GGUF-MALFORMED" and f.severity == Severity.HIGH
    assert fragment in f.evidence["error"] and f.location.offset is not None


def test_reader_caps_from_llama_cpp() -> None:
    # llama.cpp's own caps (1 GiB string, 2^30 array elements) need a >1 GiB file to reach; the reader
    # is given a size claim instead, and must refuse without reading past the length field.
    r = _Reader(io.BytesIO(struct.pack("<Q", 2**30 + 1)), size=2**31)
    with pytest.raises(FormatError, match="exceeds llama.cpp's maximum of 1073741824"):
        r.string_length("value", Limits(max_gguf_string=2**31))


def test_truncation_anywhere_is_refused(tmp_path: Path) -> None:
    data = S.gguf_benign(tmp_path / "m.gguf").read_bytes()
    info = parse(data)
    needed = max([info.data_start] + [t.end for t in info.tensors])
    for cut in range(len(data)):
        if cut < needed:
            with pytest.raises(FormatError):
                parse(data[:cut])
        else:  # only the padding after the last tensor is missing: still loadable
            assert [t.name for t in parse(data[:cut]).tensors] == [t.name for t in info.tensors]


# -- limits --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        (Limits(max_gguf_string=100), "max_gguf_string=100"),
        (Limits(max_gguf_array=3), "max_gguf_array=3"),
        (Limits(max_gguf_kv=5), "max_gguf_kv=5"),
        (Limits(max_gguf_tensors=2), "max_gguf_tensors=2"),
        (Limits(max_text_file=50), "max_text_file=50"),
    ],
)
def test_limits(tmp_path: Path, limits: Limits, message: str) -> None:
    data = S.gguf_benign(tmp_path / "m.gguf").read_bytes()
    with pytest.raises(LimitExceeded, match=message):
        parse(data, limits)
    assert [f.rule_id for f in scan(tmp_path, data, limits=limits)] == ["SCAN-LIMIT-EXCEEDED"]


def test_large_vocabulary_is_walked_not_kept(tmp_path: Path) -> None:
    tokens = [f"tok{i}" for i in range(100_000)]
    w = gguf.GGUFWriter(str(tmp_path / "v.gguf"), "llama")
    w.add_token_list(tokens)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    kv = parse((tmp_path / "v.gguf").read_bytes()).get("tokenizer.ggml.tokens")
    assert kv.count == 100_000 and kv.value == tuple(tokens[:16]) and kv.truncated


# -- findings and look-alikes --------------------------------------------------------------------------


def test_duplicate_key_is_a_high_finding(tmp_path: Path) -> None:
    data = S.gguf_duplicate_key()
    info = parse(data)
    assert [d[0] for d in info.duplicate_keys] == ["general.name"]
    assert info.metadata["general.name"] == "a"  # first copy; the finding says there is another
    (f,) = above_info(scan(tmp_path, data))
    assert f.rule_id == DUPLICATE_KEY.id and f.severity == Severity.HIGH
    assert f.evidence["metadata_key"] == "general.name"
    assert f.location.offset == info.duplicate_keys[0][2]
    with pytest.raises(KeyError):  # gguf's reader refuses it too (with a bare KeyError)
        gguf.GGUFReader(_write(tmp_path / "dup.gguf", data))


def test_same_value_under_different_keys_is_not_a_duplicate(tmp_path: Path) -> None:
    data = S._base(kv=[("general.architecture", S.STR, "llama"), ("general.name", S.STR, "a"),
                       ("general.basename", S.STR, "a")]).build()  # fmt: skip
    assert above_info(scan(tmp_path, data)) == []


def test_overlapping_tensors(tmp_path: Path) -> None:
    data = S.gguf_overlap()
    info = parse(data)
    assert info.overlap_count == 1 and info.overlaps[0][:2] == ("a", "b")
    findings = above_info(scan(tmp_path, data))
    assert [f.rule_id for f in findings] == [TENSOR_OVERLAP.id]
    assert findings[0].severity == Severity.HIGH and findings[0].location.tensor == "b"
    # gguf's reader loads both views of the same bytes without complaint
    reader = gguf.GGUFReader(_write(tmp_path / "o.gguf", data))
    assert reader.tensors[0].data_offset == reader.tensors[1].data_offset


def test_zero_sized_tensors_sharing_an_offset_do_not_overlap(tmp_path: Path) -> None:
    data = S._base(tensors=[("a", [0], S.F32, 0), ("b", [0, 4], S.F32, 0), ("c", [8], S.F32, 0)]).build()
    info = parse(data)
    assert info.overlap_count == 0 and info.out_of_order is None
    assert above_info(scan(tmp_path, data)) == []


def test_gap_between_tensors(tmp_path: Path) -> None:
    data = S.gguf_gap()
    info = parse(data)
    assert info.gaps == ((info.data_start + 32, 64),)
    (f,) = above_info(scan(tmp_path, data))
    assert f.rule_id == TENSOR_LAYOUT.id and f.severity == Severity.MEDIUM
    assert f.evidence["gaps"] == [{"start": info.data_start + 32, "bytes": 64}]
    assert f.evidence["first_misplaced"] == {"tensor": "b", "offset": 96, "expected_offset": 32}


def test_out_of_order_tensors(tmp_path: Path) -> None:
    data = S.gguf_out_of_order()
    info = parse(data)
    assert info.gaps == () and info.overlaps == () and info.out_of_order == ("a", 32, 0)
    (f,) = above_info(scan(tmp_path, data))
    assert f.rule_id == TENSOR_LAYOUT.id


def test_padding_between_tensors_is_not_a_gap(tmp_path: Path) -> None:
    # F16 [3] is 6 bytes: the next tensor starts at 32 after 26 bytes of alignment padding
    data = S._base(tensors=[("a", [3], S.F16, None), ("b", [8], S.F32, None)]).build()
    assert parse(data).tensors[1].offset == 32
    assert above_info(scan(tmp_path, data)) == []


def test_trailing_data(tmp_path: Path) -> None:
    data = S.gguf_trailing(b"PK\x03\x04 smuggled payload")
    info = parse(data)
    assert info.trailing_bytes == len(b"PK\x03\x04 smuggled payload")
    (f,) = above_info(scan(tmp_path, data))
    assert f.rule_id == TRAILING_DATA.id and f.severity == Severity.MEDIUM
    assert f.location.offset == info.data_end == len(data) - info.trailing_bytes
    assert f.evidence["head"].startswith(b"PK\x03\x04")


def test_writer_padding_at_the_end_is_not_trailing_data(tmp_path: Path) -> None:
    w = gguf.GGUFWriter(str(tmp_path / "p.gguf"), "llama")
    w.add_tensor("a", np.ones(8, np.float32))
    w.add_tensor("last", np.ones(3, np.float16))  # 6 bytes, padded to 32 by the writer
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    data = (tmp_path / "p.gguf").read_bytes()
    info = parse(data)
    assert len(data) == info.tensors[-1].end + 26
    assert info.trailing_bytes == 0 and info.data_end == len(data)
    assert above_info(scan(tmp_path, data)) == []


def test_rules_are_registered() -> None:
    for rule_id, sev in [
        ("GGUF-MALFORMED", Severity.HIGH),
        ("GGUF-DUPLICATE-KEY", Severity.HIGH),
        ("GGUF-TENSOR-OVERLAP", Severity.HIGH),
        ("GGUF-TENSOR-LAYOUT", Severity.MEDIUM),
        ("GGUF-TRAILING-DATA", Severity.MEDIUM),
        ("GGUF-SUMMARY", Severity.INFO),
    ]:
        assert get_rule(rule_id).severity == sev


# -- chat templates ------------------------------------------------------------------------------------


def test_templates_are_extracted_in_full(tmp_path: Path) -> None:
    long = "{# " + "x" * 5000 + " #}" + S.BENIGN_TEMPLATE
    data = S.gguf_benign(
        tmp_path / "m.gguf", template=long, named_templates={"rag": "{{ documents }}"}
    ).read_bytes()
    info = parse(data)
    assert [(t.key, t.text) for t in info.templates] == [
        ("tokenizer.chat_template", long),
        ("tokenizer.chat_template.rag", "{{ documents }}"),
    ]
    assert data[info.templates[0].offset + 8 :].startswith(long.encode())


def test_template_hand_off_without_the_analyser(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "warden.formats.template", None)  # as if the module did not exist
    assert list(_analyze_template("{{ cycler.__init__.__globals__ }}", Location("m.gguf"))) == []


@pytest.mark.skipif(not HAS_TEMPLATE_ANALYSER, reason="warden.formats.template is not written yet")
def test_malicious_template_is_flagged(tmp_path: Path, canary: Path) -> None:
    data = S.gguf_with_template(S.malicious_template(canary))
    findings = above_info(scan(tmp_path, data))
    flagged = [f for f in findings if f.evidence.get("metadata_key") == "tokenizer.chat_template"]
    assert flagged and max(f.severity for f in flagged) >= Severity.HIGH
    assert all(f.location.file == "model.gguf" and f.location.tensor is None for f in flagged)


@pytest.mark.skipif(not HAS_TEMPLATE_ANALYSER, reason="warden.formats.template is not written yet")
def test_malicious_named_template_is_flagged(tmp_path: Path, canary: Path) -> None:
    data = S.gguf_with_template(S.malicious_template(canary), key="tokenizer.chat_template.tool_use")
    keys = {f.evidence.get("metadata_key") for f in above_info(scan(tmp_path, data))}
    assert "tokenizer.chat_template.tool_use" in keys


@pytest.mark.skipif(not HAS_TEMPLATE_ANALYSER, reason="warden.formats.template is not written yet")
def test_malicious_template_hidden_in_a_duplicate_key(tmp_path: Path, canary: Path) -> None:
    findings = above_info(scan(tmp_path, S.gguf_duplicate_template(canary)))
    rule_ids = {f.rule_id for f in findings}
    assert DUPLICATE_KEY.id in rule_ids
    assert any(f.evidence.get("metadata_key") == "tokenizer.chat_template" and f.rule_id != DUPLICATE_KEY.id
               for f in findings)  # fmt: skip


@pytest.mark.skipif(not HAS_TEMPLATE_ANALYSER, reason="warden.formats.template is not written yet")
def test_benign_template_is_not_flagged(tmp_path: Path) -> None:
    data = S.gguf_with_template(S.BENIGN_TEMPLATE)
    assert [f for f in scan(tmp_path, data) if f.severity >= Severity.MEDIUM] == []


# -- reading discipline --------------------------------------------------------------------------------


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


def test_parser_reads_headers_only(tmp_path: Path) -> None:
    w = gguf.GGUFWriter(str(tmp_path / "big.gguf"), "llama")
    w.add_tensor("w", np.zeros((1024, 1024), np.float32))  # 4 MiB of tensor data
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    data = (tmp_path / "big.gguf").read_bytes()
    rec = Recorder(data)
    info = parse_gguf(rec, len(data))  # type: ignore[arg-type]
    assert all(at < info.data_start for at, _ in rec.reads)
    # one read-ahead buffer at most spills past the header, never the tensor data as such
    assert sum(n for _, n in rec.reads) <= info.data_start + _Reader.CHUNK


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
