"""TensorFlow SavedModel / GraphDef / keras_metadata.pb: ops that run Python or touch files are
found without TensorFlow. Files come from our own wire encoder (``tests/samples/tensorflow.py``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.samples import tensorflow as T
from warden.report.model import Severity
from warden.scan.api import scan_model


def scan_dir(root: Path) -> list:
    return list(scan_model(root, manifest=False).findings)


def _write(root: Path, rel: str, data: bytes) -> Path:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data)
    return p


def test_benign_saved_model_is_clean(tmp_path: Path) -> None:
    _write(tmp_path, "m/saved_model.pb", T.saved_model(T.benign_graph()))
    _write(tmp_path, "m/variables/variables.index", b"\x00" * 16)
    findings = [f for f in scan_dir(tmp_path) if f.location.file.endswith("saved_model.pb")]
    assert findings == []
    outcomes = scan_model(tmp_path, manifest=False).data["scan"]["files"]
    assert {o["path"]: o["format"] for o in outcomes}["m/saved_model.pb"] == "tensorflow"


@pytest.mark.parametrize("op", ["PyFunc", "PyFuncStateless", "EagerPyFunc"])
@pytest.mark.parametrize("in_function", [False, True])
def test_python_ops_are_critical(canary: Path, tmp_path: Path, op: str, in_function: bool) -> None:
    _write(tmp_path, "saved_model.pb", T.saved_model(T.py_func_graph(canary, in_function=in_function, op=op)))
    (hit,) = [f for f in scan_dir(tmp_path) if f.rule_id == "TF-PYTHON-OP"]
    assert hit.severity is Severity.CRITICAL and hit.evidence["op"] == op and hit.evidence["node"] == "evil"
    assert hit.evidence["token"].startswith("pyfunc_touch_")
    assert ("function __inference_f_7" in hit.evidence["where"]) is in_function


@pytest.mark.parametrize(
    "op", ["WriteFile", "ReadFile", "MatchingFiles", "ImmutableConst", "TFRecordDataset"]
)
def test_file_ops_are_high(canary: Path, tmp_path: Path, op: str) -> None:
    _write(tmp_path, "saved_model.pb", T.saved_model(T.file_op_graph(canary, op)))
    (hit,) = [f for f in scan_dir(tmp_path) if f.rule_id == "TF-FILE-OP"]
    assert hit.severity is Severity.HIGH and hit.evidence["op"] == op


def test_print_to_file(canary: Path, tmp_path: Path) -> None:
    _write(tmp_path, "saved_model.pb", T.saved_model(T.print_to_file_graph(canary)))
    (hit,) = [f for f in scan_dir(tmp_path) if f.rule_id == "TF-FILE-OP"]
    assert hit.evidence["output_stream"] == f"file://{canary}"


def test_frozen_graph_pb(canary: Path, tmp_path: Path) -> None:
    _write(tmp_path, "frozen_graph.pb", T.py_func_graph(canary))
    assert "TF-PYTHON-OP" in {f.rule_id for f in scan_dir(tmp_path)}


def test_keras_metadata_lambda(canary: Path, tmp_path: Path) -> None:
    _write(tmp_path, "keras_metadata.pb", T.keras_metadata(canary))
    findings = scan_dir(tmp_path)
    lam = [f for f in findings if f.rule_id == "KERAS-LAMBDA-LAYER"]
    assert lam and lam[0].severity is Severity.CRITICAL
    _write(tmp_path, "keras_metadata.pb", T.keras_metadata(canary, lambda_layer=False))
    assert not [f for f in scan_dir(tmp_path) if f.severity >= Severity.HIGH]


def test_garbage_named_saved_model_is_malformed(tmp_path: Path) -> None:
    _write(tmp_path, "saved_model.pb", b"\x0a\xff\xff\xff\xff\x0f garbage")
    assert "TF-MALFORMED" in {f.rule_id for f in scan_dir(tmp_path)}
