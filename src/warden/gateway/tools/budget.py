"""Spend and call-count budgets per key and per (key, task), over sliding windows.

In memory, rebuilt at start from the audit log (the log is the source of truth), so a restart neither
forgets spend nor double counts it.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from warden.gateway.policy import BudgetSpec


@dataclass(frozen=True)
class Charge:
    at: float  # epoch seconds
    scope: str  # "key:<id>" or "task:<id>:<task>"
    tool: str
    spend: float


class Budgets:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._charges: dict[str, deque[Charge]] = {}

    def _window(self, scope: str, spec: BudgetSpec, now: float) -> deque[Charge]:
        q = self._charges.setdefault(scope, deque())
        while q and q[0].at <= now - spec.window_s:
            q.popleft()
        return q

    def violations(
        self,
        scopes: Iterable[tuple[str, BudgetSpec]],
        tool: str,
        spend: float,
        now: float | None = None,
        pending: Sequence[tuple[str, float]] = (),
    ) -> list[str]:
        """What charging ``spend`` for ``tool`` would exceed. ``pending``: (tool, spend) of the calls
        allowed earlier in the same answer, not charged yet — an answer's calls count together."""
        now = time.time() if now is None else now
        with self._lock:
            return self._violations(list(scopes), tool, spend, now, pending)

    def _violations(
        self,
        scopes: list[tuple[str, BudgetSpec]],
        tool: str,
        spend: float,
        now: float,
        pending: Sequence[tuple[str, float]],
    ) -> list[str]:
        out = []
        p_spend = sum(s for _, s in pending)
        for scope, spec in scopes:
            q = self._window(scope, spec, now)
            if spec.spend is not None and sum(c.spend for c in q) + p_spend + spend > spec.spend:
                out.append(f"{scope}: spend budget {spec.spend:g} per {spec.window_s}s would be exceeded")
            if spec.tool_calls is not None and len(q) + len(pending) + 1 > spec.tool_calls:
                out.append(f"{scope}: {spec.tool_calls} tool calls per {spec.window_s}s used up")
            limit = spec.per_tool_calls.get(tool)
            used = sum(1 for c in q if c.tool == tool) + sum(1 for t, _ in pending if t == tool)
            if limit is not None and used + 1 > limit:
                out.append(f"{scope}: {limit} calls of {tool} per {spec.window_s}s used up")
        return out

    def reserve(
        self, scopes: Iterable[tuple[str, BudgetSpec]], tool: str, spend: float, now: float | None = None
    ) -> list[str]:
        """Check and charge in one step (under the lock): concurrent requests cannot both fit into the
        last of a budget. Returns the violations; charges only when there are none."""
        now = time.time() if now is None else now
        scopes = list(scopes)
        with self._lock:
            out = self._violations(scopes, tool, spend, now, ())
            if not out:
                for scope, _ in scopes:
                    self._charges.setdefault(scope, deque()).append(Charge(now, scope, tool, spend))
        return out

    def charge(self, scopes: Iterable[str], tool: str, spend: float, at: float | None = None) -> None:
        at = time.time() if at is None else at
        with self._lock:
            for scope in scopes:
                self._charges.setdefault(scope, deque()).append(Charge(at, scope, tool, spend))

    def spent(self, scope: str) -> float:
        with self._lock:
            return sum(c.spend for c in self._charges.get(scope, ()))
