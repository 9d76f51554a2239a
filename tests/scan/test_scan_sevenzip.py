"""7z archives: members are scanned in memory like zip/tar members, with the same limits."""

from __future__ import annotations

import pickle
from pathlib import Path

from tests.samples import pickles as P
from tests.samples import sevenzip as S
from warden.formats import default_scanners
from warden.formats.interface import Limits
from warden.report.model import Severity
from warden.scan.core import Scanner


def scan_bytes(
    tmp_path: Path, name: str, data: bytes, *, with_pickle: bool = False, limits: Limits | None = None
) -> list:
    """Scan ``data`` as ``tmp_path/name`` with every default scanner through the core."""
    path = tmp_path / name
    path.write_bytes(data)
    return list(Scanner(default_scanners(), limits).scan_file(path, name, tmp_path))


def rules(findings: list) -> set[str]:
    return {f.rule_id for f in findings}


def test_malicious_pickle_inside_7z(canary: Path, tmp_path: Path) -> None:
    data = S.archive({"model/weights.pkl": P.os_system(canary), "README.md": b"hello"})
    findings = scan_bytes(tmp_path, "model.7z", data, with_pickle=True)
    (hit,) = [f for f in findings if f.rule_id == "PICKLE-DANGEROUS-GLOBAL"]
    assert hit.severity is Severity.CRITICAL and hit.location.member == "model/weights.pkl"
    assert not list(tmp_path.glob("model/*"))  # nothing extracted to disk


def test_benign_7z_is_clean(tmp_path: Path) -> None:
    data = S.archive({"data.pkl": pickle.dumps({"a": [1, 2, 3]}), "notes.txt": b"plain"})
    findings = scan_bytes(tmp_path, "bundle.7z", data, with_pickle=True)
    assert not [f for f in findings if f.severity >= Severity.MEDIUM], findings


def test_nested_7z_in_zip(canary: Path, tmp_path: Path) -> None:
    import io
    import zipfile

    inner = S.archive({"x.pkl": P.builtins_exec(canary)})
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("inner.7z", inner)
    findings = scan_bytes(tmp_path, "outer.zip", buf.getvalue(), with_pickle=True)
    assert "PICKLE-DANGEROUS-GLOBAL" in rules(findings)


def test_traversal_name(canary: Path, tmp_path: Path) -> None:
    data = S.rename(S.archive({"xx/evil.pkl": P.os_system(canary)}), "xx/evil.pkl", "../evil.pkl")
    findings = scan_bytes(tmp_path, "model.7z", data, with_pickle=True)
    (trav,) = [f for f in findings if f.rule_id == "SEVENZ-PATH-TRAVERSAL"]
    assert trav.severity is Severity.HIGH and trav.evidence["name"] == "../evil.pkl"
    assert "PICKLE-DANGEROUS-GLOBAL" in rules(findings)


def test_bomb_ratio(tmp_path: Path) -> None:
    data = S.archive({"zeros.bin": b"\x00" * (40 << 20)})
    findings = scan_bytes(tmp_path, "bomb.7z", data, limits=Limits(max_compression_ratio=50))
    (bomb,) = [f for f in findings if f.rule_id == "SEVENZ-BOMB"]
    assert "max_compression_ratio" in bomb.evidence["detail"] and bomb.severity is Severity.HIGH


def test_bomb_member_size(tmp_path: Path) -> None:
    data = S.archive({"big.bin": b"\x01" * (3 << 20)})
    findings = scan_bytes(tmp_path, "big.7z", data, limits=Limits(max_member_size=1 << 20))
    (bomb,) = [f for f in findings if f.rule_id == "SEVENZ-BOMB"]
    assert "max_member_size" in bomb.evidence["detail"]


def test_encrypted_members_are_not_clean(canary: Path, tmp_path: Path) -> None:
    data = S.archive({"m.pkl": P.os_system(canary)}, password="secret")
    findings = scan_bytes(tmp_path, "enc.7z", data, with_pickle=True)
    assert "SEVENZ-ENCRYPTED" in rules(findings)
    data = S.archive({"m.pkl": P.os_system(canary)}, password="secret", encrypt_header=True)
    assert "SEVENZ-ENCRYPTED" in rules(scan_bytes(tmp_path, "enc2.7z", data, with_pickle=True))


def test_truncated_7z_is_malformed(canary: Path, tmp_path: Path) -> None:
    data = S.archive({"m.pkl": P.os_system(canary)})
    findings = scan_bytes(tmp_path, "cut.7z", data[: len(data) // 2], with_pickle=True)
    assert rules(findings) & {"SEVENZ-MALFORMED"}
