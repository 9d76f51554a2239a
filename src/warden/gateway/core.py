"""The gateway object: policy, backend, keys, limits, rails, tool guard, approvals and the audit log,
with its life cycle (verify weights → replay state → serve → flush on shutdown)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import os
import secrets
import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from warden.gateway.audit.log import AuditLog
from warden.gateway.backends.interface import Backend
from warden.gateway.canonical import canonical_bytes
from warden.gateway.errors import AuditError, Overloaded, PermissionDenied, PolicyError
from warden.gateway.keys import KeySlots, KeyStore, RateLimiter
from warden.gateway.metrics import Metrics
from warden.gateway.policy import Policy
from warden.gateway.rails import runner
from warden.gateway.tools.approvals import Approval, ApprovalQueue
from warden.gateway.tools.budget import Budgets
from warden.gateway.tools.guard import ToolGuard
from warden.gateway.trace import Trace, now_iso

log = logging.getLogger("warden.gateway")


class ConcurrencyLimiter:
    """At most ``limit`` requests in flight and ``queue`` waiting; beyond that, 503 at once (load shedding),
    and a waiter that waited ``timeout_s`` gets 503 too."""

    def __init__(self, limit: int, queue: int, timeout_s: float) -> None:
        self.limit, self.queue, self.timeout_s = limit, queue, timeout_s
        self._sem: asyncio.Semaphore | None = None
        self.waiting = 0
        self.in_flight = 0

    async def acquire(self) -> None:
        if self._sem is None:
            self._sem = asyncio.Semaphore(self.limit)
        if not self._sem.locked():  # a free slot: take it without wait_for's task and timer
            await self._sem.acquire()
            self.in_flight += 1
            return
        if self.waiting >= self.queue:
            raise Overloaded("the gateway is at capacity; retry shortly")
        self.waiting += 1
        try:
            await asyncio.wait_for(self._sem.acquire(), timeout=self.timeout_s)
        except (asyncio.TimeoutError, TimeoutError):
            raise Overloaded("the gateway is at capacity; retry shortly", code="queue_timeout") from None
        finally:
            self.waiting -= 1
        self.in_flight += 1

    def release(self) -> None:
        self.in_flight -= 1
        assert self._sem is not None
        self._sem.release()


def verify_weights(policy: Policy, model_dir: Path | None, verifier: Any = None) -> dict[str, Any] | None:
    """Verify the model directory against its Warden attestation when the policy requires it.

    ``verifier`` defaults to ``warden.attest.verify_attestation`` (imported lazily); any ``WardenError``
    it raises — and any missing piece — refuses the start.
    """
    from warden.errors import WardenError
    from warden.gateway.errors import AttestationRefused

    m = policy.model
    if not m.require_attestation:
        return None
    target = model_dir or m.dir
    if target is None:
        raise AttestationRefused(
            "the policy requires an attestation but names no model directory (model.dir or --model)"
        )
    if m.attestation is None or m.public_key is None:
        raise AttestationRefused(
            "the policy requires an attestation: set model.attestation and model.public_key"
        )
    if verifier is None:
        try:
            from warden.attest import verify_attestation as verifier
        except ImportError as exc:
            raise AttestationRefused(f"attestation verification is unavailable: {exc}") from None
    try:
        result = verifier(Path(target), Path(m.attestation), Path(m.public_key), policy=None)
    except WardenError as exc:
        raise AttestationRefused(
            f"model weights failed verification: {exc.diagnostics()}", path=str(target)
        ) from None
    ok = getattr(result, "ok", True)
    if ok is False:
        raise AttestationRefused(f"model weights failed verification: {result}", path=str(target))
    summary: dict[str, Any] = {"model_dir": str(target), "attestation": str(m.attestation), "verified": True}
    for attr in ("root_digest", "subject_digest", "signer", "key_id"):
        if hasattr(result, attr):
            summary[attr] = str(getattr(result, attr))
    return summary


def approval_key(policy: Policy, store: Any) -> bytes:
    """The secret that signs approval decisions: ``approvals.signing_key``, else a file next to a SQLite
    audit log (created once, mode 0600), else a per-process secret (approvals then do not survive a
    restart: fail closed)."""
    path = policy.approvals.signing_key
    if path is None and isinstance(getattr(store, "path", None), Path):
        path = store.path.with_name(store.path.name + ".approval-key")
    if path is None:
        return secrets.token_bytes(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    except OSError as exc:
        raise PolicyError(f"cannot create the approval key: {exc.strerror}", path=str(path)) from None
    else:
        with os.fdopen(fd, "wb") as fh:
            fh.write(secrets.token_bytes(32))
    try:
        key = Path(path).read_bytes()
    except OSError as exc:
        raise PolicyError(f"cannot read the approval key: {exc.strerror}", path=str(path)) from None
    if len(key) < 32:
        raise PolicyError("the approval key must hold at least 32 bytes", path=str(path))
    return key


class Gateway:
    def __init__(
        self, policy: Policy, backend: Backend, audit: AuditLog, *, attestation: dict[str, Any] | None = None
    ) -> None:
        self.policy = policy
        self.policy_digest = policy.digest
        self.backend = backend
        self.audit = audit
        self.attestation = attestation
        self.metrics = Metrics()
        self.keys = KeyStore(policy)
        self.limits = RateLimiter()
        self.key_slots = KeySlots()
        self.budgets = Budgets()
        self.approvals = ApprovalQueue.of(policy.approvals)
        self.tools = ToolGuard(policy, self.budgets, self.approvals)
        try:
            self.input_rails, self.output_rails = runner.build(policy)
        except (ValueError, TypeError) as exc:
            raise PolicyError(f"cannot build rails: {exc}") from None
        s = policy.server
        self.limiter = ConcurrencyLimiter(s.max_concurrency, s.max_queue, s.queue_timeout_s)
        self._approval_key = approval_key(policy, audit.store)
        self.started = False

    def reset_state(self) -> None:
        """Forget budgets, approvals and rate windows (scenario harnesses run many independent tasks on
        one gateway; the audit log keeps everything)."""
        self.limits = RateLimiter()
        self.budgets = Budgets()
        self.approvals = ApprovalQueue.of(self.policy.approvals)
        self.tools = ToolGuard(self.policy, self.budgets, self.approvals)

    # life cycle ---------------------------------------------------------------------------------
    async def start(self) -> None:
        await self.backend.start()
        await asyncio.to_thread(self._warm_up)
        await asyncio.to_thread(self.replay)
        await self.event("startup", {"attestation": self.attestation, "rail_config": {
            "input": [r.spec.rail_name for r in self.input_rails], "output": [r.spec.rail_name for r in self.output_rails]}})  # fmt: skip
        self.started = True

    def _warm_up(self) -> None:
        for r in [*self.input_rails, *self.output_rails]:
            r.rail.warm_up()

    async def stop(self) -> None:
        try:
            await self.event("shutdown", {})
        except AuditError as exc:
            log.error("could not record shutdown: %s", exc)
        await self.backend.aclose()
        await asyncio.to_thread(self.audit.close)

    def replay(self) -> None:
        """Rebuild approvals and budget spend from the audit log (the source of truth), after verifying
        it: a log that fails verification (an edited, deleted or reordered record) refuses the start."""
        from warden.gateway.audit.chain import verify_rows

        rows = list(self.audit.store.rows())
        result = verify_rows(r.row() for r in rows)
        if not result.ok:
            shown = "; ".join(str(p) for p in result.problems[:5])
            raise AuditError(
                f"the audit log failed verification at start ({len(result.problems)} problems): {shown}"
            )
        forged = 0
        for row in rows:
            rec = row.record()
            if rec.get("kind") == "approval":
                if not self.approvals.replay(rec, verify=self._signed) and rec.get("event") == "approved":
                    forged += 1
            elif rec.get("kind") == "request" and rec.get("principal"):
                self._replay_spend(rec)
        if forged:
            log.warning("ignored %d approved record(s) without a valid approval signature", forged)

    def _sign(self, approval: Approval) -> str:
        return hmac.new(
            self._approval_key, canonical_bytes(approval.signed_fields()), hashlib.sha256
        ).hexdigest()

    def _signed(self, approval: Approval) -> bool:
        return bool(approval.signature) and hmac.compare_digest(approval.signature, self._sign(approval))

    def _replay_spend(self, rec: dict[str, Any]) -> None:
        key = next((k for k in self.policy.keys if k.id == rec["principal"]), None)
        if key is None:
            return
        try:
            at = datetime.fromisoformat(str(rec["time"]).replace("Z", "+00:00")).timestamp()
        except (KeyError, ValueError):
            return
        if time.time() - at > 31 * 86_400:
            return
        from warden.gateway.keys import Principal

        principal = Principal(key.id, key)
        task = rec.get("task") if rec.get("task") in self.policy.tasks else None
        scopes = [s for s, _ in self.tools.budget_scopes(principal, task)]
        for call in rec.get("tool_calls") or []:
            if call.get("action") in ("allow", "flag") and scopes:
                self.budgets.charge(scopes, str(call.get("name")), float(call.get("spend") or 0.0), at=at)

    # audit ----------------------------------------------------------------------------------------
    async def event(
        self, kind: str, fields: dict[str, Any], request_id: str | None = None, principal: str | None = None
    ) -> dict[str, Any]:
        body = {"kind": kind, "time": now_iso(), "request_id": request_id, "principal": principal,
                "policy_version": self.policy.version, "policy_digest": self.policy_digest, **fields}  # fmt: skip
        return await self._append(body)

    async def _append(self, body: dict[str, Any]) -> dict[str, Any]:
        try:
            rec = await self.audit.append(body)
        except AuditError:
            self.metrics.audit_errors.inc()
            raise
        self.metrics.audit_records.labels(body.get("kind", "?")).inc()
        return rec

    async def approval_event(self, event: str, approval: Approval, request_id: str | None) -> None:
        await self.event(
            "approval",
            {"event": event, "approval": approval.to_dict()},
            request_id=request_id,
            principal=approval.principal,
        )

    async def record_request(self, trace: Trace) -> dict[str, Any]:
        """Append the request's record. Raises AuditError: the caller must then not return the response."""
        body = trace.record(
            policy_version=self.policy.version,
            policy_digest=self.policy_digest,
            store_text=self.policy.audit.store_text,
        )
        rec = await self._append(body)
        m = self.metrics
        m.requests.labels(str(trace.status), str(trace.stream).lower()).inc()
        for d in trace.fired():
            m.blocks.labels(d.rail, d.action.value).inc()
        for t in trace.tool_decisions:
            m.tool_calls.labels(t.call.name, t.action.value).inc()
            if t.action.value != "allow":
                m.blocks.labels("tool:" + ("/".join(t.rules) or "policy"), t.action.value).inc()
        return rec

    # approvals ------------------------------------------------------------------------------------
    async def decide(
        self, approval_id: str, *, approve: bool, approver: str, note: str, request_id: str
    ) -> Approval:
        pending = self.approvals.get(approval_id)
        if pending.principal == approver:  # nobody, admin included, decides on their own key's calls
            raise PermissionDenied("a key cannot decide on its own requests", code="self_approval")
        decided = self.approvals.preview_decision(approval_id, approve=approve, approver=approver, note=note)
        if approve:
            decided = replace(decided, signature=self._sign(decided))
        await self.approval_event("approved" if approve else "denied", decided, request_id)  # audit first
        self.approvals.store(decided)
        return decided
