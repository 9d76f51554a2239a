"""Tar archives: traversal, links out of the archive, devices, limits, legacy torch tar, hidden data."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from tests.samples.containers import (
    Entry,
    benign_pickle,
    build_tar,
    build_zip,
    ids,
    legacy_torch_tar,
    malicious_pickle,
    own,
    scan_bytes,
    tar_link,
)
from warden.formats.interface import Limits
from warden.formats.tar import TarScanner
from warden.report.model import Finding, Severity


def by_rule(findings: list[Finding], rule_id: str) -> list[Finding]:
    return [f for f in findings if f.rule_id == rule_id]


def test_tar_of_plain_files_is_clean(tmp_path: Path) -> None:
    data = build_tar(
        [("model/config.json", b'{"a": 1}'), ("model/weights.bin", bytes(4096)), ("README", b"hi")]
    )
    assert own(scan_bytes(tmp_path, "model.tar", data)) == []


@pytest.mark.parametrize("name", ["../evil.sh", "/etc/cron.d/evil", "a/../../evil", "C:\\evil.dll"])
def test_traversal_names(tmp_path: Path, name: str) -> None:
    findings = scan_bytes(tmp_path, "a.tar", build_tar([("ok.txt", b"x"), (name, b"payload")]))
    hits = by_rule(findings, "TAR-PATH-TRAVERSAL")
    assert [(f.location.member, f.severity) for f in hits] == [(name, Severity.HIGH)]


@pytest.mark.parametrize(
    ("name", "target", "hard"),
    [
        ("etc", "/etc", False),
        ("model/passwd", "../../etc/passwd", False),
        ("x", "../outside", True),
        ("y", "/etc/shadow", True),
    ],
)
def test_links_out_of_the_archive(tmp_path: Path, name: str, target: str, hard: bool) -> None:
    findings = scan_bytes(tmp_path, "a.tar", build_tar([tar_link(name, target, hard=hard)]))
    hits = by_rule(findings, "TAR-LINK-ESCAPE")
    assert len(hits) == 1 and hits[0].evidence["target"] == target and hits[0].severity == Severity.HIGH


def test_links_inside_the_archive_are_low(tmp_path: Path) -> None:
    data = build_tar([("model/weights.bin", b"w"), tar_link("model/latest", "weights.bin"),
                      tar_link("copy.bin", "model/weights.bin", hard=True)])  # fmt: skip
    findings = scan_bytes(tmp_path, "a.tar", data)
    assert "TAR-LINK-ESCAPE" not in ids(findings)
    assert [f.severity for f in by_rule(findings, "TAR-LINK")] == [Severity.LOW, Severity.LOW]


def test_device_and_fifo(tmp_path: Path) -> None:
    dev = tarfile.TarInfo("dev/sda")
    dev.type = tarfile.BLKTYPE
    fifo = tarfile.TarInfo("pipe")
    fifo.type = tarfile.FIFOTYPE
    findings = scan_bytes(tmp_path, "a.tar", build_tar([dev, fifo]))
    assert [f.evidence["kind"] for f in by_rule(findings, "TAR-SPECIAL-FILE")] == ["block device", "FIFO"]


def test_setuid_file(tmp_path: Path) -> None:
    info = tarfile.TarInfo("bin/tool")
    info.size = 3
    info.mode = 0o4755
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        tar.addfile(info, io.BytesIO(b"abc"))
    findings = scan_bytes(tmp_path, "a.tar", buf.getvalue())
    assert [f.severity for f in by_rule(findings, "TAR-SPECIAL-FILE")] == [Severity.LOW]


def test_duplicate_names(tmp_path: Path, canary: Path) -> None:
    data = build_tar([("pickle", benign_pickle()), ("pickle", malicious_pickle(canary))])
    assert "TAR-DUPLICATE-NAME" in ids(scan_bytes(tmp_path, "a.tar", data))


def test_nested_zip_in_tar_in_zip(tmp_path: Path) -> None:
    inner = build_zip([Entry("../../pwn.txt", b"x")])
    outer = build_zip([Entry("bundle.tar", build_tar([("inner.zip", inner)]))])
    hits = by_rule(scan_bytes(tmp_path, "outer.zip", outer), "ZIP-PATH-TRAVERSAL")
    assert [f.location.member for f in hits] == ["bundle.tar!inner.zip!../../pwn.txt"]


def test_legacy_torch_tar_is_recognised(tmp_path: Path, canary: Path) -> None:
    findings = scan_bytes(tmp_path, "old.pt", legacy_torch_tar(canary))
    assert by_rule(findings, "TAR-TORCH-LEGACY")[0].severity == Severity.INFO
    assert "TAR-TORCH-LEGACY" not in ids(scan_bytes(tmp_path, "b.tar", build_tar([("pickle", b"x")])))


def test_legacy_torch_tar_pickle_member_is_detected(tmp_path: Path, canary: Path) -> None:
    pytest.importorskip("warden.formats.pickle")
    findings = scan_bytes(tmp_path, "old.pt", legacy_torch_tar(canary), with_pickle=True)
    assert any(
        f.rule_id.startswith("PICKLE-") and f.location.member == "pickle" and f.severity >= Severity.HIGH
        for f in findings
    )


def test_member_count_limit(tmp_path: Path) -> None:
    data = build_tar([(f"f{i}", b"x") for i in range(6)])
    assert "SCAN-LIMIT-EXCEEDED" in ids(scan_bytes(tmp_path, "a.tar", data, limits=Limits(max_members=5)))
    assert own(scan_bytes(tmp_path, "b.tar", data, limits=Limits(max_members=6))) == []


def test_member_size_limit(tmp_path: Path) -> None:
    data = build_tar([("big.bin", bytes(10_000))])
    findings = scan_bytes(tmp_path, "a.tar", data, limits=Limits(max_member_size=1000))
    assert by_rule(findings, "TAR-MEMBER-TOO-LARGE")[0].evidence["size"] == 10_000


def test_total_size_limit(tmp_path: Path) -> None:
    data = build_tar([(f"f{i}.bin", bytes(1000)) for i in range(5)])
    findings = scan_bytes(tmp_path, "a.tar", data, limits=Limits(max_total_uncompressed=3000))
    assert "SCAN-LIMIT-EXCEEDED" in ids(findings)


def test_forged_huge_pax_header_is_refused_without_reading_it(tmp_path: Path) -> None:
    pax = tarfile.TarInfo("././@PaxHeader")
    pax.type = tarfile.XHDTYPE
    pax.size = 1 << 30  # tarfile would read it whole into memory
    data = pax.tobuf(tarfile.USTAR_FORMAT) + bytes(4096)
    findings = scan_bytes(tmp_path, "a.tar", data)
    assert "SCAN-LIMIT-EXCEEDED" in ids(findings)


def test_truncated_member_is_malformed(tmp_path: Path) -> None:
    data = build_tar([("weights.bin", bytes(range(256)) * 40)])
    findings = scan_bytes(tmp_path, "a.tar", data[:3000])
    assert "TAR-MALFORMED" in ids(findings)


def test_member_hidden_after_end_of_archive(tmp_path: Path, canary: Path) -> None:
    first = build_tar([("config.json", b"{}")])
    hidden = build_tar([("pickle", malicious_pickle(canary))])
    findings = scan_bytes(tmp_path, "a.tar", first + hidden)
    trailing = by_rule(findings, "TAR-TRAILING-DATA")
    assert trailing and trailing[0].severity == Severity.HIGH and trailing[0].evidence["hidden_headers_at"]
    assert "TAR-TRAILING-DATA" not in ids(scan_bytes(tmp_path, "b.tar", first))


def test_sniff_needs_a_valid_header() -> None:
    scanner = TarScanner()
    good = build_tar([("a.txt", b"x")])
    assert scanner.sniff(good[:4096], "x")
    broken = bytearray(good[:4096])
    broken[0] ^= 0xFF  # checksum no longer matches
    assert not scanner.sniff(bytes(broken), "model.tar")
    assert not scanner.sniff(b"\x00" * 4096, "model.tar")


def test_undecodable_member_names_are_reported_as_text(tmp_path: Path) -> None:
    data = bytearray(
        build_tar(
            [("../caf\xe9.txt", b"x")],
        )
    )
    findings = scan_bytes(tmp_path, "a.tar", bytes(data))
    hit = by_rule(findings, "TAR-PATH-TRAVERSAL")[0]
    hit.location.member.encode("utf-8")  # no lone surrogates
    assert hit.location.member.startswith("../caf")
