"""The policy file is untrusted input: strict parsing, clear errors, a digest that changes with it."""

from __future__ import annotations

from pathlib import Path

import pytest

from warden.gateway.errors import PolicyError
from warden.gateway.policy import default_policy_path, load_policy, parse_policy


def test_default_policy_loads_and_is_documented() -> None:
    pol = load_policy(default_policy_path())
    assert pol.version and pol.digest.startswith("sha256:")
    assert {"email-assistant", "file-assistant", "payments-assistant", "web-research"} <= set(pol.tasks)
    assert all(
        t.side_effecting for n, t in pol.tools.items() if n in ("send_email", "send_payment", "write_file")
    )
    assert default_policy_path().read_text().count("#") > 30  # an example people can read


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"version": "v1", "surprise": 1}, "surprise"),
        ({"version": "v1", "tasks": {"t": {"tools": ["nope"]}}}, "undeclared tool"),
        ({"version": "v1", "rails": {"input": [{"type": "no_such_rail"}]}}, "unknown rail type"),
        ({"version": "v1", "rails": {"output": [{"type": "injection_heuristics"}]}}, "cannot run on output"),
        (
            {"version": "v1", "rails": {"input": [{"type": "harmful_request", "action": "redact"}]}},
            "action must be one of",
        ),
        ({"version": "v1", "keys": [{"id": "a", "sha256": "xyz"}]}, "64 hex"),
        (
            {"version": "v1", "rails": {"input": [{"type": "pii", "action": "redact", "mode": "during"}]}},
            "cannot redact",
        ),
        ({"version": "v1", "server": {"max_concurrency": 0}}, "max_concurrency"),
        ({"version": "v1", "taint": {"side_effecting_action": "redact"}}, "block, require_approval or flag"),
    ],
)
def test_bad_policies_are_rejected_clearly(data: dict, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(PolicyError, match=message):
        parse_policy(data)


def test_yaml_is_parsed_safely(tmp_path: Path, canary: Path) -> None:
    p = tmp_path / "evil.yaml"
    p.write_text(f"!!python/object/apply:os.system ['touch {canary}']\n")
    with pytest.raises(PolicyError, match="not valid YAML"):
        load_policy(p)


def test_digest_tracks_content_and_paths_resolve_relative_to_the_file(tmp_path: Path) -> None:
    a = parse_policy({"version": "v1"})
    b = parse_policy({"version": "v2"})
    assert a.digest != b.digest and a.digest == parse_policy({"version": "v1"}).digest
    p = tmp_path / "sub" / "p.yaml"
    p.parent.mkdir()
    p.write_text("version: v1\nmodel: {attestation: att.json, public_key: /abs/k.pub}\n")
    pol = load_policy(p)
    assert pol.model.attestation == p.parent / "att.json" and str(pol.model.public_key) == "/abs/k.pub"
