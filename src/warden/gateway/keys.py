"""API keys, scopes and per-key limits.

Keys are random tokens (``wk-`` + 32 bytes urlsafe); the policy stores only their SHA-256 (a fast hash
is right for high-entropy tokens: there is nothing to brute-force). Lookup hashes the presented key and
compares it with *every* stored hash in constant time, so timing reveals neither which key matched nor
how much of it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass

from warden.gateway.errors import AuthenticationFailed, PermissionDenied, RateLimited
from warden.gateway.policy import KeySpec, Policy


def new_key() -> str:
    return "wk-" + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: the key's id (never the key) and what it may do."""

    key_id: str
    spec: KeySpec

    def require_scope(self, scope: str) -> None:
        if scope not in self.spec.scopes and "admin" not in self.spec.scopes:
            raise PermissionDenied(
                f"key {self.key_id!r} lacks the {scope!r} scope", code="insufficient_scope"
            )

    def may_use_model(self, model: str) -> bool:
        return "*" in self.spec.models or model in self.spec.models


class KeyStore:
    def __init__(self, policy: Policy) -> None:
        self._keys = [(bytes.fromhex(k.sha256), k) for k in policy.keys]

    def authenticate(self, authorization: str | None) -> Principal:
        if not authorization:
            raise AuthenticationFailed(
                "missing API key: send 'Authorization: Bearer <key>'", code="missing_api_key"
            )
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token or len(token) > 512:
            raise AuthenticationFailed("malformed Authorization header: expected 'Bearer <key>'")
        presented = hashlib.sha256(token.encode("utf-8", "replace")).digest()
        found: KeySpec | None = None
        for stored, spec in self._keys:  # no early exit: every comparison runs
            if hmac.compare_digest(stored, presented):
                found = spec
        if found is None:
            raise AuthenticationFailed("invalid API key")
        return Principal(key_id=found.id, spec=found)


class RateLimiter:
    """Per-key sliding-window limits: requests per minute and model tokens per window."""

    RESERVATION_TTL_S = 3600.0  # a reservation nobody settled (a bug, a lost task) stops counting

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: dict[str, deque[float]] = {}
        self._tokens: dict[str, deque[tuple[float, int]]] = {}
        self._reserved: dict[str, dict[int, tuple[float, int]]] = {}
        self._next_reservation = 0

    def check_request(self, principal: Principal, now: float | None = None) -> None:
        limit = principal.spec.requests_per_minute
        if limit is None:
            return
        now = time.monotonic() if now is None else now
        with self._lock:
            window = self._requests.setdefault(principal.key_id, deque())
            while window and window[0] <= now - 60.0:
                window.popleft()
            if len(window) >= limit:
                retry = max(0.0, window[0] + 60.0 - now)
                raise RateLimited(
                    f"key {principal.key_id!r} exceeded {limit} requests per minute", retry_after=retry
                )
            window.append(now)

    def check_tokens(self, principal: Principal, now: float | None = None) -> None:
        limit = principal.spec.tokens_per_window
        if limit is None:
            return
        used = self.tokens_used(principal, now)
        if used >= limit:
            raise RateLimited(
                f"key {principal.key_id!r} used its {limit} tokens per {principal.spec.token_window_s}s",
                code="token_limit_exceeded",
                retry_after=float(principal.spec.token_window_s),
            )

    def reserve_tokens(self, principal: Principal, n: int, now: float | None = None) -> int | None:
        """Reserve ``n`` tokens before the upstream call, atomically with the check, so parallel requests
        cannot all pass a check that none of them has been charged for yet. The reservation id, or None
        when the key has no token limit; RateLimited when the window cannot hold ``n`` more."""
        limit = principal.spec.tokens_per_window
        if limit is None:
            return None
        now = time.monotonic() if now is None else now
        horizon = now - principal.spec.token_window_s
        with self._lock:
            window = self._tokens.setdefault(principal.key_id, deque())
            while window and window[0][0] <= horizon:
                window.popleft()
            mine = self._reserved.setdefault(principal.key_id, {})
            for rid in [r for r, (at, _) in mine.items() if at <= now - self.RESERVATION_TTL_S]:
                del mine[rid]
            used = sum(k for _, k in window) + sum(k for _, k in mine.values())
            if used + n > limit:
                raise RateLimited(
                    f"key {principal.key_id!r} would exceed its {limit} tokens per {principal.spec.token_window_s}s "
                    f"({used} used or reserved, {n} asked)",
                    code="token_limit_exceeded",
                    retry_after=float(principal.spec.token_window_s),
                )
            self._next_reservation += 1
            mine[self._next_reservation] = (now, n)
            return self._next_reservation

    def settle_tokens(self, principal: Principal, reservation: int | None, used: int | None) -> None:
        """Drop the reservation and charge what was really used (None: charge nothing)."""
        if reservation is not None:
            with self._lock:
                self._reserved.get(principal.key_id, {}).pop(reservation, None)
        if used is not None:
            self.add_tokens(principal, used)

    def tokens_used(self, principal: Principal, now: float | None = None) -> int:
        now = time.monotonic() if now is None else now
        horizon = now - principal.spec.token_window_s
        with self._lock:
            window = self._tokens.setdefault(principal.key_id, deque())
            while window and window[0][0] <= horizon:
                window.popleft()
            return sum(n for _, n in window)

    def add_tokens(self, principal: Principal, n: int, now: float | None = None) -> None:
        if principal.spec.tokens_per_window is None or n <= 0:
            return
        now = time.monotonic() if now is None else now
        with self._lock:
            self._tokens.setdefault(principal.key_id, deque()).append((now, n))


class KeySlots:
    """Requests in flight per key (``max_concurrent_requests``): one key cannot take every slot."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._in_flight: dict[str, int] = {}

    def acquire(self, principal: Principal) -> None:
        limit = principal.spec.max_concurrent_requests
        with self._lock:
            n = self._in_flight.get(principal.key_id, 0)
            if limit is not None and n >= limit:
                raise RateLimited(
                    f"key {principal.key_id!r} has {limit} requests in flight",
                    code="too_many_concurrent_requests",
                )
            self._in_flight[principal.key_id] = n + 1

    def release(self, key_id: str) -> None:
        with self._lock:
            n = self._in_flight.get(key_id, 0) - 1
            if n > 0:
                self._in_flight[key_id] = n
            else:
                self._in_flight.pop(key_id, None)

    def in_flight(self, key_id: str) -> int:
        with self._lock:
            return self._in_flight.get(key_id, 0)
