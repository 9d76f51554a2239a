"""The human-approval queue.

An approval binds to a *subject*: the principal, the tool and the canonical arguments (or, for an input
rail, the prompt digest). A pending request shows up in ``GET /v1/approvals``; an approver decides; when
the agent retries the same call, an approved, unexpired, unconsumed approval lets it through once and its
receipt goes into that request's audit record. Every event is an audit record too, and the queue is
rebuilt from those records at start.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, replace
from typing import Any

from warden.gateway.canonical import digest
from warden.gateway.errors import InvalidRequest, NotFound, Overloaded

PENDING, APPROVED, DENIED, CONSUMED, EXPIRED = "pending", "approved", "denied", "consumed", "expired"


def subject_digest(principal: str, kind: str, subject: dict[str, Any]) -> str:
    return digest({"principal": principal, "kind": kind, "subject": subject})


@dataclass(frozen=True)
class Approval:
    id: str
    principal: str
    kind: str  # tool_call | prompt
    subject: dict[str, Any]  # {"tool", "arguments"} or {"prompt_digest"}
    subject_digest: str
    reason: str
    request_id: str
    created: float
    expires: float
    status: str = PENDING
    decided_by: str | None = None
    decided_at: float | None = None
    note: str = ""
    signature: str = ""  # HMAC-SHA256 by the gateway's approval key over ``signed_fields`` (approved only)

    def signed_fields(self) -> dict[str, Any]:
        return {
            "id": self.id, "principal": self.principal, "kind": self.kind, "subject_digest": self.subject_digest,
            "status": self.status, "decided_by": self.decided_by, "decided_at": self.decided_at,
            "expires": self.expires,
        }  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "principal": self.principal, "kind": self.kind, "subject": self.subject,
            "subject_digest": self.subject_digest, "reason": self.reason, "request_id": self.request_id,
            "created": self.created, "expires": self.expires, "status": self.status,
            "decided_by": self.decided_by, "decided_at": self.decided_at, "note": self.note,
            "signature": self.signature,
        }  # fmt: skip

    def receipt(self) -> dict[str, Any]:
        return {
            "approval_id": self.id, "status": self.status, "decided_by": self.decided_by,
            "decided_at": self.decided_at, "subject_digest": self.subject_digest,
        }  # fmt: skip


class ApprovalCapReached(Overloaded):
    """This key (or this answer) has as many pending approvals as the policy allows."""


class ApprovalQueue:
    def __init__(
        self, ttl_s: int = 86_400, max_pending: int = 10_000, max_per_key: int = 50, max_per_request: int = 5
    ) -> None:
        self.ttl_s = ttl_s
        self.max_pending = max_pending
        self.max_per_key = max_per_key
        self.max_per_request = max_per_request
        self._lock = threading.Lock()
        self._by_id: dict[str, Approval] = {}

    @classmethod
    def of(cls, section: Any) -> ApprovalQueue:
        """From the policy's ``approvals`` section."""
        return cls(section.ttl_s, section.max_pending, section.max_pending_per_key, section.max_per_request)

    def _expire(self, now: float) -> None:
        for a in list(self._by_id.values()):
            if a.status in (PENDING, APPROVED) and a.expires <= now:
                self._by_id[a.id] = replace(a, status=EXPIRED)

    def lookup(self, subject_digest_: str, now: float | None = None) -> Approval | None:
        """The live approval for a subject: approved beats pending beats denied; consumed/expired ignored."""
        now = time.time() if now is None else now
        with self._lock:
            self._expire(now)
            live = [
                a
                for a in self._by_id.values()
                if a.subject_digest == subject_digest_ and a.status in (PENDING, APPROVED, DENIED)
            ]
        order = {APPROVED: 0, PENDING: 1, DENIED: 2}
        return min(live, key=lambda a: (order[a.status], -a.created), default=None)

    def create(
        self,
        *,
        principal: str,
        kind: str,
        subject: dict[str, Any],
        reason: str,
        request_id: str,
        now: float | None = None,
    ) -> Approval:
        now = time.time() if now is None else now
        sd = subject_digest(principal, kind, subject)
        with self._lock:
            self._expire(now)
            for a in self._by_id.values():
                if a.subject_digest == sd and a.status == PENDING:
                    return a
            pending = [a for a in self._by_id.values() if a.status == PENDING]
            if len(pending) >= self.max_pending:
                raise Overloaded("the approval queue is full", code="approval_queue_full")
            if sum(1 for a in pending if a.principal == principal) >= self.max_per_key:
                raise ApprovalCapReached(
                    f"key {principal!r} has {self.max_per_key} pending approvals", code="approval_cap_key"
                )
            if sum(1 for a in pending if a.request_id == request_id) >= self.max_per_request:
                raise ApprovalCapReached(
                    f"one answer may open at most {self.max_per_request} approvals",
                    code="approval_cap_request",
                )
            a = Approval(
                id="apv_" + secrets.token_hex(8), principal=principal, kind=kind, subject=subject, subject_digest=sd,
                reason=reason, request_id=request_id, created=now, expires=now + self.ttl_s,
            )  # fmt: skip
            self._by_id[a.id] = a
            return a

    def get(self, approval_id: str) -> Approval:
        with self._lock:
            self._expire(time.time())
            a = self._by_id.get(approval_id)
        if a is None:
            raise NotFound(f"no approval {approval_id!r}", code="approval_not_found")
        return a

    def list(self, status: str | None = None) -> list[Approval]:
        with self._lock:
            self._expire(time.time())
            items = sorted(self._by_id.values(), key=lambda a: a.created)
        return [a for a in items if status is None or a.status == status]

    def preview_decision(self, approval_id: str, *, approve: bool, approver: str, note: str = "") -> Approval:
        """The approval as it will be once decided (not stored yet: the audit record is written first)."""
        a = self.get(approval_id)
        if a.status != PENDING:
            raise InvalidRequest(
                f"approval {approval_id} is {a.status}, not pending", code="approval_not_pending"
            )
        return replace(
            a,
            status=APPROVED if approve else DENIED,
            decided_by=approver,
            decided_at=time.time(),
            note=note[:500],
        )

    def store(self, approval: Approval) -> None:
        with self._lock:
            self._by_id[approval.id] = approval

    def consume(self, approval: Approval) -> Approval | None:
        """Use an approved approval up, atomically: None when another request used it first."""
        with self._lock:
            current = self._by_id.get(approval.id)
            if current is None or current.status != APPROVED:
                return None
            used = replace(current, status=CONSUMED)
            self._by_id[approval.id] = used
            return used

    def replay(self, record: dict[str, Any], verify: Any = None) -> bool:
        """Rebuild state from an ``approval`` audit record (at start). An ``approved`` record counts only
        when ``verify(approval)`` accepts its signature: a sealed record appended by someone who can
        write to the log, but does not hold the gateway's approval key, grants nothing. False: ignored."""
        data = record.get("approval")
        if record.get("kind") != "approval" or not isinstance(data, dict) or "id" not in data:
            return False
        try:
            approval = Approval(**{k: data[k] for k in Approval.__dataclass_fields__ if k in data})
        except TypeError:
            return False
        if approval.status == APPROVED and (verify is None or not verify(approval)):
            return False
        self.store(approval)
        return True
