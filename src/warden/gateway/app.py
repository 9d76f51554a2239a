"""FastAPI wiring. The only place that maps gateway errors to HTTP status codes and OpenAI-style error
bodies, and that makes sure a request's audit record is committed before its response leaves."""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, Field, ValidationError

from warden.gateway import errors as E
from warden.gateway import pipeline, strictjson
from warden.gateway.core import Gateway
from warden.gateway.openai_schema import ChatRequest
from warden.gateway.trace import Trace

log = logging.getLogger("warden.gateway")

STATUS: list[tuple[type[E.GatewayError], int, str]] = [
    (E.AuthenticationFailed, 401, "invalid_request_error"),
    (E.PermissionDenied, 403, "permission_error"),
    (E.ApprovalRequired, 403, "approval_required"),
    (E.NotFound, 404, "invalid_request_error"),
    (E.RateLimited, 429, "rate_limit_error"),
    (E.Overloaded, 503, "overloaded_error"),
    (E.RequestTimeout, 408, "invalid_request_error"),
    (E.ContentBlocked, 400, "content_blocked"),
    (E.InvalidRequest, 400, "invalid_request_error"),
    (E.UpstreamRejected, 400, "invalid_request_error"),
    (E.UpstreamError, 502, "upstream_error"),
    (E.AuditError, 500, "server_error"),
]


def status_for(exc: E.GatewayError) -> tuple[int, str]:
    if isinstance(exc, E.UpstreamError) and exc.kind == "timeout":
        return 504, "upstream_error"
    if isinstance(exc, E.UpstreamRejected):
        return (exc.status if 400 <= exc.status < 500 else 400), "invalid_request_error"
    for cls, status, type_ in STATUS:
        if isinstance(exc, cls):
            return status, type_
    return 500, "server_error"


def error_response(exc: E.GatewayError, request_id: str | None = None) -> JSONResponse:
    status, type_ = status_for(exc)
    err: dict[str, Any] = {
        "message": exc.message,
        "type": type_,
        "code": exc.code,
        "param": getattr(exc, "param", None),
    }
    if isinstance(exc, E.ApprovalRequired):
        err["approval_id"] = exc.approval_id
    headers = {"x-request-id": request_id} if request_id else {}
    if isinstance(exc, (E.RateLimited,)):
        headers["retry-after"] = str(max(1, int(exc.retry_after + 0.999)))
    if isinstance(exc, E.Overloaded):
        headers["retry-after"] = "1"
    return JSONResponse({"error": err}, status_code=status, headers=headers)


class ApprovalNote(BaseModel):
    note: str = Field("", max_length=500)


def create_app(gw: Gateway, *, manage_lifecycle: bool = True, freeze_gc: bool = False) -> FastAPI:
    """``freeze_gc`` (``warden serve``): once the gateway has started, move everything alive into the
    collector's permanent generation. The ~80,000 objects of the loaded libraries, policy, rails and
    models are never garbage, yet every full collection walked them all: a 15-30 ms pause of the event
    loop, and of every request in flight, every few thousand requests (measured in benchmarks/
    gateway_bench.py's in-process run). Not for tests, which start many gateways in one process."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if manage_lifecycle:
            await gw.start()
        if freeze_gc:
            gc.collect()
            gc.freeze()
        try:
            yield
        finally:
            if manage_lifecycle:
                await gw.stop()

    app = FastAPI(title="Warden gateway", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.gateway = gw

    @app.exception_handler(E.GatewayError)
    async def _gateway_error(request: Request, exc: E.GatewayError) -> JSONResponse:
        return error_response(exc, request.headers.get("x-request-id"))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(
            {
                "error": {
                    "message": "internal error",
                    "type": "server_error",
                    "code": "internal_error",
                    "param": None,
                }
            },
            status_code=500,
        )

    @app.get("/healthz")
    async def healthz() -> dict[str, Any]:
        return {"status": "ok" if gw.started else "starting", "model": gw.policy.model.id, "policy_version": gw.policy.version,
                "policy_digest": gw.policy_digest, "attested": bool(gw.attestation), "in_flight": gw.limiter.in_flight}  # fmt: skip

    @app.get("/metrics")
    async def metrics(request: Request) -> Response:
        if not gw.policy.server.metrics_public:
            gw.keys.authenticate(request.headers.get("authorization")).require_scope("admin")
        from prometheus_client import CONTENT_TYPE_LATEST

        gw.metrics.in_flight.set(gw.limiter.in_flight)
        return Response(gw.metrics.render(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/v1/models")
    async def models(request: Request) -> dict[str, Any]:
        principal = gw.keys.authenticate(request.headers.get("authorization"))
        principal.require_scope("chat")
        ids = [gw.policy.model.id] if principal.may_use_model(gw.policy.model.id) else []
        return {
            "object": "list",
            "data": [{"id": i, "object": "model", "created": 0, "owned_by": "warden"} for i in ids],
        }

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> Response:
        trace = Trace()
        gw.metrics.in_flight.set(gw.limiter.in_flight)
        try:
            await gw.limiter.acquire()
        except E.Overloaded as exc:
            gw.metrics.rejected.labels("overloaded").inc()
            trace.status, trace.error = 503, exc.code
            await gw.record_request(trace)
            return error_response(exc, trace.request_id)
        released = False
        key_slot: str | None = None
        try:
            try:
                principal = gw.keys.authenticate(request.headers.get("authorization"))
                trace.principal = principal.key_id
                gw.key_slots.acquire(principal)  # per-key cap, before the (maybe slow) body is read
                key_slot = principal.key_id
                req = await _parse(request, gw.policy.server.max_body_bytes, gw.policy.server.body_timeout_s)
                prep = await pipeline.prepare(gw, principal, req, trace, request.headers.get("x-warden-task"))
                if req.stream:
                    gen = pipeline.stream(gw, prep, trace)
                    first = await gen.__anext__()  # errors before the first byte are HTTP errors
                    released = True
                    return _Stream(gw, trace, _prepend(first, gen), key_slot, media_type="text/event-stream",
                                   headers={"x-request-id": trace.request_id, "cache-control": "no-cache"})  # fmt: skip
                result = await pipeline.complete(gw, prep, trace)
            except E.GatewayError as exc:
                trace.status, trace.error = status_for(exc)[0], exc.code
                await gw.record_request(trace)  # raises AuditError → 500, response withheld
                return error_response(exc, trace.request_id)
            except Exception:  # noqa: BLE001 - a bug must still leave a record and a clean 500
                log.exception("unexpected error in request %s", trace.request_id)
                trace.status, trace.error = 500, "internal_error"
                await gw.record_request(trace)
                return error_response(
                    E.GatewayError("internal error", code="internal_error"), trace.request_id
                )
            trace.status = 200
            await gw.record_request(trace)
            _observe(gw, trace, stream=False)
            return JSONResponse(result, headers={"x-request-id": trace.request_id})
        finally:
            if not released:
                gw.limiter.release()
                if key_slot is not None:
                    gw.key_slots.release(key_slot)
                _drop_reservation(gw, trace)

    @app.get("/v1/approvals")
    async def list_approvals(request: Request, status: str | None = None) -> dict[str, Any]:
        approver = gw.keys.authenticate(request.headers.get("authorization"))
        approver.require_scope("approvals")
        return {"object": "list", "data": [a.to_dict() for a in gw.approvals.list(status)]}

    @app.get("/v1/approvals/{approval_id}")
    async def get_approval(request: Request, approval_id: str) -> dict[str, Any]:
        approver = gw.keys.authenticate(request.headers.get("authorization"))
        approver.require_scope("approvals")
        return gw.approvals.get(approval_id).to_dict()

    async def _decide(request: Request, approval_id: str, approve: bool) -> dict[str, Any]:
        approver = gw.keys.authenticate(request.headers.get("authorization"))
        approver.require_scope("approvals")
        raw = await request.body()
        try:
            note = ApprovalNote.model_validate_json(raw).note if raw.strip() else ""
        except ValidationError:
            raise E.InvalidRequest('body must be {"note": "..."}') from None
        decided = await gw.decide(
            approval_id, approve=approve, approver=approver.key_id, note=note, request_id=Trace().request_id
        )
        return {"approval": decided.to_dict(), "receipt": decided.receipt()}

    @app.post("/v1/approvals/{approval_id}/approve")
    async def approve(request: Request, approval_id: str) -> dict[str, Any]:
        return await _decide(request, approval_id, True)

    @app.post("/v1/approvals/{approval_id}/deny")
    async def deny(request: Request, approval_id: str) -> dict[str, Any]:
        return await _decide(request, approval_id, False)

    return app


async def _parse(request: Request, limit: int, deadline_s: float) -> ChatRequest:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise E.InvalidRequest(f"request body larger than {limit} bytes", code="body_too_large")
    chunks, size = [], 0
    try:
        with anyio.fail_after(deadline_s):  # a slow body holds a slot: bounded, like the headers
            async for part in request.stream():
                size += len(part)
                if size > limit:
                    raise E.InvalidRequest(f"request body larger than {limit} bytes", code="body_too_large")
                chunks.append(part)
    except TimeoutError:
        raise E.RequestTimeout(f"request body not received within {deadline_s:g} s") from None
    try:
        data = strictjson.loads(b"".join(chunks), duplicate_keys=True)
    except strictjson.StrictJSONError as exc:
        raise E.InvalidRequest(f"request body is not valid JSON: {exc}", code="invalid_json") from None
    except (ValueError, RecursionError):
        raise E.InvalidRequest("request body is not valid JSON", code="invalid_json") from None
    try:
        return ChatRequest.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise E.InvalidRequest(
            f"invalid request: {where}: {err['msg']}", code="invalid_request", param=where
        ) from None


async def _prepend(first: str, gen: AsyncIterator[str]) -> AsyncIterator[str]:
    yield first
    async for event in gen:
        yield event


class _Stream(StreamingResponse):
    """Releases the concurrency slot however the stream ends, and records a request whose client left
    before the body started (the generator's own ``finally`` never runs then)."""

    def __init__(
        self, gw: Gateway, trace: Trace, content: AsyncIterator[str], key_slot: str | None, **kw: Any
    ) -> None:
        super().__init__(content, **kw)
        self._gw, self._trace, self._key_slot = gw, trace, key_slot

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            gw, trace = self._gw, self._trace
            gw.limiter.release()
            if self._key_slot is not None:
                gw.key_slots.release(self._key_slot)
            _drop_reservation(gw, trace)
            _observe(gw, trace, stream=True)
            if trace.status is None:
                trace.status, trace.error = 499, "client_disconnected"
                try:
                    gw.audit.submit(
                        trace.record(
                            policy_version=gw.policy.version, policy_digest=gw.policy_digest, store_text=False
                        )
                    )
                except E.AuditError:
                    log.error("could not record request %s", trace.request_id)


def _drop_reservation(gw: Gateway, trace: Trace) -> None:
    """A request that ended before it was charged (an error) releases its token reservation."""
    if trace.token_reservation is not None and trace.principal is not None:
        principal = next((k for k in gw.policy.keys if k.id == trace.principal), None)
        if principal is not None:
            from warden.gateway.keys import Principal

            gw.limits.settle_tokens(Principal(principal.id, principal), trace.token_reservation, None)
        trace.token_reservation = None


def _observe(gw: Gateway, trace: Trace, *, stream: bool) -> None:
    total = time.perf_counter() - trace.started
    gw.metrics.latency.labels(str(stream).lower()).observe(total)
    gw.metrics.overhead.observe(max(0.0, total - trace.upstream_seconds))
