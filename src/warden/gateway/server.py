"""Assemble a gateway from a policy and a backend choice (used by ``warden serve``, tests and the
benchmark), and run it under uvicorn with graceful shutdown."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from warden.gateway.audit.log import AuditLog
from warden.gateway.audit.store import open_store
from warden.gateway.backends.interface import Backend
from warden.gateway.core import Gateway, verify_weights
from warden.gateway.errors import GatewayError
from warden.gateway.policy import Policy

if TYPE_CHECKING:
    import uvicorn


def build_gateway(
    policy: Policy,
    *,
    upstream: str | None = None,
    model_dir: Path | None = None,
    backend: Backend | None = None,
    audit_url: str | None = None,
    upstream_api_key: str | None = None,
    verifier: Any = None,
) -> Gateway:
    if sum(x is not None for x in (upstream, model_dir, backend)) != 1:
        raise GatewayError("give exactly one of --upstream URL or --model DIR", code="usage")
    attestation = verify_weights(policy, model_dir, verifier)  # refuses to go on before anything else starts
    if backend is None:
        if upstream is not None:
            from warden.gateway.backends.upstream import UpstreamBackend

            _require_http_url(upstream)
            backend = UpstreamBackend(
                upstream, api_key=upstream_api_key, timeout_s=policy.server.upstream_timeout_s,
                connect_timeout_s=policy.server.connect_timeout_s, max_connections=policy.server.max_concurrency * 2,
            )  # fmt: skip
        else:
            from warden.gateway.backends.local import LocalBackend

            assert model_dir is not None
            backend = LocalBackend(
                model_dir, model_id=policy.model.id, threads=int(os.environ.get("WARDEN_TORCH_THREADS", "1"))
            )
    store = open_store(audit_url or policy.audit.url, synchronous=policy.audit.synchronous)
    return Gateway(policy, backend, AuditLog(store), attestation=attestation)


def _require_http_url(url: str) -> None:
    if not url.startswith(("http://", "https://")):
        raise GatewayError(f"--upstream must be an http(s) URL, got {url!r}", code="usage")


def serve(gw: Gateway, *, host: str, port: int, log_level: str = "info") -> None:
    uvicorn_server(gw, host=host, port=port, log_level=log_level).run()


def uvicorn_server(gw: Gateway, *, host: str, port: int, log_level: str = "info") -> uvicorn.Server:
    """The uvicorn server ``warden serve`` runs (returned unstarted, so tests can inspect it)."""
    import uvicorn

    from warden.gateway.app import create_app

    s = gw.policy.server
    if s.event_loop == "uvloop":
        try:
            import uvloop  # noqa: F401
        except ImportError:
            raise GatewayError(
                "server.event_loop is uvloop but uvloop is not installed (pip install 'warden[serve]')",
                code="usage",
            ) from None
    config = uvicorn.Config(
        create_app(gw, freeze_gc=True), host=host, port=port, log_level=log_level, timeout_graceful_shutdown=30,
        limit_concurrency=s.max_concurrency + s.max_queue + 64, access_log=False, loop=s.event_loop,
        http=header_deadline_protocol(s.header_timeout_s),
    )  # fmt: skip
    return uvicorn.Server(config)


def header_deadline_protocol(seconds: float) -> Any:
    """uvicorn's httptools protocol with a deadline for the request line and headers.

    uvicorn times out idle keep-alive connections but not a request whose headers arrive a byte at a
    time, so a few hundred slow-header connections held every slot (issue 19). The timer runs from the
    connection (or, on a kept-alive connection, from the next request's first byte) to the end of the
    headers; when it fires the connection is closed. The body has its own deadline
    (``server.body_timeout_s``, in the app: a 408). Without httptools: "auto" and no header deadline."""
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:  # pragma: no cover - httptools comes with uvicorn[standard]
        return "auto"

    class HeaderDeadline(HttpToolsProtocol):
        _deadline: Any = None

        def _arm(self) -> None:
            if self._deadline is None:
                self._deadline = self.loop.call_later(seconds, self._expired)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _expired(self) -> None:
            self._deadline = None
            if not self.transport.is_closing():
                self.transport.close()

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._arm()

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._arm()

        def on_headers_complete(self) -> None:
            self._disarm()
            super().on_headers_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

    return HeaderDeadline
