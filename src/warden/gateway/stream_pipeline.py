"""Streaming (SSE) chat: the upstream stream passes through the hold-back buffer and the output rails; a
block ends the stream with an OpenAI-style error event and ``[DONE]``. Failures before the first byte
raise (the route turns them into HTTP errors); later ones become error events. A ``request_started``
record is committed before the first byte, the request record before ``[DONE]`` — and also, shielded
from cancellation, when the client goes away."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import anyio

from warden.gateway.canonical import digest
from warden.gateway.core import Gateway
from warden.gateway.errors import AuditError, GatewayError, UpstreamError
from warden.gateway.pipeline import (
    NOTICE,
    Prepared,
    _add_usage,
    _notice,
    charge_tokens,
    commit_tools,
    decide_tools,
    start_during,
    warden_info,
)
from warden.gateway.rails import runner
from warden.gateway.rails.interface import Action, Decision
from warden.gateway.streaming import AlreadySent, HoldBack
from warden.gateway.tools.guard import ToolCall, new_call_id
from warden.gateway.trace import Trace


def sse(obj: Any) -> str:
    return f"data: {json.dumps(obj, separators=(',', ':'))}\n\n"


DONE = "data: [DONE]\n\n"


class _Blocked(Exception):
    def __init__(self, decisions: list[Decision]) -> None:
        super().__init__("blocked")
        self.decisions = decisions


def error_event(message: str, type_: str, code: str) -> str:
    return sse({"error": {"message": message, "type": type_, "code": code, "param": None}})


async def stream_chat(gw: Gateway, prep: Prepared, trace: Trace) -> AsyncIterator[str]:
    during = await start_during(gw, prep, trace)
    it = gw.backend.stream(prep.body).__aiter__()
    t0 = time.perf_counter()
    try:
        try:
            first = await it.__anext__()
        except StopAsyncIteration:
            raise UpstreamError("the model backend's stream was empty", kind="stream") from None
        if during is not None:
            await during  # a during-call rail that blocks still gets a proper HTTP error
        # Before the first byte: a stream the process never finishes (kill -9) still left a record,
        # which the request record completes (same request_id).
        await gw.event("request_started", {"task": prep.task, "model": trace.model, "stream": True,
                       "prompt_digest": trace.prompt_digest}, request_id=trace.request_id, principal=trace.principal)  # fmt: skip
    except BaseException as exc:
        if during is not None:
            during.cancel()
        if isinstance(exc, UpstreamError):
            gw.metrics.upstream_errors.labels(exc.kind).inc()
        with anyio.CancelScope(shield=True):
            await _aclose(it)
        raise
    async for event in _relay(gw, prep, trace, it, first, t0):
        yield event


async def _relay(
    gw: Gateway, prep: Prepared, trace: Trace, it: Any, first: dict[str, Any], t0: float
) -> AsyncIterator[str]:
    s = gw.policy.server
    hold_fences = any(r.spec.type == "insecure_code" for r in gw.output_rails)
    hb = HoldBack(
        holdback=s.stream_holdback_chars, check_every=s.stream_check_every_chars, hold_fences=hold_fences
    )
    meta = {
        "id": first.get("id") or "chatcmpl-" + trace.request_id,
        "created": first.get("created") or int(time.time()),
    }
    acc: dict[int, dict[str, Any]] = {}
    finish: str | None = None
    latest: list[Decision] = []
    recorded = False

    def chunk(delta: dict[str, Any], finish_reason: str | None = None, **extra: Any) -> str:
        return sse({"id": meta["id"], "object": "chat.completion.chunk", "created": meta["created"], "model": gw.policy.model.id,
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}], **extra})  # fmt: skip

    async def check() -> None:
        nonlocal latest
        latest = await runner.run_output(gw.output_rails, hb.text, prep.ctx) if hb.text else []
        blocked = [d for d in latest if d.action is Action.BLOCK]
        if blocked:
            raise _Blocked(blocked)
        hb.checked_now([sp for d in latest if d.action is Action.REDACT for sp in d.spans])

    async def finish_record(status: int, error: str | None) -> None:
        nonlocal recorded
        charge_tokens(gw, prep, trace, len(hb.text))  # once; an abandoned stream pays what was generated
        trace.status, trace.error = status, error
        trace.decisions.extend(latest)
        trace.upstream_seconds = time.perf_counter() - t0
        trace.response_digest = digest(
            {
                "content": hb.text[: hb.sent],
                "tool_calls": [
                    d.call.name for d in trace.tool_decisions if d.action in (Action.ALLOW, Action.FLAG)
                ],
            }
        )
        recorded = True
        await gw.record_request(trace)

    try:
        yield chunk({"role": "assistant", "content": ""})
        item: dict[str, Any] | None = first
        while item is not None:
            _add_usage(trace, item.get("usage"))
            choices = item.get("choices") or []
            choice = choices[0] if choices and isinstance(choices[0], dict) else {}
            delta = choice.get("delta") or {}
            if isinstance(delta.get("content"), str):
                hb.add(delta["content"])
            tcs = delta.get("tool_calls") or []
            for tc in tcs if isinstance(tcs, list) else []:
                _accumulate(acc, tc)
            finish = choice.get("finish_reason") or finish
            if hb.due():
                await check()
                piece = hb.release()
                if piece:
                    yield chunk({"content": piece})
            try:
                item = await it.__anext__()
            except StopAsyncIteration:
                item = None
        await check()
        piece = hb.release(final=True)
        if piece:
            yield chunk({"content": piece})
        calls = [_slot_call(v) for _, v in sorted(acc.items())]
        decisions = await commit_tools(gw, prep, decide_tools(gw, prep, calls, trace), trace)
        trace.tool_decisions.extend(decisions)
        allowed = [d for d in decisions if d.action in (Action.ALLOW, Action.FLAG)]
        notices = [_notice(d) for d in decisions if d.action not in (Action.ALLOW, Action.FLAG)]
        if notices:
            yield chunk({"content": ("\n" if hb.text else "") + "\n".join(notices)})
        if allowed:  # per decided call object, built from the decision (d.wire()), never from the stream
            yield chunk({"tool_calls": [{"index": i, **d.wire()} for i, d in enumerate(allowed)]})
        final_reason = "tool_calls" if allowed else ("stop" if calls else finish or "stop")
        charge_tokens(gw, prep, trace, len(hb.text))
        await finish_record(200, None)
        usage = {"usage": dict(trace.usage)} if trace.usage else {}
        yield chunk({}, final_reason, warden=warden_info(trace), **usage)
        yield DONE
    except (_Blocked, AlreadySent) as exc:
        fired = exc.decisions if isinstance(exc, _Blocked) else []
        reason = (
            "; ".join(f"{d.rail}: {d.reason}" for d in fired) or f"redaction of text already sent ({exc})"
        )
        await finish_record(200, "content_blocked")
        yield error_event(
            f"{NOTICE} response stopped by policy: {reason}", "content_blocked", "content_blocked"
        )
        yield DONE
    except (UpstreamError, GatewayError) as exc:
        if isinstance(exc, UpstreamError):
            gw.metrics.upstream_errors.labels(exc.kind).inc()
        if isinstance(exc, AuditError):
            yield error_event(
                "the audit log is unavailable; the response was not completed", "server_error", exc.code
            )
            return
        await finish_record(502, exc.code)
        yield error_event(
            exc.message, "upstream_error" if isinstance(exc, UpstreamError) else "server_error", exc.code
        )
        yield DONE
    finally:
        with anyio.CancelScope(shield=True):
            if not recorded:  # the client went away (or something unexpected): the record still lands
                try:
                    await finish_record(499, "client_disconnected")
                except AuditError:
                    pass
            await _aclose(it)


MAX_CALL_SLOTS = 256


def _accumulate(acc: dict[int, dict[str, Any]], tc: Any) -> None:
    """Merge one streamed tool-call delta into its slot (OpenAI: the id and name come with a call's first
    delta, the arguments in pieces). A delta that names a *different* id for a slot already open is not
    merged silently: the slot is marked, and its call is blocked as it is."""
    if not isinstance(tc, dict):
        return
    index = tc.get("index", 0)
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < MAX_CALL_SLOTS:
        index = -1 - len(acc)  # a slot of its own, blocked
        acc[index] = {
            "id": None,
            "name": "",
            "arguments": "",
            "defect": "a streamed tool call without a valid index",
        }
        return
    slot = acc.setdefault(index, {"id": None, "name": "", "arguments": "", "defect": ""})
    cid = tc.get("id")
    if isinstance(cid, str) and cid:
        if slot["id"] is not None and slot["id"] != cid and not slot["defect"]:
            slot["defect"] = (
                f"stream changed the id of tool call {index} from {slot['id'][:64]!r} to {cid[:64]!r}"
            )
        slot["id"] = slot["id"] or cid
    fn: dict[str, Any] = tc["function"] if isinstance(tc.get("function"), dict) else {}
    name, args = fn.get("name"), fn.get("arguments")
    slot["name"] += name if isinstance(name, str) else ""
    slot["arguments"] += args if isinstance(args, str) else ""
    if len(slot["arguments"]) > 1_000_000 and not slot["defect"]:
        slot["defect"], slot["arguments"] = "streamed tool call arguments too long", ""


def _slot_call(v: dict[str, Any]) -> ToolCall:
    return ToolCall(v["id"] or new_call_id(), v["name"], v["arguments"], defect=v["defect"])


async def _aclose(it: Any) -> None:
    close = getattr(it, "aclose", None)
    if close is not None:
        try:
            await close()
        except Exception:  # noqa: BLE001, S110 - a broken upstream stream may fail again on close
            pass
