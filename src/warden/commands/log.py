"""``warden log verify`` and ``warden log show``: check and read the gateway's hash-chained audit log."""

from __future__ import annotations

import json
import re
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import typer

from warden.commands.common import EXIT_ERROR, EXIT_FINDINGS, EXIT_OK, stderr_console
from warden.errors import UsageError

log_app = typer.Typer(help="Verify and read the gateway's audit log.", no_args_is_help=True)

_LOG = typer.Option(None, "--log", help="Audit log: sqlite path / sqlite:/// URL / postgresql:// URL.")
_POLICY = typer.Option(None, "--policy", "-p", help="Read the audit log location from this gateway policy.")


def _url(log: str | None, policy: Path | None) -> str:
    if log:
        return log
    if policy:
        from warden.gateway.policy import load_policy

        return load_policy(policy).audit.url
    raise UsageError("name the audit log with --log or --policy")


@log_app.command("verify")
def verify(
    log: str = _LOG,
    policy: Path = _POLICY,
    expect_head: str = typer.Option(
        None, "--expect-head", help="SEQ:HASH (or HASH) the head must match — catches a cut tail."
    ),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable result."),
) -> int:
    """Check every record's hash, link and sequence: exit 0 if intact, 1 if anything was edited, deleted
    or reordered, 2 if the log cannot be read."""
    from warden.gateway.audit.chain import verify_rows
    from warden.gateway.audit.store import open_store

    store = open_store(_url(log, policy), readonly=True)
    try:
        result = verify_rows((r.row() for r in store.rows()), expect_head=expect_head)
    finally:
        store.close()
    if as_json:
        typer.echo(json.dumps({"ok": result.ok, "records": result.records, "head_seq": result.head_seq, "head_hash": result.head_hash,
                               "problems": [{"seq": p.seq, "kind": p.kind, "detail": p.detail} for p in result.problems]}))  # fmt: skip
    else:
        con = stderr_console()
        if result.ok:
            con.print(
                f"[green]ok[/]: {result.records} records, head {result.head_seq}:{result.head_hash}",
                highlight=False,
            )
        else:
            for p in result.problems:
                con.print(f"[red]tampered[/] {p}", highlight=False)
            con.print(f"{len(result.problems)} problem(s) in {result.records} records", highlight=False)
    return EXIT_OK if result.ok else EXIT_FINDINGS


def parse_since(text: str, now: datetime | None = None) -> str:
    """``30m``/``2h``/``7d`` (ago) or an ISO date/time → the UTC ISO string records are compared with."""
    now = now or datetime.now(timezone.utc)
    m = re.fullmatch(r"(\d+)\s*([smhd])", text.strip())
    if m:
        unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[m.group(2)]
        when = now - timedelta(**{unit: int(m.group(1))})
    else:
        try:
            when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        except ValueError:
            raise UsageError(f"--since {text!r}: use 30m, 2h, 7d or an ISO date/time") from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
    return when.astimezone(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _matches(rec: dict[str, Any], rule: str | None, tool: str | None) -> bool:
    if rule is not None:
        rails = {r.get("rail") for r in rec.get("rails") or []}
        tool_rules = {
            x for t in rec.get("tool_calls") or [] if t.get("action") != "allow" for x in t.get("rules") or []
        }
        if rule not in rails and rule not in tool_rules:
            return False
    if tool is not None and tool not in {t.get("name") for t in rec.get("tool_calls") or []}:
        return False
    return True


@log_app.command("show")
def show(
    log: str = _LOG,
    policy: Path = _POLICY,
    since: str = typer.Option(None, "--since", help="Only records since 30m / 2h / 7d ago or an ISO time."),
    principal: str = typer.Option(None, "--principal", help="Only this API key id."),
    rule: str = typer.Option(
        None, "--rule", help="Only records where this rail or tool control fired (e.g. taint)."
    ),
    tool: str = typer.Option(None, "--tool", help="Only records with a call of this tool."),
    kind: str = typer.Option(None, "--kind", help="request | approval | startup | shutdown."),
    limit: int = typer.Option(None, "--limit", min=1),
    as_json: bool = typer.Option(False, "--json", help="One JSON record per line."),
) -> int:
    """List audit records, oldest first, filtered."""
    from warden.gateway.audit.store import Filters, open_store

    store = open_store(_url(log, policy), readonly=True)
    try:
        flt = Filters(since=parse_since(since) if since else None, principal=principal, kind=kind)
        records = [r.record() for r in store.rows(flt)]
    finally:
        store.close()
    records = [r for r in records if _matches(r, rule, tool)]
    if limit:
        records = records[-limit:]
    if as_json:
        for r in records:
            sys.stdout.write(json.dumps(r, sort_keys=True) + "\n")
        return EXIT_OK
    from rich.console import Console
    from rich.table import Table

    table = Table("seq", "time", "kind", "principal", "status", "rails fired", "tool calls", "spend")
    for r in records:
        rails = ", ".join(f"{x.get('rail')}:{x.get('action')}" for x in r.get("rails") or [])
        tools = ", ".join(f"{t.get('name')}:{t.get('action')}" for t in r.get("tool_calls") or [])
        if r.get("kind") == "approval":
            a = r.get("approval") or {}
            tools = f"{r.get('event')} {a.get('id')} {(a.get('subject') or {}).get('tool', '')}"
        table.add_row(str(r.get("seq")), str(r.get("time", ""))[:23], str(r.get("kind")), str(r.get("principal") or "-"),
                      str(r.get("status") or ""), rails, tools, str(r.get("spend") or ""))  # fmt: skip
    Console().print(table)
    return EXIT_OK


def register(app: typer.Typer) -> None:
    app.add_typer(log_app, name="log")


__all__ = ["EXIT_ERROR", "register"]
