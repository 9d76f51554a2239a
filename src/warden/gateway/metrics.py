"""Prometheus metrics (prometheus_client), one registry per gateway so tests can run several."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
# the gateway's own cost is a millisecond or two: resolve it around the p50 < 2 ms / p99 < 10 ms targets
_OVERHEAD_BUCKETS = (0.00025, 0.0005, 0.00075, 0.001, 0.0015, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.025,
                     0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)  # fmt: skip


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "warden_requests", "Chat requests by outcome", ["status", "stream"], registry=r
        )
        self.blocks = Counter(
            "warden_rail_actions",
            "Rail and tool decisions that fired, by rail and action",
            ["rail", "action"],
            registry=r,
        )
        self.tool_calls = Counter(
            "warden_tool_calls",
            "Tool calls the model emitted, by tool and action",
            ["tool", "action"],
            registry=r,
        )
        self.latency = Histogram(
            "warden_request_seconds", "Total request latency", ["stream"], buckets=_BUCKETS, registry=r
        )
        self.upstream_latency = Histogram(
            "warden_upstream_seconds", "Latency of the model backend", buckets=_BUCKETS, registry=r
        )
        self.overhead = Histogram(
            "warden_overhead_seconds",
            "Latency added by the gateway (total minus upstream)",
            buckets=_OVERHEAD_BUCKETS,
            registry=r,
        )
        self.upstream_errors = Counter(
            "warden_upstream_errors", "Model backend failures by kind", ["kind"], registry=r
        )
        self.in_flight = Gauge("warden_in_flight", "Requests being served", registry=r)
        self.rejected = Counter(
            "warden_rejected", "Requests shed or refused before the model", ["reason"], registry=r
        )
        self.audit_records = Counter("warden_audit_records", "Audit records written", ["kind"], registry=r)
        self.audit_errors = Counter("warden_audit_errors", "Audit appends that failed", registry=r)

    def render(self) -> bytes:
        return generate_latest(self.registry)
