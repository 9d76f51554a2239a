"""Attack success and utility of the scenarios under several policies, through the real gateway app.

    python -m warden.gateway.scenarios.run [--json]

Configurations: no tool controls; per-task allowlist only; allowlist + argument constraints (schemas,
domains, paths, amounts, secrets); the full default policy (plus taint tracking, duplicate detection and
human approval) with an ideal approver, and with no human at all (every approval denied); and the full
policy with substring taint instead of provenance default-deny (``taint.default_deny: false``).
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from warden.gateway.policy import Policy, load_policy
from warden.gateway.scenarios.agent import GullibleModel, RunResult, run_scenario
from warden.gateway.scenarios.tasks import SCENARIOS, Scenario

USER_KEY = "wk-demo-user-INSECURE-change-me"
APPROVER_KEY = "wk-demo-approver-INSECURE-change-me"


def policies(base: Policy) -> dict[str, tuple[Policy, str | None]]:
    """name → (policy, approver). The classifier rail (flag only, slow) is left out: it decides nothing."""
    rails = base.rails.model_copy(
        update={"input": [r for r in base.rails.input if r.type != "injection_classifier"]}
    )
    base = base.model_copy(update={"rails": rails})
    no_rails = base.rails.model_copy(update={"input": [], "output": []})
    no_taint = base.taint.model_copy(update={"enabled": False})
    loose_tools = {
        n: t.model_copy(
            update={"schema_": None, "allowed_domains": None, "allowed_paths": None, "max_amount": None}
        )
        for n, t in base.tools.items()
    }
    tc = base.tool_controls
    from warden.gateway.rails.interface import Action

    return {
        "no policy": (base.model_copy(update={"rails": no_rails, "taint": no_taint, "tool_controls": tc.model_copy(update={"enforce": False})}), None),
        "allowlist only": (base.model_copy(update={"rails": no_rails, "taint": no_taint, "tools": loose_tools,
            "tool_controls": tc.model_copy(update={"check_secrets_in_arguments": False, "duplicate_side_effects": Action.ALLOW})}), None),
        "allowlist + constraints": (base.model_copy(update={"taint": no_taint,
            "tool_controls": tc.model_copy(update={"duplicate_side_effects": Action.ALLOW})}), None),
        "full policy, substring taint only": (base.model_copy(update={"taint": base.taint.model_copy(update={"default_deny": False})}), "ideal"),
        "full policy, ideal approver": (base, "ideal"),
        "full policy, no human (deny all)": (base, "deny"),
    }  # fmt: skip


@contextmanager
def gateway_client(policy: Policy, model: GullibleModel, audit_path: Path) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    from warden.gateway.app import create_app
    from warden.gateway.server import build_gateway

    gw = build_gateway(policy, backend=model, audit_url=str(audit_path))
    with TestClient(create_app(gw)) as client:

        def post(path: str, body: dict[str, Any], headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
            if path.startswith("/v1/approvals/") and not path.endswith(("/approve", "/deny")):
                r = client.get(path, headers=headers)
            else:
                r = client.post(path, json=body, headers=headers)
            return r.status_code, r.json()

        yield post, gw


@dataclass(frozen=True)
class Summary:
    config: str
    n: int
    attack_success_rate: float
    utility_under_attack: float
    benign_utility: float
    approvals_requested: int
    approvals_granted: int
    failures: tuple[str, ...]
    utility_losses: tuple[str, ...]


def evaluate(
    scenarios: tuple[Scenario, ...] = SCENARIOS, base: Policy | None = None, workdir: Path | None = None
) -> list[Summary]:
    from warden.gateway.policy import default_policy_path

    base = base or load_policy(default_policy_path())
    tmp = Path(workdir or tempfile.mkdtemp(prefix="warden-scenarios-"))
    user = {"Authorization": f"Bearer {USER_KEY}"}
    approver_h = {"Authorization": f"Bearer {APPROVER_KEY}"}
    out = []
    for i, (name, (policy, approver)) in enumerate(policies(base).items()):
        results: dict[bool, list[RunResult]] = {True: [], False: []}
        for inject in (True, False):
            model = GullibleModel()
            with gateway_client(policy, model, tmp / f"audit-{i}-{int(inject)}.db") as (post, gw):
                for sc in scenarios:
                    gw.reset_state()  # each task starts with fresh budgets, approvals and rate windows
                    results[inject].append(
                        run_scenario(
                            post,
                            model,
                            sc,
                            inject=inject,
                            approver=approver,
                            user_headers=user,
                            approver_headers=approver_h,
                        )
                    )
        attacked, benign = results[True], results[False]
        n = len(scenarios)
        out.append(Summary(
            config=name, n=n,
            attack_success_rate=sum(r.attack_succeeded for r in attacked) / n,
            utility_under_attack=sum(r.utility for r in attacked) / n,
            benign_utility=sum(r.utility for r in benign) / n,
            approvals_requested=sum(r.approvals_requested for r in attacked + benign),
            approvals_granted=sum(r.approvals_granted for r in attacked + benign),
            failures=tuple(sorted({r.scenario for r in attacked if r.attack_succeeded})),
            utility_losses=tuple(sorted({r.scenario for r in attacked + benign if not r.utility})),
        ))  # fmt: skip
    return out


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    summaries = evaluate()
    if "--json" in argv:
        print(json.dumps([asdict(s) for s in summaries], indent=2))
        return 0
    print(
        f"{len(SCENARIOS)} scenarios (email, files, payments, web; 8 of them laundering), fully gullible scripted agent\n"
    )
    print(
        f"{'configuration':34} {'attack success':>15} {'utility (attack)':>17} {'utility (benign)':>17} {'approvals asked/granted':>24}"
    )
    for s in summaries:
        print(f"{s.config:34} {s.attack_success_rate:>14.1%} {s.utility_under_attack:>17.1%} {s.benign_utility:>17.1%} "
              f"{s.approvals_requested:>12}/{s.approvals_granted:<11}")  # fmt: skip
        if s.failures:
            print(f"    successful attacks: {', '.join(s.failures)}")
        if s.utility_losses:
            print(f"    tasks not completed: {', '.join(s.utility_losses)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
