"""Keras models: v3 ``.keras`` zips (config.json) and legacy ``.h5`` (model_config attribute).

Configs are written by hand as Keras writes them; keras/tensorflow are never imported.
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.samples.containers import (
    Entry,
    build_zip,
    ids,
    keras2_h5_benign,
    keras2_h5_lambda,
    keras_v3_config,
    keras_v3_lambda_layer,
    keras_zip,
    lambda_bytecode_b64,
    own,
    scan_bytes,
    weights_h5,
)
from warden.formats.hdf5 import HDF5Scanner
from warden.report.model import Finding, Severity

h5py = pytest.importorskip("h5py")


def by_rule(findings: list[Finding], rule_id: str) -> list[Finding]:
    return [f for f in findings if f.rule_id == rule_id]


def _layer(
    class_name: str, config: dict[str, Any], module: str = "keras.layers", registered: Any = None
) -> dict:
    return {"module": module, "class_name": class_name, "config": config, "registered_name": registered}


# ------------------------------------------------------------------------------------------------
# Keras v3 (.keras zip)


def test_keras_v3_without_lambdas_is_clean(tmp_path: Path) -> None:
    config = keras_v3_config([_layer("Dropout", {"name": "drop", "rate": 0.1}),
                              _layer("StringLookup", {"name": "lookup", "vocabulary": ["a", "b/c"]})])  # fmt: skip
    assert own(scan_bytes(tmp_path, "model.keras", keras_zip(config))) == []


def test_keras_v3_lambda_layer_with_bytecode_is_critical(tmp_path: Path, canary: Path) -> None:
    data = keras_zip(keras_v3_config([keras_v3_lambda_layer(canary)]))
    findings = scan_bytes(tmp_path, "model.keras", data)
    hits = by_rule(findings, "KERAS-LAMBDA-LAYER")
    assert len(hits) == 1
    hit = hits[0]
    assert hit.severity == Severity.CRITICAL and hit.location.member == "config.json"
    assert hit.evidence["kind"] == "bytecode" and hit.evidence["layer"] == "lambda"
    # what the bytecode would touch, read from its bytes (never unmarshalled)
    assert any(str(canary) in text for text in hit.evidence["code_strings"])
    assert "safe_mode" in hit.evidence["safe_mode"]


def test_lambda_as_activation_is_found(tmp_path: Path, canary: Path) -> None:
    dense = _layer("Dense", {"name": "d", "units": 2, "activation": {
        "class_name": "__lambda__", "config": {"code": lambda_bytecode_b64(canary), "defaults": None, "closure": None}}})  # fmt: skip
    findings = scan_bytes(tmp_path, "model.keras", keras_zip(keras_v3_config([dense])))
    hits = by_rule(findings, "KERAS-LAMBDA-LAYER")
    assert len(hits) == 1 and hits[0].severity == Severity.CRITICAL
    assert hits[0].evidence["path"] == "/config/layers/2/config/activation"


def test_lambda_with_named_function_is_high(tmp_path: Path) -> None:
    fn = {
        "module": "my_project.ops",
        "class_name": "function",
        "config": "double",
        "registered_name": "double",
    }
    data = keras_zip(keras_v3_config([_layer("Lambda", {"name": "lam", "function": fn})]))
    findings = scan_bytes(tmp_path, "model.keras", data)
    hits = by_rule(findings, "KERAS-LAMBDA-LAYER")
    assert [(f.severity, f.evidence["module"], f.evidence["function"]) for f in hits] == [
        (Severity.HIGH, "my_project.ops", "double")
    ]
    assert "KERAS-CUSTOM-OBJECT" not in ids(findings)  # reported once, as the Lambda


@pytest.mark.parametrize(
    ("obj", "severity"),
    [
        (_layer("Backdoor", {"name": "b"}, module="evil_pkg.layers", registered="Custom>Backdoor"), Severity.HIGH),
        ({"module": "os", "class_name": "function", "config": "system", "registered_name": "system"},
         Severity.CRITICAL),
        ({"module": "builtins", "class_name": "function", "config": "exec", "registered_name": None},
         Severity.CRITICAL),
        ({"module": "keras.src.utils.file_utils", "class_name": "function", "config": "get_file",
          "registered_name": "get_file"}, Severity.CRITICAL),
        (_layer("GemmaBackbone", {"name": "g"}, module="keras_hub.src.models.gemma", registered="keras_hub>Gemma"),
         Severity.LOW),
    ],
)  # fmt: skip
def test_custom_objects(tmp_path: Path, obj: dict, severity: Severity) -> None:
    layer = _layer("Dense", {"name": "d", "units": 2, "kernel_regularizer": obj})
    findings = scan_bytes(tmp_path, "model.keras", keras_zip(keras_v3_config([layer])))
    hits = by_rule(findings, "KERAS-CUSTOM-OBJECT")
    assert [f.severity for f in hits] == [severity]


def test_keras_builtin_function_reference_is_fine(tmp_path: Path) -> None:
    act = {
        "module": "keras.activations",
        "class_name": "function",
        "config": "gelu",
        "registered_name": "gelu",
    }
    layer = _layer("Dense", {"name": "d", "units": 2, "activation": act})
    assert own(scan_bytes(tmp_path, "model.keras", keras_zip(keras_v3_config([layer])))) == []


@pytest.mark.parametrize("vocab", ["/etc/passwd", "https://attacker.example/v.txt", "../secrets.txt"])
def test_vocabulary_paths_and_urls(tmp_path: Path, vocab: str) -> None:
    layer = _layer("StringLookup", {"name": "lookup", "vocabulary": vocab})
    hits = by_rule(
        scan_bytes(tmp_path, "model.keras", keras_zip(keras_v3_config([layer]))), "KERAS-EXTERNAL-REFERENCE"
    )
    assert [f.evidence["value"] for f in hits] == [vocab]


def test_unreadable_config(tmp_path: Path) -> None:
    data = build_zip([Entry("metadata.json", b"{}"), Entry("config.json", b'{"layers": [ broken'),
                      Entry("model.weights.h5", weights_h5())])  # fmt: skip
    assert "KERAS-CONFIG-UNREADABLE" in ids(scan_bytes(tmp_path, "model.keras", data))


def test_keras_config_is_judged_by_content_whatever_the_archive_is_called(
    tmp_path: Path, canary: Path
) -> None:
    # Keras reads a renamed archive that holds only config.json: a Lambda layer in it is reported...
    config = json.dumps(keras_v3_config([keras_v3_lambda_layer(canary)])).encode()
    assert "KERAS-LAMBDA-LAYER" in ids(
        scan_bytes(tmp_path, "a.zip", build_zip([Entry("config.json", config)]))
    )
    # ...while a zip whose config.json is not a Keras model config fires nothing Keras-specific
    plain = json.dumps({"model_type": "llama", "hidden_size": 64}).encode()
    found = ids(scan_bytes(tmp_path, "b.zip", build_zip([Entry("config.json", plain)])))
    assert not {i for i in found if i.startswith("KERAS-")}


def test_deflated_keras_config_is_checked(tmp_path: Path, canary: Path) -> None:
    config = json.dumps(keras_v3_config([keras_v3_lambda_layer(canary)])).encode()
    data = build_zip([Entry("metadata.json", b"{}", method=8), Entry("config.json", config, method=8),
                      Entry("model.weights.h5", weights_h5(), method=8)])  # fmt: skip
    assert "KERAS-LAMBDA-LAYER" in ids(scan_bytes(tmp_path, "model.keras", data))


# ------------------------------------------------------------------------------------------------
# Legacy .h5


def test_h5_lambda_is_critical(tmp_path: Path, canary: Path) -> None:
    findings = scan_bytes(tmp_path, "model.h5", keras2_h5_lambda(canary))
    hits = by_rule(findings, "KERAS-LAMBDA-LAYER")
    assert len(hits) == 1 and hits[0].severity == Severity.CRITICAL
    assert hits[0].evidence["source"] == "model_config"
    assert any(str(canary) in text for text in hits[0].evidence["code_strings"])


def test_h5_named_function_lambda_is_high(tmp_path: Path) -> None:
    config = {"class_name": "Sequential", "config": {"layers": [
        {"class_name": "Lambda", "config": {"name": "l", "function": "my_fn", "function_type": "function",
                                            "module": "my_project.ops"}}]}}  # fmt: skip
    hits = by_rule(scan_bytes(tmp_path, "model.h5", weights_h5(config)), "KERAS-LAMBDA-LAYER")
    assert [(f.severity, f.evidence["function"]) for f in hits] == [(Severity.HIGH, "my_fn")]


def test_h5_benign_model_and_weights_only_file_are_clean(tmp_path: Path) -> None:
    assert own(scan_bytes(tmp_path, "model.h5", keras2_h5_benign())) == []  # includes a TFOpLambda
    assert own(scan_bytes(tmp_path, "weights.h5", weights_h5())) == []


def test_h5_training_config_is_checked(tmp_path: Path, canary: Path) -> None:
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        f.attrs["model_config"] = json.dumps(keras_v3_config())
        loss = {"class_name": "__lambda__", "config": {"code": lambda_bytecode_b64(canary)}}
        f.attrs["training_config"] = json.dumps({"loss": loss})
    hits = by_rule(scan_bytes(tmp_path, "model.h5", buf.getvalue()), "KERAS-LAMBDA-LAYER")
    assert [f.evidence["source"] for f in hits] == ["training_config"]


def test_h5_external_link(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        f.create_dataset("w", data=[1.0, 2.0])
        f["leak"] = h5py.ExternalLink("/etc/passwd.h5", "/data")
    hits = by_rule(scan_bytes(tmp_path, "model.h5", buf.getvalue()), "HDF5-EXTERNAL-REFERENCE")
    assert [(f.evidence["object"], f.evidence["file"]) for f in hits] == [("/leak", "/etc/passwd.h5")]


def test_h5_with_user_block_is_sniffed() -> None:
    assert HDF5Scanner().sniff(b"\x00" * 512 + b"\x89HDF\r\n\x1a\n", "x")
    assert not HDF5Scanner().sniff(b"\x00" * 100 + b"\x89HDF\r\n\x1a\n", "model.h5")


def test_corrupt_h5_is_malformed(tmp_path: Path) -> None:
    data = weights_h5()
    findings = scan_bytes(tmp_path, "model.h5", data[:8] + bytes(len(data) - 8))
    assert "HDF5-MALFORMED" in ids(findings)


def test_h5_without_h5py_is_reported_not_passed(
    tmp_path: Path, canary: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = keras2_h5_lambda(canary)
    monkeypatch.setitem(sys.modules, "h5py", None)  # import h5py now raises ImportError
    findings = scan_bytes(tmp_path, "model.h5", data)
    hits = by_rule(findings, "HDF5-NOT-CHECKED")
    assert len(hits) == 1 and hits[0].severity == Severity.INFO
