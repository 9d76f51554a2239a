"""One chat request end to end, LiteLLM-style hooks: *pre-call* input rails gate the upstream call,
*during-call* input rails do not hold it back (slow ones run concurrently with it), *post-call* output
rails and tool controls run on the answer before anything reaches the client."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

from warden.gateway import strictjson
from warden.gateway.canonical import canonical_json, digest
from warden.gateway.core import Gateway
from warden.gateway.errors import ApprovalRequired, ContentBlocked, InvalidRequest, NotFound, PermissionDenied
from warden.gateway.keys import Principal
from warden.gateway.openai_schema import ChatRequest
from warden.gateway.policy import Policy
from warden.gateway.rails import runner
from warden.gateway.rails.interface import Action, Decision, Message, RailContext, Span
from warden.gateway.tools.approvals import APPROVED, DENIED
from warden.gateway.tools.guard import Sources, ToolCall, ToolDecision, mark_defects, new_call_id
from warden.gateway.trace import Trace

NOTICE = "[warden]"


@dataclass
class Prepared:
    principal: Principal
    task: str | None
    body: dict[str, Any]  # what goes upstream (redacted messages, allowed tools)
    ctx: RailContext
    request: ChatRequest
    policy: Policy

    @cached_property
    def sources(self) -> Sources:
        """Trusted vs untrusted text, built only when the model actually calls a tool."""
        return Sources.of(self.ctx.messages, self.policy, _previous_calls(self.request))

    @cached_property
    def history_ids(self) -> frozenset[str]:
        """Tool-call ids already used in the conversation: a new call may not reuse one."""
        return frozenset(c.id for m in self.request.messages for c in m.tool_calls or [])


def _messages(req: ChatRequest) -> tuple[Message, ...]:
    names: dict[str, str] = {}
    out = []
    for i, m in enumerate(req.messages):
        text = m.text()
        if m.tool_calls:
            for c in m.tool_calls:
                names[c.id] = c.function.name
            text = "\n".join([text, *(f"{c.function.name}({c.function.arguments})" for c in m.tool_calls)])
        name = names.get(m.tool_call_id or "") if m.role == "tool" else None
        out.append(Message(index=i, role=m.role, text=text, name=name or m.name))
    return tuple(out)


def _previous_calls(req: ChatRequest) -> frozenset[tuple[str, str]]:
    out = set()
    for m in req.messages:
        for c in m.tool_calls or []:
            try:
                args = strictjson.loads(c.function.arguments or "{}")
            except ValueError:
                continue
            out.add((c.function.name, canonical_json(args)))
    return frozenset(out)


def _check_history(req: ChatRequest) -> None:
    """Tool results are attributed to their call by id (a trusted tool's output is trusted): an id used by
    two calls, or answered twice, would let one tool's output pass for another's. Refused, as are
    earlier call arguments that are not strict JSON (duplicate keys, NaN, Infinity, 1e309)."""
    calls: set[str] = set()
    answered: set[str] = set()
    for i, m in enumerate(req.messages):
        for c in m.tool_calls or []:
            if c.id in calls:
                raise InvalidRequest(
                    f"messages[{i}]: tool call id {c.id[:64]!r} is used by more than one call",
                    code="duplicate_tool_call_id",
                    param=f"messages.{i}.tool_calls",
                )
            calls.add(c.id)
            try:
                strictjson.loads(c.function.arguments or "{}")
            except strictjson.StrictJSONError as exc:
                raise InvalidRequest(
                    f"messages[{i}]: arguments of tool call {c.id[:64]!r}: {exc}",
                    code="invalid_tool_arguments",
                    param=f"messages.{i}.tool_calls",
                ) from None
            except (ValueError, RecursionError):
                pass  # not JSON at all: never counted as an earlier call
        if m.role == "tool" and m.tool_call_id is not None:
            if m.tool_call_id in answered:
                raise InvalidRequest(
                    f"messages[{i}]: tool call {m.tool_call_id[:64]!r} is answered more than once",
                    code="duplicate_tool_call_id",
                    param=f"messages.{i}.tool_call_id",
                )
            answered.add(m.tool_call_id)


def _resolve_task(gw: Gateway, principal: Principal, header: str | None) -> str | None:
    spec = principal.spec
    task = header or spec.default_task
    if task is None:
        return None
    if task not in gw.policy.tasks:
        raise InvalidRequest(f"unknown task {task!r}", code="unknown_task")
    if header and task not in spec.tasks and task != spec.default_task:  # a key without tasks has none
        raise PermissionDenied(f"key {principal.key_id!r} may not run task {task!r}", code="task_not_allowed")
    return task


async def prepare(
    gw: Gateway, principal: Principal, req: ChatRequest, trace: Trace, task_header: str | None
) -> Prepared:
    policy = gw.policy
    trace.principal, trace.stream = principal.key_id, req.stream
    principal.require_scope("chat")
    gw.limits.check_request(principal)
    gw.limits.check_tokens(principal)
    trace.model = req.model
    if req.model != policy.model.id:
        raise NotFound(
            f"model {req.model!r} does not exist (served: {policy.model.id!r})", code="model_not_found"
        )
    if not principal.may_use_model(req.model):
        raise PermissionDenied(
            f"key {principal.key_id!r} may not use model {req.model!r}", code="model_not_allowed"
        )
    if len(req.messages) > policy.server.max_messages:
        raise InvalidRequest(f"more than {policy.server.max_messages} messages", code="too_many_messages")
    task = _resolve_task(gw, principal, task_header)
    trace.task = task
    _check_history(req)
    messages = _messages(req)

    tools = req.tools or []
    if tools:
        principal.require_scope("tools")
    if tools and policy.tool_controls.enforce:
        allowed = gw.tools.allowed_tools(principal, task)
        kept = [t for t in tools if t.function.name in allowed]
        removed = sorted({t.function.name for t in tools} - allowed)
        if removed:
            trace.decisions.append(
                Decision(
                    "tool_allowlist",
                    "input",
                    Action.FLAG,
                    True,
                    "tools not allowed were not offered to the model: " + ", ".join(removed),
                )
            )
        tools = kept

    trace.prompt_digest = digest([[m.role, m.text] for m in messages])
    if policy.audit.store_text:
        trace.prompt_text = messages[-1].text[:20_000]
    ctx = RailContext(messages=messages)
    pre = [r for r in gw.input_rails if r.spec.mode == "pre"]
    decisions = await runner.run_input(pre, ctx)
    trace.decisions.extend(decisions)
    await _enforce_input(gw, principal, decisions, trace)
    labels = frozenset(lab for d in decisions if d.fired for lab in d.labels)
    ctx = replace(ctx, input_labels=labels)

    body = req.model_dump(exclude_none=True, exclude={"messages", "tools"})
    body["model"] = policy.model.upstream_model or policy.model.id
    body["messages"] = _redacted_messages(
        req, [s for d in decisions if d.action is Action.REDACT for s in d.spans]
    )
    if tools:
        body["tools"] = [t.model_dump(exclude_none=True) for t in tools]
    else:
        body.pop("tool_choice", None)
    body["stream"] = req.stream
    # last step of prepare: anything that raises after it would leave the reservation open
    trace.token_reservation = gw.limits.reserve_tokens(principal, estimate_tokens(req, messages))
    return Prepared(principal, task, body, ctx, req, policy)


async def _enforce_input(gw: Gateway, principal: Principal, decisions: list[Decision], trace: Trace) -> None:
    blocking = [d for d in decisions if d.action is Action.BLOCK]
    if blocking:
        raise ContentBlocked(
            "request blocked by policy: " + "; ".join(f"{d.rail}: {d.reason}" for d in blocking),
            decisions=tuple(blocking),
        )
    waiting = [d for d in decisions if d.action is Action.REQUIRE_APPROVAL]
    if not waiting:
        return
    subject = {"prompt_digest": trace.prompt_digest}
    from warden.gateway.tools.approvals import subject_digest

    existing = gw.approvals.lookup(subject_digest(principal.key_id, "prompt", subject))
    if existing is not None and existing.status == APPROVED:
        used = gw.approvals.consume(existing)
        if used is not None:
            trace.approval = used.receipt()
            await gw.approval_event("consumed", used, trace.request_id)
            return
    if existing is not None and existing.status == DENIED:
        raise ContentBlocked(
            f"request denied by {existing.decided_by} ({existing.id})",
            decisions=tuple(waiting),
            code="approval_denied",
        )
    reason = "; ".join(f"{d.rail}: {d.reason}" for d in waiting)
    approval = existing or gw.approvals.create(
        principal=principal.key_id, kind="prompt", subject=subject, reason=reason, request_id=trace.request_id
    )
    if existing is None:
        await gw.approval_event("created", approval, trace.request_id)
    trace.approval = approval.receipt()
    raise ApprovalRequired(
        f"request awaits human approval {approval.id} ({reason}); retry after it is approved",
        approval_id=approval.id,
    )


def _redacted_messages(req: ChatRequest, spans: list[Span]) -> list[dict[str, Any]]:
    out = []
    for i, m in enumerate(req.messages):
        d = m.model_dump(exclude_none=True)
        mine = [s for s in spans if s.message == i]
        if mine:
            d["content"] = runner.redact(m.text(), mine)
        out.append(d)
    return out


async def _during(gw: Gateway, prep: Prepared, trace: Trace) -> None:
    during = [r for r in gw.input_rails if r.spec.mode == "during"]
    if not during:
        return
    decisions = await runner.run_input(during, prep.ctx)
    trace.decisions.extend(decisions)
    await _enforce_input(gw, prep.principal, decisions, trace)


async def start_during(gw: Gateway, prep: Prepared, trace: Trace) -> asyncio.Task[None] | None:
    """Start the "during" input rails; the task to await before the answer goes out, or None.

    A task per step costs more than a regex rail: when every during rail is a cheap check they run
    inline, right here, before the call (a stricter order than "during": a block means the model is not
    even asked); otherwise (classifiers, remote guards) they overlap the upstream call in a task."""
    rails = [r for r in gw.input_rails if r.spec.mode == "during"]
    if not rails:
        return None
    if all(r.rail.inline("input", "") for r in rails):
        await _during(gw, prep, trace)
        return None
    return asyncio.create_task(_during(gw, prep, trace))


async def _upstream(gw: Gateway, body: dict[str, Any], trace: Trace) -> dict[str, Any]:
    t0 = time.perf_counter()
    try:
        return await gw.backend.complete(body)
    except Exception as exc:
        kind = getattr(exc, "kind", None)
        if kind:
            gw.metrics.upstream_errors.labels(kind).inc()
        raise
    finally:
        dt = time.perf_counter() - t0
        trace.upstream_seconds += dt
        gw.metrics.upstream_latency.observe(dt)


def _calls(message: dict[str, Any]) -> list[ToolCall]:
    """The answer's calls, one ToolCall per call object, in order. A call without an id gets a fresh one
    from the gateway (never ``call_<i>``, which the model could have used for another call)."""
    out = []
    raw = message.get("tool_calls") or []
    for c in raw if isinstance(raw, list) else []:
        if not isinstance(c, dict):
            out.append(ToolCall(new_call_id(), "", "", defect="a tool call that is not an object"))
            continue
        fn: dict[str, Any] = c["function"] if isinstance(c.get("function"), dict) else {}
        args = fn.get("arguments", "")
        if not isinstance(args, str):
            try:
                args = canonical_json(args)
            except (TypeError, ValueError):
                args = ""
        cid = c.get("id")
        out.append(
            ToolCall(
                str(cid) if isinstance(cid, str) and cid else new_call_id(), str(fn.get("name", "")), args
            )
        )
    return out


def _add_usage(trace: Trace, usage: Any) -> None:
    if isinstance(usage, dict):
        for k in ("prompt_tokens", "completion_tokens", "total_tokens"):
            if isinstance(usage.get(k), int):
                trace.usage[k] = trace.usage.get(k, 0) + usage[k]


def estimate_tokens(req: ChatRequest, messages: tuple[Message, ...]) -> int:
    """What a request may cost, reserved before the call: the prompt (~4 characters a token) plus the
    answer's ``max_tokens`` (``DEFAULT_ANSWER_TOKENS`` when the client sets none)."""
    prompt = sum(len(m.text) for m in messages) // 4 + 1
    return prompt + (req.max_tokens or DEFAULT_ANSWER_TOKENS)


DEFAULT_ANSWER_TOKENS = 256


def charge_tokens(gw: Gateway, prep: Prepared, trace: Trace, response_chars: int) -> None:
    """Settle the request's token reservation with what it used (the upstream's usage, else ~4 chars a
    token of prompt and of everything the upstream produced, streamed to the client or not). Once."""
    if trace.tokens_charged:
        return
    trace.tokens_charged = True
    used = trace.usage.get("total_tokens")
    if used is None:
        prompt_chars = sum(len(m.text) for m in prep.ctx.messages)
        used = (prompt_chars + response_chars) // 4 + 1
        trace.usage["estimated_tokens"] = used
    gw.limits.settle_tokens(prep.principal, trace.token_reservation, used)
    trace.token_reservation = None


def _notice(d: ToolDecision) -> str:
    if d.action is Action.REQUIRE_APPROVAL and d.approval is not None:
        return f"{NOTICE} tool call {d.call.name} awaits human approval {d.approval.id}: {'; '.join(d.reasons)}. Retry after it is approved."
    return f"{NOTICE} tool call {d.call.name} blocked: {'; '.join(d.reasons)}"


def decide_tools(gw: Gateway, prep: Prepared, calls: list[ToolCall], trace: Trace) -> list[ToolDecision]:
    """One decision per call object, in order (the caller emits ``d.wire()`` of the allowed ones)."""
    calls = mark_defects(calls, prep.history_ids) if calls else calls
    out: list[ToolDecision] = []
    for c in calls:
        out.append(
            gw.tools.check(
                c,
                principal=prep.principal,
                task=prep.task,
                sources=prep.sources,
                request_id=trace.request_id,
                earlier=out,
            )
        )
    return out


async def commit_tools(
    gw: Gateway, prep: Prepared, decisions: list[ToolDecision], trace: Trace
) -> list[ToolDecision]:
    """Charge budgets / consume approvals for calls that go out; write approval events."""
    final = []
    for d in decisions:
        d2 = gw.tools.commit(d, prep.principal, prep.task)
        if d2.new_approval and d2.approval is not None:
            await gw.approval_event("created", d2.approval, trace.request_id)
        if d2.approval is not None and d2.approval.status == "consumed":
            await gw.approval_event("consumed", d2.approval, trace.request_id)
        final.append(d2)
    return final


async def complete(gw: Gateway, prep: Prepared, trace: Trace) -> dict[str, Any]:
    body = dict(prep.body)
    during = await start_during(gw, prep, trace)
    rounds = 0
    while True:
        if during is not None:
            upstream = asyncio.create_task(_upstream(gw, body, trace))
            try:
                await during
            except BaseException:
                upstream.cancel()
                raise
            during = None
            resp = await upstream
        else:
            resp = await _upstream(gw, body, trace)
        _add_usage(trace, resp.get("usage"))
        choice = resp["choices"][0] if isinstance(resp["choices"][0], dict) else {}
        message = choice.get("message") or {}
        content: str = message["content"] if isinstance(message.get("content"), str) else ""
        calls = _calls(message)
        out_task = (
            asyncio.create_task(runner.run_output(gw.output_rails, content, prep.ctx))
            if content and not all(r.rail.inline("output", content) for r in gw.output_rails)
            else None
        )
        tool_decisions = decide_tools(gw, prep, calls, trace)
        if out_task is not None:
            out_decisions = await out_task
        else:  # only cheap rails: they run inline, no task
            out_decisions = await runner.run_output(gw.output_rails, content, prep.ctx) if content else []
        trace.decisions.extend(out_decisions)
        feedback = (
            gw.policy.tool_controls.feedback_to_model and rounds < gw.policy.tool_controls.max_feedback_rounds
        )
        if calls and feedback and all(d.action is Action.BLOCK for d in tool_decisions):
            # Nothing can go to the client: tell the model which calls were blocked and let it go on.
            trace.tool_decisions.extend(tool_decisions)
            rounds += 1
            trace.feedback_rounds = rounds
            body = dict(body)
            body["messages"] = [
                *body["messages"],
                {
                    "role": "assistant",
                    "content": content or None,
                    "tool_calls": [d.wire() for d in tool_decisions],
                },
            ] + [
                {
                    "role": "tool",
                    "tool_call_id": d.call.id,
                    "content": json.dumps({"error": "blocked by Warden policy", "reasons": list(d.reasons)}),
                }
                for d in tool_decisions
            ]
            continue
        break
    if any(d.action is Action.BLOCK for d in out_decisions):  # the whole answer is withheld
        tool_decisions = [
            replace(d, action=Action.BLOCK, reasons=(*d.reasons, "response withheld"))
            if d.action in (Action.ALLOW, Action.FLAG)
            else d
            for d in tool_decisions
        ]
    tool_decisions = await commit_tools(gw, prep, tool_decisions, trace)
    trace.tool_decisions.extend(tool_decisions)
    charge_tokens(gw, prep, trace, len(content or ""))
    return _assemble(gw, resp, message, content, out_decisions, tool_decisions, trace)


def _assemble(gw: Gateway, resp: dict[str, Any], message: dict[str, Any], content: str, out_decisions: list[Decision],
              tool_decisions: list[ToolDecision], trace: Trace) -> dict[str, Any]:  # fmt: skip
    finish = (resp["choices"][0] or {}).get("finish_reason") or "stop"
    blocked_out = [d for d in out_decisions if d.action is Action.BLOCK]
    notices: list[str] = []
    allowed_calls: list[dict[str, Any]] = []
    if blocked_out:
        text: str | None = f"{NOTICE} response withheld by policy: " + "; ".join(
            f"{d.rail}: {d.reason}" for d in blocked_out
        )
        finish = "content_filter"
    else:
        spans = [s for d in out_decisions if d.action is Action.REDACT for s in d.spans]
        text = runner.redact(content, spans) if spans else content
        for d in tool_decisions:  # per decided call object, never looked up by a model-chosen id
            if d.action in (Action.ALLOW, Action.FLAG):
                allowed_calls.append(d.wire())
            else:
                notices.append(_notice(d))
        if tool_decisions and not allowed_calls:
            finish = "stop"
    if notices:
        text = "\n".join([t for t in [text, *notices] if t])
    out_message: dict[str, Any] = {"role": "assistant", "content": text or (None if allowed_calls else "")}
    if allowed_calls:
        out_message["tool_calls"] = allowed_calls
        finish = "tool_calls"
    trace.response_digest = digest({"content": out_message["content"], "tool_calls": allowed_calls})
    if gw.policy.audit.store_text:
        trace.response_text = (out_message["content"] or "")[:20_000]
    result = {
        "id": resp.get("id") or "chatcmpl-" + trace.request_id, "object": "chat.completion",
        "created": resp.get("created") or int(time.time()), "model": gw.policy.model.id,
        "choices": [{"index": 0, "message": out_message, "finish_reason": finish}],
        "warden": warden_info(trace),
    }  # fmt: skip
    if trace.usage:
        result["usage"] = dict(trace.usage)
    return result


def warden_info(trace: Trace) -> dict[str, Any]:
    return {
        "request_id": trace.request_id,
        "rails": [d.to_record() for d in trace.fired()],
        "tool_calls": [
            {
                "name": d.call.name,
                "action": d.action.value,
                "reasons": list(d.reasons),
                **({"approval_id": d.approval.id} if d.approval else {}),
            }
            for d in trace.tool_decisions
        ],  # fmt: skip
        "approvals": sorted(
            {
                d.approval.id
                for d in trace.tool_decisions
                if d.approval and d.action is Action.REQUIRE_APPROVAL
            }
        ),
    }


async def stream(gw: Gateway, prep: Prepared, trace: Trace) -> AsyncIterator[str]:
    from warden.gateway.stream_pipeline import stream_chat

    async for event in stream_chat(gw, prep, trace):
        yield event
