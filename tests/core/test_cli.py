"""The CLI in-process: exit codes and JSON output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from warden.cli import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    rc = main(list(args))
    out, err = capsys.readouterr()
    return rc, out, err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run(capsys, "--version")
    assert rc == 0 and out.startswith("warden ")


def test_missing_model_is_usage_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    rc, _, err = run(capsys, "scan", str(tmp_path / "missing"), "--quiet")
    assert rc == 2
    assert "missing" in err and "Traceback" not in err


def test_bad_option_is_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, _ = run(capsys, "scan", ".", "--format", "yaml")
    assert rc == 2


def test_empty_dir_is_nothing_to_check(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    rc, out, _ = run(capsys, "scan", str(tmp_path), "--format", "json", "--quiet")
    doc = json.loads(out)
    assert doc["findings"][0]["rule_id"] == "SOURCE-EMPTY"
    assert doc["manifest"]["files"] == []
    assert doc["stages"]["scan"]["status"] == "skipped"
    assert rc == 2
