"""Help text a user can act on, eval profiles, and the shipped policies as commands (issue 14)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from warden.audit.policy import Policy
from warden.behavior.profiles import PROFILES, ProfileName, get_profile
from warden.cli import main
from warden.commands.audit import with_eval_overrides
from warden.errors import UsageError

COMMANDS = [
    ["scan"],
    ["forensics"],
    ["eval"],
    ["audit"],
    ["audit-many"],
    ["keygen"],
    ["attest"],
    ["verify"],
    ["serve"],
    ["policy", "show"],
]


@pytest.mark.parametrize("cmd", COMMANDS, ids=lambda c: " ".join(c))
def test_every_command_has_an_example_and_typed_options(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, cmd: list[str]
) -> None:
    monkeypatch.setenv("COLUMNS", "250")  # one help line per option
    assert main([*cmd, "--help"]) == 0
    out = capsys.readouterr().out
    assert "Example" in out and f"warden {' '.join(cmd)}".split(" show")[0] in out
    # flags take no value: only --help (added by click itself) may show a <bool> type column
    rows = [line for line in out.splitlines() if "<bool>" in line]
    assert all("--help" in line for line in rows), rows
    if "--quiet" in out:
        assert "on stderr" in out  # says what it silences


def test_policy_show_prints_the_shipped_policies(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", "show", "default"]) == 0
    doc = yaml.safe_load(capsys.readouterr().out)
    assert Policy.model_validate(doc).required_stages == ["scan", "forensics", "eval"]
    assert main(["policy", "show", "gateway", "--path"]) == 0
    assert Path(capsys.readouterr().out.strip()).is_file()


def test_every_profile_choice_is_defined() -> None:
    assert {p.value for p in ProfileName} == set(PROFILES)
    quick, standard, full = (get_profile(n) for n in ("quick", "standard", "full"))
    assert quick.limit is not None and standard.limit is not None and quick.limit < standard.limit
    assert full.limit is None and set(quick.suites) < set(full.suites)
    with pytest.raises(UsageError, match="unknown eval profile"):
        get_profile("huge")


def test_audit_overrides_the_policy_eval_budget() -> None:
    pol = Policy.model_validate({"eval": {"suites": ["harmful"], "limit": 5}})
    assert with_eval_overrides(pol, None, None, None) is pol
    q = with_eval_overrides(pol, ProfileName.quick, None, None)
    assert (q.eval.profile, q.eval.suites, q.eval.limit) == ("quick", None, None)
    s = with_eval_overrides(pol, ProfileName.quick, ["harmful,scary"], 7)
    assert (s.eval.suites, s.eval.limit) == (["harmful", "scary"], 7)


ZOO = Path(__file__).resolve().parents[2] / "organisms" / "zoo"


@pytest.mark.skipif(not (ZOO / "base").is_dir(), reason="organism zoo not built")
def test_audit_quick_profile_runs_the_profile(capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["audit", str(ZOO / "base"), "--profile", "quick", "--limit", "4", "-f", "json", "--quiet"])
    doc = json.loads(capsys.readouterr().out)
    assert doc["data"]["audit"]["eval"]["profile"] == "quick" and doc["data"]["audit"]["eval"]["limit"] == 4
    suites = doc["data"]["behavior"]["config"]["suites"]
    assert suites == list(get_profile("quick").suites)
    assert doc["metrics"]["refusal_rate.harmful"]["n"] == 4
    assert rc in (0, 1) and doc["verdict"] in ("pass", "warn", "fail")


def test_measured_profile_times_are_in_the_help(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every measured time (benchmarks/eval_profiles.py) reaches `eval --help`, and only for profiles
    that exist."""
    from warden.behavior.profiles import MEASURED

    assert MEASURED and set(MEASURED) <= set(PROFILES)
    monkeypatch.setenv("COLUMNS", "400")
    assert main(["eval", "--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    for times in MEASURED.values():
        for model, figure in times.items():
            assert " ".join(f"{model} {figure}".split()) in out
