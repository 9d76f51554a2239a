"""Decide every tool call a model emits: allowlist → arguments → constraints → secrets → budgets →
provenance (taint) → approvals. Hard violations block and no approval overrides them; taint asks for a
human (or blocks) per policy; an approved approval lets exactly that call through once."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

from warden.gateway import strictjson
from warden.gateway.canonical import canonical_json, digest
from warden.gateway.detectors import pii
from warden.gateway.errors import Overloaded
from warden.gateway.keys import Principal
from warden.gateway.policy import BudgetSpec, Policy, ToolSpec
from warden.gateway.rails.interface import Action, Message
from warden.gateway.tools import constraints
from warden.gateway.tools.approvals import APPROVED, DENIED, Approval, ApprovalQueue, subject_digest
from warden.gateway.tools.atoms import Corpus, extract, provenance, top_arg
from warden.gateway.tools.budget import Budgets
from warden.gateway.tools.provenance import TrustedValues, policy_trust, untrusted_args

MAX_ARGUMENT_CHARS = 100_000


@dataclass(frozen=True)
class ToolCall:
    """One call as the model emitted it. ``defect`` is set by the bookkeeping before any policy runs (an
    id shared with another call, a stream that changed a call's id): such a call is blocked as it is."""

    id: str
    name: str
    arguments_json: str
    defect: str = ""

    def parse(self) -> tuple[dict[str, Any] | None, str]:
        """The arguments object, or None and why not (strict JSON: no duplicate keys, finite numbers)."""
        if len(self.arguments_json) > MAX_ARGUMENT_CHARS:
            return None, f"arguments longer than {MAX_ARGUMENT_CHARS} characters"
        try:
            value = strictjson.loads(self.arguments_json or "{}")
        except strictjson.StrictJSONError as exc:
            return None, f"arguments are not strict JSON: {exc}"
        except (ValueError, RecursionError):
            return None, "arguments are not a JSON object"
        if not isinstance(value, dict):
            return None, "arguments are not a JSON object"
        return value, ""

    def parsed(self) -> dict[str, Any] | None:
        return self.parse()[0]


@dataclass(frozen=True)
class ToolDecision:
    call: ToolCall
    action: Action
    reasons: tuple[str, ...] = ()
    arguments: str = ""  # canonical JSON (or the raw text, cut, when it did not parse)
    spend: float = 0.0
    taint: tuple[dict[str, str], ...] = ()
    approval: Approval | None = None
    new_approval: bool = False
    rules: tuple[str, ...] = field(default=())  # which controls fired: allowlist, schema, taint, ...

    def wire(self) -> dict[str, Any]:
        """The call as it goes to the client, built from what was decided and nothing else: this id,
        this name and the canonical form of the arguments the checks read (never the model's object)."""
        args = self.arguments if self.call.parsed() is not None else self.call.arguments_json
        return {
            "id": self.call.id,
            "type": "function",
            "function": {"name": self.call.name, "arguments": args},
        }

    def to_record(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.call.id, "name": self.call.name, "arguments": self.arguments,
            "args_digest": "sha256:" + _sha(self.arguments), "action": self.action.value, "spend": self.spend,
        }  # fmt: skip
        if self.reasons:
            out["reasons"] = list(self.reasons)
        if self.rules:
            out["rules"] = list(self.rules)
        if self.taint:
            out["taint"] = list(self.taint)
        if self.approval is not None:
            out["approval"] = self.approval.receipt()
        return out


MAX_CALLS_PER_ANSWER = 64


def new_call_id() -> str:
    import secrets

    return "call_w" + secrets.token_hex(12)


def mark_defects(calls: list[ToolCall], taken: frozenset[str] = frozenset()) -> list[ToolCall]:
    """Every call is decided by itself, and a client maps each tool result back by id: an id two calls in
    one answer share, or one already used earlier in the conversation, makes that mapping ambiguous, so
    those calls are blocked (not matched, not merged). Beyond ``MAX_CALLS_PER_ANSWER`` calls are blocked."""
    counts: dict[str, int] = {}
    for c in calls:
        counts[c.id] = counts.get(c.id, 0) + 1
    out = []
    for i, c in enumerate(calls):
        defect = c.defect
        if not defect and counts[c.id] > 1:
            defect = f"tool call id {c.id[:64]!r} is shared by {counts[c.id]} calls in one answer"
        elif not defect and c.id in taken:
            defect = f"tool call id {c.id[:64]!r} was already used earlier in the conversation"
        elif not defect and i >= MAX_CALLS_PER_ANSWER:
            defect = f"more than {MAX_CALLS_PER_ANSWER} tool calls in one answer"
        out.append(replace(c, defect=defect) if defect != c.defect else c)
    return out


def _sha(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Sources:  # frozen, but cached_property needs a __dict__: no slots
    """The conversation split by trust: the user's (and system's, and trusted tools') words vs the rest."""

    trusted: Corpus
    untrusted: Corpus
    previous_calls: frozenset[tuple[str, str]] = frozenset()  # (tool, canonical arguments) made earlier
    trusted_texts: tuple[str, ...] = ()

    @cached_property
    def values(self) -> TrustedValues:
        """Canonical control values of the trusted text (for default-deny provenance)."""
        return TrustedValues.of(self.trusted_texts)

    @classmethod
    def of(
        cls,
        messages: tuple[Message, ...],
        policy: Policy,
        previous_calls: frozenset[tuple[str, str]] = frozenset(),
    ) -> Sources:
        trusted, untrusted = [], []
        for m in messages:
            if m.role in ("user", "system", "developer"):
                trusted.append(m.text)
            elif (
                m.role == "tool" and m.name and m.name in policy.tools and policy.tools[m.name].output_trusted
            ):
                trusted.append(m.text)
            else:  # tool outputs and earlier model output are untrusted
                untrusted.append(m.text)
        return cls(Corpus.of(trusted), Corpus.of(untrusted), previous_calls, tuple(trusted))


class ToolGuard:
    def __init__(self, policy: Policy, budgets: Budgets, approvals: ApprovalQueue) -> None:
        self.policy = policy
        self.budgets = budgets
        self.approvals = approvals

    def allowed_tools(self, principal: Principal, task: str | None) -> set[str]:
        allowed: set[str] | None = set(principal.spec.tools) if principal.spec.tools is not None else None
        if task is not None:
            task_tools = set(self.policy.tasks[task].tools)
            allowed = task_tools if allowed is None else allowed & task_tools
        return allowed or set()

    def budget_scopes(self, principal: Principal, task: str | None) -> list[tuple[str, BudgetSpec]]:
        scopes = []
        if principal.spec.budget is not None:
            scopes.append((f"key:{principal.key_id}", principal.spec.budget))
        if task is not None and self.policy.tasks[task].budget is not None:
            scopes.append((f"task:{principal.key_id}:{task}", self.policy.tasks[task].budget))  # type: ignore[arg-type]
        return scopes

    def check(
        self,
        call: ToolCall,
        *,
        principal: Principal,
        task: str | None,
        sources: Sources,
        request_id: str,
        earlier: Sequence[ToolDecision] = (),
    ) -> ToolDecision:
        """Decide one call. ``earlier``: the decisions on the calls before it in the same answer (their
        spend counts against the budgets together with this one; the same side effect twice is a
        duplicate)."""
        if call.defect:
            return ToolDecision(
                call, Action.BLOCK, (call.defect,), call.arguments_json[:2000], rules=("bookkeeping",)
            )
        if not self.policy.tool_controls.enforce:
            args = call.parsed()
            return ToolDecision(
                call,
                Action.ALLOW,
                arguments=canonical_json(args) if args is not None else call.arguments_json[:2000],
            )
        if call.name not in self.allowed_tools(principal, task):
            where = f"task {task!r}" if task else f"key {principal.key_id!r}"
            return ToolDecision(
                call,
                Action.BLOCK,
                (f"tool {call.name!r} is not allowed for {where}",),
                call.arguments_json[:2000],
                rules=("allowlist",),
            )
        spec: ToolSpec = self.policy.tools[call.name]
        args, why = call.parse()
        if args is None:
            return ToolDecision(
                call,
                Action.BLOCK,
                (why,),
                call.arguments_json[:2000],
                rules=("arguments",),
            )
        canon = canonical_json(args)
        atoms = extract(args, min_chars=self.policy.taint.min_value_chars)
        blocks: list[tuple[str, str]] = []
        blocks += [("schema", r) for r in constraints.schema_violations(spec, args)]
        blocks += [("domain", r) for r in constraints.domain_violations(spec, atoms)]
        blocks += [("value", r) for r in constraints.value_violations(spec, args)]
        blocks += [("path", r) for r in constraints.path_violations(spec, args)]
        blocks += [("amount", r) for r in constraints.amount_violations(spec, args)]
        if self.policy.tool_controls.check_secrets_in_arguments:
            for m in pii.find(canon, pii.SECRET_KINDS):
                if m.value.lower() not in sources.trusted.text:
                    blocks.append(("secret", f"arguments carry a {m.kind} the user did not give"))
        spend = spec.cost + (constraints.amount_of(spec, args) or 0.0)
        blocks += [
            ("budget", r)
            for r in self.budgets.violations(
                self.budget_scopes(principal, task),
                call.name,
                spend,
                pending=[(d.call.name, d.spend) for d in earlier if d.action in (Action.ALLOW, Action.FLAG)],
            )
        ]
        if blocks:
            return ToolDecision(
                call,
                Action.BLOCK,
                tuple(r for _, r in blocks),
                canon,
                spend,
                rules=tuple(sorted({k for k, _ in blocks})),
            )

        taint_hits: list[dict[str, str]] = []
        deny_kinds: dict[str, str] = {}
        if (
            self.policy.taint.enabled
            and spec.side_effecting
            and (self.policy.taint.default_deny or spec.provenance == "trusted")
        ):
            deny_kinds = constraints.arg_kinds(spec)
            task_spec = self.policy.tasks.get(task) if task else None
            vouched = policy_trust(
                [*principal.spec.contacts, *(task_spec.contacts if task_spec else [])],
                [*principal.spec.accounts, *(task_spec.accounts if task_spec else [])],
                spec.allowed_domains,
            )
            schemes = tuple(s.lower() for s in spec.allowed_schemes)
            for u in untrusted_args(deny_kinds, args, sources.values, vouched, schemes):
                copied = bool(u.canonical) and u.canonical.casefold() in sources.untrusted.text
                taint_hits.append(
                    {"arg": u.arg, "kind": u.kind, "value": u.value,
                     "provenance": "tainted" if copied else "untrusted"}
                )  # fmt: skip
        if self.policy.taint.enabled:
            for atom in constraints.taint_scope(spec, atoms, side_effecting=spec.side_effecting):
                if top_arg(atom.arg) in deny_kinds:
                    continue  # decided above, by its canonical form
                prov = provenance(atom, sources.trusted, sources.untrusted)
                if prov == "tainted" or (prov == "unknown" and spec.provenance == "user"):
                    taint_hits.append(
                        {"arg": atom.arg, "kind": atom.kind, "value": atom.value, "provenance": prov}
                    )
        what = "side-effecting call" if spec.side_effecting else "read"
        reasons = tuple(
            f"{what}: argument {h['arg']} = {h['value']!r} "
            + (
                "comes from tool output, not from the user"
                if h["provenance"] == "tainted"
                else "comes from no trusted source (user, policy or approval)"
                if h["provenance"] == "untrusted"
                else "does not come from the user"
            )
            for h in taint_hits
        )
        action: Action = Action.ALLOW
        rules: tuple[str, ...] = ()
        if taint_hits:
            action = (
                self.policy.taint.side_effecting_action
                if spec.side_effecting
                else self.policy.taint.read_action
            )
            rules = ("taint",)
        duplicate = self.policy.tool_controls.duplicate_side_effects
        if (
            spec.side_effecting
            and duplicate is not Action.ALLOW
            and (
                (call.name, canon) in sources.previous_calls
                or any(d.call.name == call.name and d.arguments == canon for d in earlier)
            )
        ):
            reasons = (*reasons, "the same side-effecting call was already made in this conversation")
            rules = (*rules, "duplicate")
            action = max(action, duplicate, key=lambda a: a.rank)
        taint = tuple(taint_hits)
        if action is Action.ALLOW:
            return ToolDecision(call, Action.ALLOW, (), canon, spend)
        if action is not Action.REQUIRE_APPROVAL:
            return ToolDecision(call, action, reasons, canon, spend, taint, rules=rules)
        return self._approval(call, principal, request_id, reasons, canon, spend, taint, rules)

    def _approval(
        self, call: ToolCall, principal: Principal, request_id: str, reasons: tuple[str, ...], canon: str,
        spend: float, taint: tuple[dict[str, str], ...], rules: tuple[str, ...],
    ) -> ToolDecision:  # fmt: skip
        subject = {"tool": call.name, "arguments": json.loads(canon)}
        existing = self.approvals.lookup(subject_digest(principal.key_id, "tool_call", subject))
        if existing is not None and existing.status == APPROVED:
            return ToolDecision(
                call, Action.ALLOW, reasons, canon, spend, taint, existing, rules=(*rules, "approved")
            )
        if existing is not None and existing.status == DENIED:
            denied = (*reasons, f"denied by {existing.decided_by} ({existing.id})")
            return ToolDecision(
                call, Action.BLOCK, denied, canon, spend, taint, existing, rules=(*rules, "denied")
            )
        if existing is not None:
            return ToolDecision(
                call, Action.REQUIRE_APPROVAL, reasons, canon, spend, taint, existing, rules=rules
            )
        try:
            created = self.approvals.create(
                principal=principal.key_id,
                kind="tool_call",
                subject=subject,
                reason="; ".join(reasons)[:1000],
                request_id=request_id,
            )
        except Overloaded as exc:  # capped per key / per answer / in all: the call is blocked
            return ToolDecision(
                call,
                Action.BLOCK,
                (*reasons, exc.message),
                canon,
                spend,
                taint,
                rules=(*rules, "approval_cap"),
            )
        return ToolDecision(
            call,
            Action.REQUIRE_APPROVAL,
            reasons,
            canon,
            spend,
            taint,
            created,
            new_approval=True,
            rules=rules,
        )

    def commit(self, decision: ToolDecision, principal: Principal, task: str | None) -> ToolDecision:
        """The call goes to the client: charge budgets and use up its approval."""
        if decision.action is not Action.ALLOW and decision.action is not Action.FLAG:
            return decision
        if decision.approval is not None and decision.approval.status == APPROVED:
            used = self.approvals.consume(decision.approval)
            if used is None:
                return replace(
                    decision, action=Action.BLOCK, reasons=(*decision.reasons, "approval already used")
                )
            decision = replace(decision, approval=used)
        scopes = self.budget_scopes(principal, task)
        if scopes:
            over = self.budgets.reserve(scopes, decision.call.name, decision.spend)
            if over:  # another request (or an earlier call of this answer) used the budget meanwhile
                return replace(
                    decision,
                    action=Action.BLOCK,
                    reasons=(*decision.reasons, *over),
                    rules=(*decision.rules, "budget"),
                )
        return decision


__all__ = ["Sources", "ToolCall", "ToolDecision", "ToolGuard", "digest", "mark_defects", "new_call_id"]
