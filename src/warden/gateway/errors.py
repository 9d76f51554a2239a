"""Errors the gateway raises. The library raises; ``app.py`` maps each class to an HTTP status code and an
OpenAI-style error body (``{"error": {"message", "type", "code", "param"}}``)."""

from __future__ import annotations

from typing import Any

from warden.errors import WardenError


class GatewayError(WardenError):
    """Root of the gateway's errors. ``code`` is the stable machine-readable reason."""

    code = "gateway_error"

    def __init__(self, message: str, *, code: str | None = None, param: str | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        if code:
            self.code = code
        self.param = param


class PolicyError(GatewayError):
    """The policy file is missing, malformed or inconsistent."""

    code = "invalid_policy"


class InvalidRequest(GatewayError):
    code = "invalid_request"


class RequestTimeout(InvalidRequest):
    """The client did not send its request body within the policy's deadline."""

    code = "body_timeout"


class AuthenticationFailed(GatewayError):
    code = "invalid_api_key"


class PermissionDenied(GatewayError):
    code = "permission_denied"


class NotFound(GatewayError):
    code = "not_found"


class RateLimited(GatewayError):
    code = "rate_limit_exceeded"

    def __init__(self, message: str, *, retry_after: float = 1.0, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after


class Overloaded(GatewayError):
    """Too many requests in flight and in the queue: shed load instead of queueing without bound."""

    code = "overloaded"


class ContentBlocked(GatewayError):
    """A rail or a tool control blocked the request. ``decisions`` are the decisions that blocked it."""

    code = "content_blocked"

    def __init__(self, message: str, *, decisions: tuple[Any, ...] = (), code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.decisions = decisions


class ApprovalRequired(GatewayError):
    """The request waits for a human decision in the approval queue (``approval_id``)."""

    code = "approval_required"

    def __init__(self, message: str, *, approval_id: str) -> None:
        super().__init__(message)
        self.approval_id = approval_id


class UpstreamError(GatewayError):
    """The model backend failed: ``kind`` is timeout, status, connect, protocol or stream."""

    code = "upstream_error"

    def __init__(self, message: str, *, kind: str, status: int | None = None) -> None:
        super().__init__(message, code=f"upstream_{kind}")
        self.kind = kind
        self.status = status


class UpstreamRejected(GatewayError):
    """The upstream answered 4xx: the request itself was bad; pass its status through."""

    code = "upstream_rejected"

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


class AuditError(GatewayError):
    """The audit log could not be written or read. The gateway fails closed on write errors."""

    code = "audit_unavailable"


class AttestationRefused(GatewayError):
    """The model directory did not verify against its attestation: the gateway refuses to serve."""

    code = "attestation_failed"
