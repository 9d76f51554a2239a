"""``warden policy``: the shipped policies, to read and to copy."""

from __future__ import annotations

import enum
import sys
from pathlib import Path

import typer

policy_app = typer.Typer(
    help="Show the policies Warden ships (copy one to write your own).", no_args_is_help=True
)


class Shipped(str, enum.Enum):
    default = "default"  # the audit / attest / verify policy
    gateway = "gateway"  # the `warden serve` policy


def shipped_path(name: Shipped) -> Path:
    if name is Shipped.default:
        from warden.audit.policy import DEFAULT_POLICY_PATH

        return DEFAULT_POLICY_PATH
    return Path(__file__).resolve().parents[1] / "gateway" / "policies" / "default.yaml"


@policy_app.command(
    "show",
    epilog="Examples:  \nwarden policy show default > my-policy.yaml  \nwarden policy show gateway --path",
)
def show(
    name: Shipped = typer.Argument(Shipped.default, help="default (audit/verify) or gateway (serve)."),
    path: bool = typer.Option(False, "--path", help="Print the file's location instead of its text."),
) -> None:
    """Print a shipped policy, every option commented."""
    p = shipped_path(name)
    sys.stdout.write(f"{p}\n" if path else p.read_text(encoding="utf-8"))


def register(app: typer.Typer) -> None:
    app.add_typer(policy_app, name="policy")
