"""Containers the loaders accept and a head sniff would miss: zip with bytes before its first local
header, HDF5 user blocks beyond 2048 bytes, a Keras archive holding only config.json; and a file
that could not be checked makes the scan "could not check", not clean."""

from __future__ import annotations

import io
import json
import pickle
import random
import zipfile
from pathlib import Path

from tests.samples import containers as C
from tests.samples import pickles as P
from warden.formats import default_scanners
from warden.formats.interface import HEAD_BYTES
from warden.report.model import Severity, StageStatus
from warden.scan.api import scan_model
from warden.scan.core import Scanner


def scan_file(tmp_path: Path, name: str, data: bytes) -> tuple[list, Scanner]:
    path = tmp_path / name
    path.write_bytes(data)
    scanner = Scanner(default_scanners())
    return list(scanner.scan_file(path, name, tmp_path)), scanner


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def test_zip_after_arbitrary_prefix(canary: Path, tmp_path: Path) -> None:
    prefix = random.Random().randbytes(random.randint(5000, 70000)).replace(b"PK", b"pk")
    data = prefix + _zip({"weights/payload.pkl": P.os_system(canary), "README": b"x"})
    assert zipfile.ZipFile(io.BytesIO(data)).namelist()  # Python's zipfile reads it
    findings, scanner = scan_file(tmp_path, "model.bin", data)
    hit = [f for f in findings if f.rule_id == "PICKLE-DANGEROUS-GLOBAL"]
    assert hit and hit[0].location.member == "weights/payload.pkl"
    problems = [
        p for f in findings if f.rule_id == "ZIP-INCONSISTENT-HEADERS" for p in f.evidence["problems"]
    ]
    assert any(f"{len(prefix)} bytes precede the archive" in p for p in problems)
    # the outcome names the scanner that claims the head; random bytes sometimes sniff as a pickle
    # (about 4% of draws: the pickle is then walked first and the zip at the tail after it), otherwise
    # the zip found at the tail is the file's format
    claimed = scanner.pick(data[:HEAD_BYTES], "model.bin")
    assert scanner.outcomes[-1].format == (claimed.name if claimed else "zipfile")


def test_zip_after_a_pickle_is_both(canary: Path, tmp_path: Path) -> None:
    """torch.load reads the pickle at offset 0, zipfile reads the archive: both are walked."""
    data = pickle.dumps([1, 2], protocol=2) + _zip({"evil.pkl": P.builtins_exec(canary)})
    findings, _ = scan_file(tmp_path, "model.pt", data)
    members = {f.location.member for f in findings if f.rule_id == "PICKLE-DANGEROUS-GLOBAL"}
    assert "evil.pkl" in members


def test_hdf5_user_block_beyond_2048(canary: Path, tmp_path: Path) -> None:
    h5 = C.keras2_h5_lambda(canary)
    for block in (4096, 8192, 65536):
        data = b"\x00" * block + h5  # a user block of 512·2^n bytes: libhdf5 finds the superblock
        findings, scanner = scan_file(tmp_path, f"model_{block}.h5", data)
        assert scanner.outcomes[-1].format == "hdf5", block
        assert any(f.rule_id == "KERAS-LAMBDA-LAYER" and f.severity >= Severity.HIGH for f in findings), block


def test_keras_archive_with_only_config_json(canary: Path, tmp_path: Path) -> None:
    config = C.keras_v3_config([C.keras_v3_lambda_layer(canary)])
    for name in ("model.keras", "model.zip"):
        findings, _ = scan_file(tmp_path, name, _zip({"config.json": json.dumps(config).encode()}))
        assert any(f.rule_id == "KERAS-LAMBDA-LAYER" for f in findings), name


def test_unchecked_file_makes_the_scan_incomplete(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "llama"}))
    (tmp_path / "model.safetensors").write_bytes(random.Random().randbytes(300))  # no parser takes it
    report = scan_model(tmp_path, manifest=False)
    assert report.stages["scan"].status is StageStatus.FAILED
    assert "model.safetensors" in report.stages["scan"].reason
    from warden.audit.policy import load_policy
    from warden.audit.verdict import decide

    policy, _digest = load_policy(None)
    verdict, reasons = decide(report, policy)
    assert verdict.value != "pass", reasons
