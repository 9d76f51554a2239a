"""Zip containers: PyTorch zips, npz, generic zips — evasion tricks, bombs, traversal, layout."""

from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path

import pytest

from tests.samples.containers import (
    Entry,
    benign_pickle,
    build_tar,
    build_zip,
    ids,
    malicious_pickle,
    malicious_torch_zip,
    own,
    real_npz,
    real_torch_zip,
    scan_bytes,
    torch_entries,
    zip_bomb,
)
from warden.formats.interface import Limits
from warden.report.model import Finding, Severity
from warden.rules import get_rule


def by_rule(findings: list[Finding], rule_id: str) -> list[Finding]:
    return [f for f in findings if f.rule_id == rule_id]


def _stdlib_refuses(data: bytes, member: str) -> bool:
    try:
        zipfile.ZipFile(io.BytesIO(data)).read(member)
    except (zipfile.BadZipFile, RuntimeError, NotImplementedError, KeyError):
        return True
    return False


# ------------------------------------------------------------------------------------------------
# Benign look-alikes


def test_real_torch_save_has_no_container_findings(tmp_path: Path) -> None:
    findings = scan_bytes(tmp_path, "pytorch_model.bin", real_torch_zip())
    assert own(findings) == []


@pytest.mark.parametrize("compressed", [False, True])
def test_real_npz_has_no_container_findings(tmp_path: Path, compressed: bool) -> None:
    findings = scan_bytes(tmp_path, "arrays.npz", real_npz(compressed))
    assert own(findings) == []


def test_stdlib_written_zip_with_deflate_and_dirs_is_clean(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("model/", b"")
        zf.writestr("model/readme.txt", b"hello " * 1000)
        zf.writestr("model/config.json", b'{"a": 1}')
    assert own(scan_bytes(tmp_path, "bundle.zip", buf.getvalue())) == []


# ------------------------------------------------------------------------------------------------
# PyTorch zip evasion tricks: the structural finding fires and the member is still handed on


@pytest.mark.parametrize(
    ("tweaks", "rule_id", "defeats_stdlib"),
    [
        ({"crc": 0xDEADBEEF}, "ZIP-CRC-MISMATCH", True),
        ({"local_name": "archive/xxxx.pkl"}, "ZIP-NAME-MISMATCH", True),
        ({"flags": 0x0001}, "ZIP-SUSPICIOUS-FLAGS", True),  # "encrypted", but the data is plain
        # strong encryption + masked header in the local header only: streaming readers skip it
        ({"local_flags": 0x0040 | 0x2000}, "ZIP-SUSPICIOUS-FLAGS", False),
    ],
)
def test_torch_zip_evasion_tricks_are_flagged(
    tmp_path: Path, canary: Path, tweaks: dict, rule_id: str, defeats_stdlib: bool
) -> None:
    data = malicious_torch_zip(canary, **tweaks)
    assert _stdlib_refuses(data, "archive/data.pkl") is defeats_stdlib  # the trick beats zipfile scanners
    findings = scan_bytes(tmp_path, "model.pt", data)
    hits = by_rule(findings, rule_id)
    assert hits and hits[0].location.member == "archive/data.pkl"
    # the member was still handed to the core: with no pickle scanner here it is an unrecognised .pkl
    assert any(
        f.rule_id == "FORMAT-UNRECOGNISED" and f.location.member == "archive/data.pkl" for f in findings
    )


def test_member_only_in_local_headers_is_found_and_scanned(tmp_path: Path, canary: Path) -> None:
    entries = torch_entries(benign_pickle())
    entries.insert(1, Entry("archive/evil.pkl", malicious_pickle(canary), in_central=False))
    data = build_zip(entries)
    assert "archive/evil.pkl" not in zipfile.ZipFile(io.BytesIO(data)).namelist()
    findings = scan_bytes(tmp_path, "model.pt", data)
    hidden = by_rule(findings, "ZIP-HIDDEN-MEMBER")
    assert [f.location.member for f in hidden] == ["archive/evil.pkl"]
    assert hidden[0].severity == Severity.HIGH
    assert "TORCH-EXTRA-PICKLE" in ids(findings)
    assert any(
        f.location.member == "archive/evil.pkl" and f.rule_id == "FORMAT-UNRECOGNISED" for f in findings
    )


def test_hidden_deflated_member_with_data_descriptor_is_found(tmp_path: Path, canary: Path) -> None:
    entries = [
        *torch_entries(benign_pickle()),
        Entry("archive/x.pkl", malicious_pickle(canary), method=8, data_descriptor=True, in_central=False),
    ]
    findings = scan_bytes(tmp_path, "model.pt", build_zip(entries))
    assert [f.location.member for f in by_rule(findings, "ZIP-HIDDEN-MEMBER")] == ["archive/x.pkl"]


def test_local_header_hidden_in_a_gap_is_found(tmp_path: Path, canary: Path) -> None:
    # junk, then an unlisted local header, wedged between two listed members
    good = build_zip(torch_entries(benign_pickle()))
    hidden = build_zip([Entry("archive/evil.pkl", malicious_pickle(canary), in_central=False)])
    hidden = hidden[: hidden.index(b"PK\x05\x06")]
    cd = good.index(b"PK\x01\x02")
    blob = good[:cd] + b"JUNK" * 4 + hidden + good[cd:]
    blob = _shift_central(blob, cd, len(hidden) + 16)
    findings = scan_bytes(tmp_path, "model.pt", blob)
    assert "archive/evil.pkl" in [f.location.member for f in by_rule(findings, "ZIP-HIDDEN-MEMBER")]
    assert by_rule(findings, "ZIP-UNACCOUNTED-DATA")[0].evidence["bytes"] == 16


def _shift_central(blob: bytes, old_cd: int, delta: int) -> bytes:
    """Fix the end record after inserting ``delta`` bytes before the central directory."""
    out = bytearray(blob)
    eocd = out.rindex(b"PK\x05\x06")
    struct.pack_into("<I", out, eocd + 16, old_cd + delta)
    return bytes(out)


def test_second_pickle_in_torch_zip(tmp_path: Path, canary: Path) -> None:
    entries = [*torch_entries(benign_pickle()), Entry("archive/extra/payload.pkl", malicious_pickle(canary))]
    findings = scan_bytes(tmp_path, "model.pt", build_zip(entries))
    extra = by_rule(findings, "TORCH-EXTRA-PICKLE")
    assert extra and extra[0].evidence["extra_pickles"] == ["archive/extra/payload.pkl"]


def test_torchscript_constants_pkl_is_not_extra(tmp_path: Path) -> None:
    entries = [*torch_entries(benign_pickle()), Entry("archive/constants.pkl", benign_pickle()),
               Entry("archive/code/__torch__.py", b"class M:\n  pass\n")]  # fmt: skip
    assert "TORCH-EXTRA-PICKLE" not in ids(scan_bytes(tmp_path, "script.pt", build_zip(entries)))


def test_torch_layout_missing_version_and_outside_member(tmp_path: Path, canary: Path) -> None:
    entries = [e for e in torch_entries(malicious_pickle(canary)) if not e.name.endswith("version")]
    entries.append(Entry("other/data.pkl", benign_pickle()))
    findings = scan_bytes(tmp_path, "model.pt", build_zip(entries))
    layout = by_rule(findings, "TORCH-ZIP-STRUCTURE")
    problems = {f.evidence["problem"]: f for f in layout}
    assert any("version" in p for p in problems)
    outside = next(f for p, f in problems.items() if "outside" in p)
    assert outside.evidence["members"] == ["other/data.pkl"] and outside.severity == Severity.MEDIUM


def test_torch_package_code_is_reported(tmp_path: Path) -> None:
    entries = [
        Entry("pkg/.data/version", b"6\n"),
        Entry("pkg/.data/extern_modules", b"torch\n"),
        Entry("pkg/mymodel/model.py", b"import os\n"),
        Entry("pkg/res/model.pkl", benign_pickle()),
        Entry("pkg/data.pkl", benign_pickle()),
    ]
    findings = scan_bytes(tmp_path, "packaged.pt", build_zip(entries))
    code = by_rule(findings, "TORCH-PACKAGE-CODE")
    assert code and code[0].evidence["modules"] == ["pkg/mymodel/model.py"]


# ------------------------------------------------------------------------------------------------
# Generic zip structure


@pytest.mark.parametrize(
    ("name", "severity"),
    [
        ("../../etc/cron.d/evil", Severity.HIGH),
        ("/etc/passwd", Severity.HIGH),
        ("C:\\Windows\\evil.dll", Severity.HIGH),
        ("a\\..\\..\\evil", Severity.HIGH),
        ("a/../b.txt", Severity.MEDIUM),  # stays inside but is not a plain name
        ("dir\\file.txt", Severity.MEDIUM),
    ],
)
def test_path_traversal_names(tmp_path: Path, name: str, severity: Severity) -> None:
    findings = scan_bytes(tmp_path, "a.zip", build_zip([Entry("ok.txt", b"x"), Entry(name, b"payload")]))
    hits = by_rule(findings, "ZIP-PATH-TRAVERSAL")
    assert [(f.location.member, f.severity) for f in hits] == [(name, severity)]


def test_plain_names_with_dots_are_not_traversal(tmp_path: Path) -> None:
    names = ["a/..b/c", "v1.0/model..bin", "./x.txt", ".hidden/config"]
    findings = scan_bytes(tmp_path, "a.zip", build_zip([Entry(n, b"x") for n in names]))
    assert own(findings) == []


def test_symlink_member(tmp_path: Path) -> None:
    link = Entry("weights.bin", b"/etc/passwd", external_attr=(0o120777 << 16))
    regular = Entry("config.json", b"{}", external_attr=(0o100644 << 16))
    findings = scan_bytes(tmp_path, "a.zip", build_zip([regular, link]))
    hits = by_rule(findings, "ZIP-SYMLINK")
    assert len(hits) == 1 and hits[0].location.member == "weights.bin"
    assert hits[0].evidence["target"] == "/etc/passwd" and hits[0].evidence["escapes"] is True


def test_device_member(tmp_path: Path) -> None:
    findings = scan_bytes(tmp_path, "a.zip", build_zip([Entry("dev", b"", external_attr=(0o020644 << 16))]))
    assert "ZIP-SPECIAL-FILE" in ids(findings)


def test_duplicate_names_scan_every_copy(tmp_path: Path, canary: Path) -> None:
    entries = [*torch_entries(benign_pickle()), Entry("archive/data.pkl", malicious_pickle(canary))]
    findings = scan_bytes(tmp_path, "model.pt", build_zip(entries))
    dup = by_rule(findings, "ZIP-DUPLICATE-NAME")
    assert len(dup) == 1 and dup[0].location.member == "archive/data.pkl"
    heads = [f.evidence["head"] for f in findings if f.rule_id == "FORMAT-UNRECOGNISED"]
    assert len(heads) == 2  # both copies were handed on


def test_nul_in_name(tmp_path: Path) -> None:
    findings = scan_bytes(tmp_path, "a.zip", build_zip([Entry(b"data.pkl\x00.txt", b"x")]))
    assert "ZIP-SUSPICIOUS-NAME" in ids(findings)


def test_overlapping_members(tmp_path: Path) -> None:
    data = bytearray(build_zip([Entry("a.bin", b"A" * 100), Entry("b.bin", b"B" * 100)]))
    second = data.index(b"PK\x01\x02", data.index(b"PK\x01\x02") + 4)
    struct.pack_into("<I", data, second + 42, 0)  # b.bin's central entry now points at a.bin's header
    findings = scan_bytes(tmp_path, "a.zip", bytes(data))
    assert "ZIP-OVERLAPPING-MEMBERS" in ids(findings)
    assert "ZIP-NAME-MISMATCH" in ids(findings)


def test_unsupported_method_is_reported_not_passed(tmp_path: Path) -> None:
    findings = scan_bytes(tmp_path, "a.zip", build_zip([Entry("x.bin", b"abc", method=99)]))
    assert "ZIP-UNSUPPORTED-COMPRESSION" in ids(findings)


@pytest.mark.parametrize("method", [zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA, zipfile.ZIP_DEFLATED])
def test_every_readable_method_is_inflated_and_nested(tmp_path: Path, method: int) -> None:
    inner = build_zip([Entry("../escape.txt", b"x")])
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as zf:
        zf.writestr("inner.zip", inner)
    findings = scan_bytes(tmp_path, "outer.zip", buf.getvalue())
    hits = by_rule(findings, "ZIP-PATH-TRAVERSAL")
    assert [f.location.member for f in hits] == ["inner.zip!../escape.txt"]
    assert "ZIP-CRC-MISMATCH" not in ids(findings) and "ZIP-MALFORMED" not in ids(findings)


def test_encrypted_bit_does_not_skip_the_member(tmp_path: Path) -> None:
    inner = build_zip([Entry("../../escape.txt", b"x")])
    findings = scan_bytes(tmp_path, "outer.zip", build_zip([Entry("inner.zip", inner, flags=0x0001)]))
    assert "ZIP-SUSPICIOUS-FLAGS" in ids(findings)
    assert any(f.rule_id == "ZIP-PATH-TRAVERSAL" and f.location.member == "inner.zip!../../escape.txt"
               for f in findings)  # fmt: skip


def test_truncated_zip_still_scans_local_members(tmp_path: Path, canary: Path) -> None:
    data = malicious_torch_zip(canary)
    cut = data[: data.index(b"PK\x01\x02")]  # no central directory, no end record
    findings = scan_bytes(tmp_path, "model.pt", cut)
    assert any(
        f.rule_id == "ZIP-MALFORMED" and "end-of-central-directory" in f.evidence["error"] for f in findings
    )
    assert any(f.location.member == "archive/data.pkl" for f in findings)
    assert "ZIP-HIDDEN-MEMBER" not in ids(findings)  # one ZIP-MALFORMED, not one finding per member


def test_member_data_past_end_is_malformed(tmp_path: Path) -> None:
    data = bytearray(build_zip([Entry("a.bin", b"A" * 100)]))
    cd = data.index(b"PK\x01\x02")
    struct.pack_into("<II", data, cd + 20, 10_000, 10_000)  # central sizes far past the end
    findings = scan_bytes(tmp_path, "a.zip", bytes(data))
    assert any(f.rule_id == "ZIP-MALFORMED" and "past the end" in f.evidence["error"] for f in findings)


# ------------------------------------------------------------------------------------------------
# Limits


def test_zip_bomb_is_cut_off_by_ratio(tmp_path: Path) -> None:
    findings = scan_bytes(tmp_path, "bomb.zip", zip_bomb(64 << 20))
    bomb = by_rule(findings, "ZIP-BOMB")
    assert bomb and bomb[0].evidence["limit"] == "ratio" and bomb[0].severity == Severity.HIGH


def test_compressible_but_small_member_is_not_a_bomb(tmp_path: Path) -> None:
    # 2 MiB of zeros compresses ~1000:1 but is far below any harm
    findings = scan_bytes(tmp_path, "small.zip", zip_bomb(2 << 20))
    assert own(findings) == []


def test_member_size_limit(tmp_path: Path) -> None:
    data = build_zip([Entry("big.bin", bytes(range(256)) * 8192, method=8)])  # 2 MiB, ratio ~100
    findings = scan_bytes(tmp_path, "a.zip", data, limits=Limits(max_member_size=1 << 20))
    bomb = by_rule(findings, "ZIP-BOMB")
    assert bomb and bomb[0].evidence["limit"] == "size"
    assert own(scan_bytes(tmp_path, "b.zip", data)) == []


def test_total_uncompressed_limit(tmp_path: Path) -> None:
    data = build_zip([Entry(f"m{i}.bin", bytes(1000)) for i in range(10)])
    findings = scan_bytes(tmp_path, "a.zip", data, limits=Limits(max_total_uncompressed=5000))
    assert "SCAN-LIMIT-EXCEEDED" in ids(findings)


def test_member_count_limit(tmp_path: Path) -> None:
    data = build_zip([Entry(f"m{i}.txt", b"x") for i in range(20)])
    findings = scan_bytes(tmp_path, "a.zip", data, limits=Limits(max_members=10))
    assert "SCAN-LIMIT-EXCEEDED" in ids(findings)
    assert "SCAN-LIMIT-EXCEEDED" not in ids(
        scan_bytes(tmp_path, "b.zip", data, limits=Limits(max_members=20))
    )


def test_nesting_depth_limit(tmp_path: Path) -> None:
    data = build_zip([Entry("x.txt", b"x")])
    for i in range(3):  # a.zip > level2 > level1 > level0 > x.txt: depth 4, the default limit
        data = build_zip([Entry(f"level{i}.zip", data)])
    deep = scan_bytes(tmp_path, "a.zip", data, limits=Limits(max_depth=2))
    assert "SCAN-LIMIT-EXCEEDED" in ids(deep)
    assert own(scan_bytes(tmp_path, "b.zip", data)) == []


def test_zip_in_tar_in_zip(tmp_path: Path) -> None:
    inner = build_zip([Entry("../../outside.txt", b"x")])
    data = build_zip([Entry("bundle.tar", build_tar([("models/inner.zip", inner)]))])
    hits = by_rule(scan_bytes(tmp_path, "outer.zip", data), "ZIP-PATH-TRAVERSAL")
    assert [f.location.member for f in hits] == ["bundle.tar!models/inner.zip!../../outside.txt"]


def test_rules_are_registered_with_sensible_severities() -> None:
    assert get_rule("ZIP-HIDDEN-MEMBER").severity == Severity.HIGH
    assert get_rule("ZIP-MALFORMED").severity == Severity.MEDIUM
    assert get_rule("TORCH-EXTRA-PICKLE").severity == Severity.MEDIUM


# ------------------------------------------------------------------------------------------------
# With the pickle scanner: the malicious pickle inside the trick is detected


def _pickle_hits(findings: list[Finding], member: str) -> list[Finding]:
    return [
        f for f in findings
        if f.rule_id.startswith("PICKLE-") and f.location.member == member and f.severity >= Severity.HIGH
    ]  # fmt: skip


@pytest.mark.parametrize(
    "tweaks",
    [{"crc": 0xDEADBEEF}, {"local_name": "archive/xxxx.pkl"}, {"flags": 0x0001}, {"local_flags": 0x0041},
     {"method": 8, "data_descriptor": True}],
)  # fmt: skip
def test_malicious_data_pkl_is_detected_through_tricks(tmp_path: Path, canary: Path, tweaks: dict) -> None:
    pytest.importorskip("warden.formats.pickle")
    findings = scan_bytes(tmp_path, "model.pt", malicious_torch_zip(canary, **tweaks), with_pickle=True)
    assert _pickle_hits(findings, "archive/data.pkl")


def test_malicious_hidden_member_is_detected(tmp_path: Path, canary: Path) -> None:
    pytest.importorskip("warden.formats.pickle")
    entries = [
        *torch_entries(benign_pickle()),
        Entry("archive/evil.pkl", malicious_pickle(canary), in_central=False),
    ]
    findings = scan_bytes(tmp_path, "model.pt", build_zip(entries), with_pickle=True)
    assert _pickle_hits(findings, "archive/evil.pkl")
    assert not _pickle_hits(findings, "archive/data.pkl")


def test_malicious_pickle_with_misleading_name_is_detected(tmp_path: Path, canary: Path) -> None:
    pytest.importorskip("warden.formats.pickle")
    entries = [*torch_entries(benign_pickle()), Entry("archive/data/1", malicious_pickle(canary))]
    findings = scan_bytes(tmp_path, "model.pt", build_zip(entries), with_pickle=True)
    assert _pickle_hits(findings, "archive/data/1")


def test_real_torch_save_is_clean_with_pickle_scanner(tmp_path: Path) -> None:
    pytest.importorskip("warden.formats.pickle")
    findings = scan_bytes(tmp_path, "pytorch_model.bin", real_torch_zip(), with_pickle=True)
    assert [f for f in findings if f.severity >= Severity.LOW] == []
