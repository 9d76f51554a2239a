"""End to end through the CLI on the demo directories: every attack in the suspicious model is found
with its rule, the clean twin raises nothing at low or above, SARIF is valid, and the canary payloads
never ran."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.samples.build_demo import main as build_demo
from warden.cli import main


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    build_demo(["build_demo", str(out)])
    return out


def scan_json(capsys: pytest.CaptureFixture[str], path: Path, *extra: str) -> tuple[int, dict]:
    rc = main(["scan", str(path), "--format", "json", "--quiet", *extra])
    return rc, json.loads(capsys.readouterr().out)


def test_suspicious_model_every_attack_found(demo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, doc = scan_json(capsys, demo / "suspicious-model")
    assert rc == 1
    found = {(f["rule_id"], f["location"]["file"]) for f in doc["findings"]}
    expected = {
        ("PICKLE-DANGEROUS-GLOBAL", "pytorch_model.bin"),
        ("PICKLE-DANGEROUS-GLOBAL", "adapter_model.safetensors"),
        ("FORMAT-MISMATCH", "adapter_model.safetensors"),
        ("PICKLE-DANGEROUS-GLOBAL", "embeddings.npy"),
        ("SAFETENSORS-TRAILING-DATA", "model-extra.safetensors"),
        ("TEMPLATE-SSTI", "tokenizer_config.json"),
        ("TEMPLATE-SSTI", "model-q8_0.gguf"),
        ("REMOTE-CODE-CROSS-REPO", "config.json"),
        ("REMOTE-CODE-REQUIRED", "config.json"),
        ("REMOTE-CODE-EXEC", "configuration_llama.py"),
        ("TAR-PATH-TRAVERSAL", "extras.tar"),
        ("KERAS-LAMBDA-LAYER", "classifier.keras"),
    }
    assert expected <= found, expected - found
    assert not (demo / "CANARY-EXECUTED").exists()


def test_clean_twin_is_clean(demo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, doc = scan_json(capsys, demo / "clean-model", "--fail-on", "low")
    assert rc == 0
    assert [f for f in doc["findings"] if f["severity"] != "info"] == []
    assert len(doc["manifest"]["files"]) == 5


def test_sarif_of_the_demo_is_valid(demo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import jsonschema

    from tests.core.test_renderers import sarif_schema

    rc = main(["scan", str(demo / "suspicious-model"), "--format", "sarif", "--quiet"])
    doc = json.loads(capsys.readouterr().out)
    jsonschema.validate(doc, sarif_schema())
    run = doc["runs"][0]
    assert rc == 1 and len(run["results"]) >= 12
    assert len({r["id"] for r in run["tool"]["driver"]["rules"]}) == len(run["tool"]["driver"]["rules"])
