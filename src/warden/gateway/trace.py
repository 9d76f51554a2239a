"""What one request leaves in the audit log, gathered while it runs (``Trace``), and the record it becomes."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from warden.gateway.rails.interface import Decision
from warden.gateway.tools.guard import ToolDecision


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


def new_request_id() -> str:
    return "req_" + uuid.uuid4().hex


@dataclass
class Trace:
    request_id: str = field(default_factory=new_request_id)
    started: float = field(default_factory=time.perf_counter)
    endpoint: str = "chat.completions"
    principal: str | None = None
    task: str | None = None
    model: str | None = None
    stream: bool = False
    prompt_digest: str | None = None
    response_digest: str | None = None
    prompt_text: str | None = None
    response_text: str | None = None
    decisions: list[Decision] = field(default_factory=list)
    tool_decisions: list[ToolDecision] = field(default_factory=list)
    approval: dict[str, Any] | None = None  # receipt used or created for a prompt-level approval
    usage: dict[str, int] = field(default_factory=dict)
    feedback_rounds: int = 0
    upstream_seconds: float = 0.0
    status: int | None = None
    error: str | None = None
    token_reservation: int | None = None  # RateLimiter reservation, settled by charge_tokens
    tokens_charged: bool = False

    @property
    def spend(self) -> float:
        return round(sum(d.spend for d in self.tool_decisions if d.action.value in ("allow", "flag")), 6)

    def fired(self) -> list[Decision]:
        return [d for d in self.decisions if d.fired]

    def record(self, *, policy_version: str, policy_digest: str, store_text: bool) -> dict[str, Any]:
        rec: dict[str, Any] = {
            "kind": "request", "time": now_iso(), "request_id": self.request_id, "endpoint": self.endpoint,
            "principal": self.principal, "task": self.task, "model": self.model, "stream": self.stream,
            "status": self.status, "error": self.error,
            "prompt_digest": self.prompt_digest, "response_digest": self.response_digest,
            "rails": [d.to_record() for d in self.fired()],
            "rails_ran": sorted({d.rail for d in self.decisions}),
            "tool_calls": [d.to_record() for d in self.tool_decisions],
            "approval": self.approval, "spend": self.spend, "usage": dict(self.usage),
            "feedback_rounds": self.feedback_rounds,
            "latency_ms": round((time.perf_counter() - self.started) * 1000, 3),
            "policy_version": policy_version, "policy_digest": policy_digest,
        }  # fmt: skip
        if store_text:
            rec["prompt"] = self.prompt_text
            rec["response"] = self.response_text
        return rec
