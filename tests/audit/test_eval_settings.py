"""The policy's eval settings reach run_eval (a setting that is silently ignored is a bug)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import warden.behavior as behavior
from warden.audit import orchestrate
from warden.audit.policy import Policy
from warden.report.model import Report


def _capture(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    def fake_run_eval(model: str, **kwargs: Any) -> Report:
        seen.update(kwargs)
        raise RuntimeError("stop here")

    monkeypatch.setattr(behavior, "run_eval", fake_run_eval)
    return seen


@pytest.mark.parametrize("sweep", [True, False])
def test_trigger_sweep_setting_is_honoured(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, sweep: bool
) -> None:
    seen = _capture(monkeypatch)
    policy = Policy.model_validate({"eval": {"trigger_sweep": sweep, "limit": 5, "seed": 3}})
    with pytest.raises(RuntimeError):
        orchestrate._eval(tmp_path, None, "transformers", policy, {})
    suites = seen.get("suites", list(behavior.DEFAULT_SUITES))
    assert ("triggers" in suites) is sweep
    assert seen["limit"] == 5 and seen["seed"] == 3
    if not sweep:
        assert set(suites) == set(behavior.DEFAULT_SUITES) - {"triggers"}


def test_audit_cache_option_reaches_run_eval(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """`warden audit --cache` hands the cache to the eval stage (and nothing else changes)."""
    from warden.cli import main

    seen = _capture(monkeypatch)
    monkeypatch.setattr(orchestrate, "_is_chat_model_dir", lambda _p: True)
    model = tmp_path / "m"
    model.mkdir()
    (model / "config.json").write_text("{}")
    cache = tmp_path / "gen.sqlite"
    main(["audit", str(model), "--cache", str(cache), "-f", "json", "-q", "-o", str(tmp_path / "r.json")])
    assert seen.get("cache") == str(cache)
