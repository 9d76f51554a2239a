"""ONNX models: external data escaping the model directory, missing data, custom operator domains."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.samples.containers import Entry, build_zip, ids, onnx_bytes, onnx_model, own, scan_bytes, scan_path
from warden.formats.onnx import OnnxScanner
from warden.report.model import Finding, Severity

onnx = pytest.importorskip("onnx")
helper = onnx.helper


def by_rule(findings: list[Finding], rule_id: str) -> list[Finding]:
    return [f for f in findings if f.rule_id == rule_id]


def test_standard_model_is_clean(tmp_path: Path) -> None:
    assert own(scan_bytes(tmp_path, "model.onnx", onnx_bytes())) == []


def test_model_saved_with_in_directory_external_data_is_clean(tmp_path: Path) -> None:
    model = onnx_model()
    onnx.save_model(model, tmp_path / "model.onnx", save_as_external_data=True, location="model.onnx.data",
                    size_threshold=0)  # fmt: skip
    assert (tmp_path / "model.onnx.data").exists()
    assert own(scan_path(tmp_path, "model.onnx")) == []


@pytest.mark.parametrize("location", ["../../etc/passwd", "/etc/passwd", "..\\..\\secrets", "C:\\Windows\\x"])
def test_external_data_escaping_the_directory(tmp_path: Path, location: str) -> None:
    findings = scan_bytes(tmp_path, "model.onnx", onnx_bytes(external=location))
    hits = by_rule(findings, "ONNX-EXTERNAL-DATA-ESCAPE")
    assert [(f.evidence["location"], f.evidence["tensors"], f.severity) for f in hits] == [
        (location, ["W"], Severity.HIGH)
    ]


def test_external_data_symlink_out_of_the_directory(tmp_path: Path) -> None:
    outside = tmp_path / "outside.bin"
    outside.write_bytes(bytes(16))
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    os.symlink(outside, model_dir / "weights.bin")
    (model_dir / "model.onnx").write_bytes(onnx_bytes(external="weights.bin"))
    hits = by_rule(scan_path(model_dir, "model.onnx"), "ONNX-EXTERNAL-DATA-ESCAPE")
    assert hits and hits[0].evidence["reason"] == "resolves outside the model directory"


def test_missing_and_short_external_data(tmp_path: Path) -> None:
    findings = scan_bytes(tmp_path, "model.onnx", onnx_bytes(external="weights.bin"))
    assert [f.evidence["reason"] for f in by_rule(findings, "ONNX-EXTERNAL-DATA-MISSING")] == [
        "file not found"
    ]
    (tmp_path / "weights.bin").write_bytes(bytes(8))  # the tensor needs 16 bytes
    findings = scan_path(tmp_path, "model.onnx")
    assert "past the end" in by_rule(findings, "ONNX-EXTERNAL-DATA-MISSING")[0].evidence["reason"]
    (tmp_path / "weights.bin").write_bytes(bytes(16))
    assert own(scan_path(tmp_path, "model.onnx")) == []


def test_custom_domain(tmp_path: Path) -> None:
    findings = scan_bytes(tmp_path, "model.onnx", onnx_bytes(custom_domain="com.evil.ops"))
    hits = by_rule(findings, "ONNX-CUSTOM-OP-DOMAIN")
    assert [(f.evidence["domain"], f.evidence["op_types"], f.severity) for f in hits] == [
        ("com.evil.ops", ["Pwn"], Severity.MEDIUM)
    ]


@pytest.mark.parametrize("domain", ["com.microsoft", "ai.onnx.ml", "ai.onnx"])
def test_standard_domains_are_fine(tmp_path: Path, domain: str) -> None:
    assert own(scan_bytes(tmp_path, "model.onnx", onnx_bytes(custom_domain=domain))) == []


def test_custom_domain_inside_a_subgraph(tmp_path: Path) -> None:
    f32 = onnx.TensorProto.FLOAT
    branch = helper.make_graph([helper.make_node("Evil", ["x"], ["o"], domain="ai.custom")], "then", [],
                               [helper.make_tensor_value_info("o", f32, [1])])  # fmt: skip
    other = helper.make_graph([helper.make_node("Identity", ["x"], ["o2"])], "else", [],
                              [helper.make_tensor_value_info("o2", f32, [1])])  # fmt: skip
    node = helper.make_node("If", ["c"], ["y"], then_branch=branch, else_branch=other)
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("c", onnx.TensorProto.BOOL, []),
                                            helper.make_tensor_value_info("x", f32, [1])],
                              [helper.make_tensor_value_info("y", f32, [1])])  # fmt: skip
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("ai.custom", 1)]
    )
    hits = by_rule(scan_bytes(tmp_path, "m.onnx", model.SerializeToString()), "ONNX-CUSTOM-OP-DOMAIN")
    assert hits and hits[0].evidence["where"] == ["graph/If.then_branch"]


def test_model_local_function_is_not_a_native_custom_op(tmp_path: Path) -> None:
    f32 = onnx.TensorProto.FLOAT
    fn = helper.make_function("my.funcs", "Twice", ["a"], ["b"], [helper.make_node("Add", ["a", "a"], ["b"])],
                              [helper.make_opsetid("", 17)])  # fmt: skip
    graph = helper.make_graph([helper.make_node("Twice", ["x"], ["y"], domain="my.funcs")], "g",
                              [helper.make_tensor_value_info("x", f32, [1])],
                              [helper.make_tensor_value_info("y", f32, [1])])  # fmt: skip
    model = helper.make_model(graph, functions=[fn],
                              opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("my.funcs", 1)])  # fmt: skip
    assert own(scan_bytes(tmp_path, "m.onnx", model.SerializeToString())) == []
    # ... but a custom op used *inside* a function body still is one
    fn.node.append(helper.make_node("Native", ["b"], ["c"], domain="vendor.native"))
    model2 = helper.make_model(graph, functions=[fn],
                               opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("my.funcs", 1)])  # fmt: skip
    hits = by_rule(scan_bytes(tmp_path, "m2.onnx", model2.SerializeToString()), "ONNX-CUSTOM-OP-DOMAIN")
    assert [f.evidence["domain"] for f in hits] == ["vendor.native"]


def test_onnx_without_extension_is_sniffed_by_structure(tmp_path: Path) -> None:
    data = onnx_bytes(custom_domain="com.evil")
    assert OnnxScanner().sniff(data[:4096], "model.bin")
    assert "ONNX-CUSTOM-OP-DOMAIN" in ids(scan_bytes(tmp_path, "model.bin", data))


def test_sniff_rejects_look_alikes() -> None:
    scanner = OnnxScanner()
    assert not scanner.sniff(b"\x08\x07" + b"\xff" * 100, "model.bin")  # bad field after ir_version
    assert not scanner.sniff(b"\x08\x07\x12\x03abc", "x.bin")  # no graph / opset in sight
    assert not scanner.sniff(b'{"ir_version": 7}', "model.onnx")
    assert scanner.sniff(b"\x08\x07", "model.onnx")


def test_corrupt_onnx_is_malformed(tmp_path: Path) -> None:
    findings = scan_bytes(tmp_path, "model.onnx", b"\x08\x07\x3a\xff\xff\xff\x0f" + b"\x01" * 10)
    assert "ONNX-MALFORMED" in ids(findings)


def test_onnx_inside_a_zip_checks_paths_but_not_files(tmp_path: Path) -> None:
    data = build_zip([Entry("model.onnx", onnx_bytes(external="../../etc/passwd")),
                      Entry("other.onnx", onnx_bytes(external="weights.bin"))])  # fmt: skip
    findings = scan_bytes(tmp_path, "bundle.zip", data)
    assert [f.location.member for f in by_rule(findings, "ONNX-EXTERNAL-DATA-ESCAPE")] == ["model.onnx"]
    assert "ONNX-EXTERNAL-DATA-MISSING" not in ids(findings)


def test_scanning_a_single_file_root(tmp_path: Path) -> None:
    path = tmp_path / "model.onnx"
    path.write_bytes(onnx_bytes(external="weights.bin"))
    from tests.samples.containers import container_scanners
    from warden.scan.core import Scanner

    findings = list(Scanner(container_scanners()).scan_file(path, "model.onnx", path))
    assert "ONNX-EXTERNAL-DATA-MISSING" in ids(findings)


def test_invalid_utf8_strings_do_not_break_the_walk(tmp_path: Path) -> None:
    # protobuf returns bytes for proto2 string fields that are not UTF-8 (found by fuzzing)
    data = onnx_bytes(custom_domain="com.evilX").replace(b"com.evilX", b"com.evil\xff")
    hits = by_rule(scan_bytes(tmp_path, "m.onnx", data), "ONNX-CUSTOM-OP-DOMAIN")
    assert [f.evidence["domain"] for f in hits] == ["com.evil\ufffd"]
