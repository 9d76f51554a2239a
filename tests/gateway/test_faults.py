"""Faults, against a real stub upstream and real gateway servers on 127.0.0.1 (loopback only): upstream
timeouts, 5xx, bad JSON, broken streams, a dead upstream, overload, a client that walks away, a gateway
killed and restarted under load, and a graceful shutdown. Every request loop is bounded."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.gateway.conftest import USER, ServerThread, audit_records, base_policy, free_port, gateway
from warden.gateway.app import create_app
from warden.gateway.audit import open_store, verify_rows
from warden.gateway.server import build_gateway

BODY = {"model": "warden-demo", "messages": [{"role": "user", "content": "What is the capital of France?"}]}


def _upstream_gateway(tmp_path: Path, upstream_url: str, **policy_updates: Any):  # noqa: ANN202
    pol = base_policy({"server.upstream_timeout_s": 1.0, **policy_updates})
    gw = build_gateway(pol, upstream=upstream_url + "/v1", audit_url=str(tmp_path / "audit.db"))
    from fastapi.testclient import TestClient

    return TestClient(create_app(gw))


@pytest.mark.parametrize(
    ("mode", "status", "code"),
    [
        ("slow", 504, "upstream_timeout"),
        ("error500", 502, "upstream_status"),
        ("bad_json", 502, "upstream_protocol"),
        ("reject400", 400, "upstream_rejected"),
    ],
)
def test_upstream_failures_become_clear_errors(
    tmp_path: Path, upstream, mode: str, status: int, code: str
) -> None:  # noqa: ANN001
    server, state = upstream
    state.update(mode=mode, delay=3.0)
    with _upstream_gateway(tmp_path, server.url) as client:
        r = client.post("/v1/chat/completions", headers=USER, json=BODY)
        assert r.status_code == status and r.json()["error"]["code"] == code
        if status >= 500:
            assert (
                f'warden_upstream_errors_total{{kind="{code.removeprefix("upstream_")}"}} 1.0'
                in client.get("/metrics").text
            )
    rec = [r for r in audit_records(tmp_path) if r["kind"] == "request"][0]
    assert rec["status"] == status and rec["error"] == code


def test_upstream_ok_and_stream_through_a_real_upstream(tmp_path: Path, upstream) -> None:  # noqa: ANN001
    server, state = upstream
    with _upstream_gateway(tmp_path, server.url) as client:
        r = client.post("/v1/chat/completions", headers=USER, json=BODY)
        assert (
            r.status_code == 200
            and r.json()["choices"][0]["message"]["content"] == "The capital of France is Paris."
        )
        with client.stream("POST", "/v1/chat/completions", headers=USER, json={**BODY, "stream": True}) as s:
            lines = [ln for ln in s.iter_lines() if ln.startswith("data: ")]
        text = "".join(
            json.loads(ln[6:])["choices"][0]["delta"].get("content") or ""
            for ln in lines[:-1]
            if "choices" in ln
        )
        assert text == "The capital of France is Paris." and lines[-1] == "data: [DONE]"


def _stream_lines(tmp_path: Path, upstream_url: str) -> list[str]:
    """The SSE data lines of one streamed request, every chunk checked and sent at once."""
    with _upstream_gateway(
        tmp_path, upstream_url, **{"server.stream_holdback_chars": 0, "server.stream_check_every_chars": 1}
    ) as client:
        with client.stream("POST", "/v1/chat/completions", headers=USER, json={**BODY, "stream": True}) as s:
            return [ln for ln in s.iter_lines() if ln.startswith("data: ")]


def test_broken_stream_ends_with_an_error_event(tmp_path: Path, upstream) -> None:  # noqa: ANN001
    server, state = upstream
    state.update(
        mode="broken_stream", text="A fairly long answer that will break after a few chunks of text."
    )
    lines = _stream_lines(tmp_path, server.url)
    assert lines[-1] == "data: [DONE]"
    err = json.loads(lines[-2][6:])["error"]
    assert err["code"] == "upstream_stream" and err["type"] == "upstream_error"
    rec = [r for r in audit_records(tmp_path) if r["kind"] == "request"][0]
    assert rec["error"] == "upstream_stream" and rec["status"] == 502


def test_stalled_stream_times_out_with_an_error_event(tmp_path: Path, upstream) -> None:  # noqa: ANN001
    """The upstream timeout bounds each read, so a stream that stops mid-answer ends within it."""
    server, state = upstream
    state.update(mode="stall", delay=3.0, text="A fairly long answer that will stall after a few chunks.")
    lines = _stream_lines(tmp_path, server.url)
    # without a per-read timeout the 3 s stall would end and the stream finish normally
    assert lines[-1] == "data: [DONE]"
    assert json.loads(lines[-2][6:])["error"]["code"] == "upstream_timeout"
    rec = [r for r in audit_records(tmp_path) if r["kind"] == "request"][0]
    assert rec["error"] == "upstream_timeout"


@pytest.mark.parametrize("how", ["declared", "undeclared", "stream"])
def test_oversized_upstream_answer_is_refused(tmp_path: Path, upstream, monkeypatch, how: str) -> None:  # noqa: ANN001
    """A body over the cap — with a Content-Length, without one (chunked), or one oversized SSE line —
    is a protocol error, never buffered whole."""
    from warden.gateway.backends import upstream as up

    server, state = upstream
    monkeypatch.setattr(up, "MAX_RESPONSE_BYTES", 2_000)
    monkeypatch.setattr(up, "READ_BUFSIZE", 1_024)  # stream lines over 2 kB refused
    state.update(text="x" * 5_000, chunk_size=5_000, chunked=how == "undeclared")
    with _upstream_gateway(tmp_path, server.url) as client:
        if how != "stream":
            r = client.post("/v1/chat/completions", headers=USER, json=BODY)
            assert r.status_code == 502 and r.json()["error"]["code"] == "upstream_protocol"
        else:  # one 5 kB chunk: longer than the line cap
            with client.stream(
                "POST", "/v1/chat/completions", headers=USER, json={**BODY, "stream": True}
            ) as s:
                lines = [ln for ln in s.iter_lines() if ln.startswith("data: ")]
            assert json.loads(lines[-2][6:])["error"]["code"] == "upstream_protocol"
            assert "x" * 100 not in "".join(lines)


def test_dead_upstream(tmp_path: Path) -> None:
    with _upstream_gateway(tmp_path, f"http://127.0.0.1:{free_port()}") as client:
        r = client.post("/v1/chat/completions", headers=USER, json=BODY)
    assert r.status_code == 502 and r.json()["error"]["code"] == "upstream_connect"


def test_overload_sheds_with_503(tmp_path: Path, upstream) -> None:  # noqa: ANN001
    server, state = upstream
    state.update(mode="slow", delay=1.5)
    pol = base_policy({"server.max_concurrency": 1, "server.max_queue": 0, "server.upstream_timeout_s": 10})
    gw = build_gateway(pol, upstream=server.url + "/v1", audit_url=str(tmp_path / "audit.db"))
    gws = ServerThread(create_app(gw)).start()
    try:
        results: list[int] = []

        def one() -> None:
            results.append(
                httpx.post(gws.url + "/v1/chat/completions", headers=USER, json=BODY, timeout=20).status_code
            )

        threads = [threading.Thread(target=one) for _ in range(4)]
        for t in threads:
            t.start()
            time.sleep(0.1)
        for t in threads:
            t.join()
        assert sorted(results) == [200, 503, 503, 503]
    finally:
        gws.stop()
    recs = [r for r in audit_records(tmp_path) if r["kind"] == "request"]
    assert sorted(r["status"] for r in recs) == [200, 503, 503, 503]


def test_client_that_disconnects_mid_stream_is_recorded(tmp_path: Path, upstream) -> None:  # noqa: ANN001
    server, state = upstream
    state.update(mode="ok", text="word " * 200, chunk_delay=0.02)
    pol = base_policy({"server.stream_holdback_chars": 0, "server.stream_check_every_chars": 1})
    gw = build_gateway(pol, upstream=server.url + "/v1", audit_url=str(tmp_path / "audit.db"))
    gws = ServerThread(create_app(gw)).start()
    try:
        with httpx.stream(
            "POST", gws.url + "/v1/chat/completions", headers=USER, json={**BODY, "stream": True}, timeout=10
        ) as r:
            for i, _ in enumerate(r.iter_lines()):
                if i > 3:
                    break  # walk away
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            recs = [x for x in audit_records(tmp_path) if x["kind"] == "request"]
            if recs:
                break
            time.sleep(0.1)
        assert recs and recs[0]["status"] == 499 and recs[0]["error"] == "client_disconnected"
    finally:
        gws.stop()


def _policy_file(tmp_path: Path, audit: Path) -> Path:
    data = base_policy().model_dump(mode="json", by_alias=True, exclude_none=True)
    data["audit"]["url"] = str(audit)
    p = tmp_path / "gateway.yaml"
    p.write_text(yaml.safe_dump(data))
    return p


def _spawn(policy: Path, upstream_url: str, port: int) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "warden.cli", "serve", "--policy", str(policy), "--upstream", upstream_url + "/v1",
           "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]  # fmt: skip
    proc = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ, "PYTHONUNBUFFERED": "1"}
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
        if proc.poll() is not None:
            raise RuntimeError(proc.stderr.read().decode() if proc.stderr else "gateway exited")
    proc.kill()
    raise RuntimeError("gateway did not start")


def _load(port: int, n: int, out: list[tuple[int, str | None]]) -> None:
    with httpx.Client(timeout=10) as c:
        for _ in range(n):
            try:
                r = c.post(f"http://127.0.0.1:{port}/v1/chat/completions", headers=USER, json=BODY)
                out.append((r.status_code, r.headers.get("x-request-id")))
            except httpx.HTTPError:
                out.append((0, None))


def test_kill_and_restart_under_load_loses_no_audit_record(tmp_path: Path, upstream) -> None:  # noqa: ANN001
    server, state = upstream
    state.update(mode="slow", delay=0.05)
    audit = tmp_path / "audit.db"
    policy = _policy_file(tmp_path, audit)
    port = free_port()
    proc = _spawn(policy, server.url, port)
    answered: list[tuple[int, str | None]] = []
    try:
        threads = [threading.Thread(target=_load, args=(port, 15, answered)) for _ in range(4)]
        for t in threads:
            t.start()
        time.sleep(1.0)
        proc.send_signal(signal.SIGKILL)  # no shutdown hook runs
        for t in threads:
            t.join(timeout=60)
        proc.wait(timeout=10)
        proc = _spawn(policy, server.url, port)  # restart on the same log
        after: list[tuple[int, str | None]] = []
        _load(port, 10, after)
        assert [s for s, _ in after] == [200] * 10
        proc.send_signal(signal.SIGTERM)  # graceful: finishes and records its shutdown
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    store = open_store(str(audit), readonly=True)
    rows = list(store.rows())
    store.close()
    assert verify_rows((r.seq, r.hash, r.body) for r in rows).ok  # the chain survived the kill
    recorded = {r.record().get("request_id") for r in rows}
    ok_ids = [rid for s, rid in answered + after if s == 200]
    assert ok_ids and all(rid in recorded for rid in ok_ids)  # every answered request has its record
    kinds = [r.record()["kind"] for r in rows]
    assert kinds.count("startup") == 2 and kinds[-1] == "shutdown"


def test_attestation_gate_with_the_real_verifier(tmp_path: Path) -> None:
    from datetime import timedelta

    from warden.attest import attest, keygen
    from warden.gateway.errors import AttestationRefused
    from warden.report.model import Verdict
    from warden.report.renderers import get_renderer
    from warden.scan import scan_model

    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text('{"model_type": "llama"}')
    (model / "model.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}      ")
    from warden.report.model import StageResult, StageStatus

    keygen(tmp_path / "k.pem", tmp_path / "k.pub")

    def sign(stages: tuple[str, ...]) -> None:
        report = scan_model(model)
        for stage in stages:
            report.stages[stage] = StageResult(stage, StageStatus.RAN)
        report.verdict = Verdict.PASS
        (tmp_path / "report.json").write_text(get_renderer("json").render(report))
        attest(
            model,
            tmp_path / "report.json",
            tmp_path / "k.pem",
            tmp_path / "att.json",
            valid_for=timedelta(days=1),
        )

    pol = base_policy({"model.require_attestation": True, "model.dir": str(model), "model.attestation": str(tmp_path / "att.json"),
                       "model.public_key": str(tmp_path / "k.pub")})  # fmt: skip
    # a PASS signed over a scan alone is not evidence enough to serve the weights
    sign(("scan",))
    with pytest.raises(AttestationRefused, match="required stage eval is missing in the signed audit"):
        build_gateway(pol, upstream="http://127.0.0.1:9/v1", audit_url=str(tmp_path / "a0.db"))
    sign(("scan", "forensics", "eval"))
    with gateway(tmp_path, policy=pol) as (client, gw):
        assert client.get("/healthz").json()["attested"] is True and gw.attestation["verified"] is True
    (model / "config.json").write_text('{"model_type": "llama", "x": 1}')  # one changed file
    with pytest.raises(AttestationRefused, match="failed verification"):
        build_gateway(pol, upstream="http://127.0.0.1:9/v1", audit_url=str(tmp_path / "a2.db"))
    with pytest.raises(AttestationRefused, match="names no model directory"):
        build_gateway(
            base_policy({"model.require_attestation": True}),
            upstream="http://127.0.0.1:9/v1",
            audit_url=str(tmp_path / "a3.db"),
        )


def test_attestation_hook_with_a_stand_in_verifier(tmp_path: Path) -> None:
    from warden.errors import WardenError
    from warden.gateway.core import verify_weights
    from warden.gateway.errors import AttestationRefused

    pol = base_policy(
        {"model.require_attestation": True, "model.attestation": "a.json", "model.public_key": "k.pub"}
    )
    seen: list[Any] = []

    def ok(model_dir, att, key, policy=None):  # noqa: ANN001, ANN202
        seen.append((model_dir, att, key))
        return type("R", (), {"root_digest": "abc", "key_id": "k1"})()

    def bad(model_dir, att, key, policy=None):  # noqa: ANN001, ANN202
        raise WardenError("digest mismatch for model.safetensors")

    assert verify_weights(pol, tmp_path, ok)["root_digest"] == "abc" and seen[0][0] == tmp_path
    with pytest.raises(AttestationRefused, match="digest mismatch"):
        verify_weights(pol, tmp_path, bad)
    assert verify_weights(base_policy(), tmp_path, bad) is None  # not required: not called


def test_upstream_honours_the_proxy_environment(tmp_path: Path, upstream, monkeypatch) -> None:  # noqa: ANN001
    """HTTP_PROXY / NO_PROXY are read once, when the backend is made: a host only the proxy can reach is
    answered through it; listed in NO_PROXY, the gateway connects directly and fails cleanly."""
    from warden.gateway.backends.upstream import env_proxy

    server, state = upstream
    for name in "http_proxy https_proxy all_proxy no_proxy HTTPS_PROXY ALL_PROXY NO_PROXY".split():
        monkeypatch.delenv(name, raising=False)
    # the stub upstream answers absolute-form requests too, so it stands in for the proxy
    proxy = server.url.replace("http://", "http://alice:s3cret@")
    monkeypatch.setenv("HTTP_PROXY", proxy)
    assert env_proxy("http://upstream.invalid/v1") == proxy
    with _upstream_gateway(tmp_path / "via", "http://upstream.invalid") as client:
        r = client.post("/v1/chat/completions", headers=USER, json=BODY)
        assert r.status_code == 200, r.text
    assert state["proxy_authorization"] == "Basic YWxpY2U6czNjcmV0"  # alice:s3cret, from the proxy URL
    monkeypatch.setenv("NO_PROXY", "localhost,upstream.invalid")
    assert env_proxy("http://upstream.invalid/v1") is None and env_proxy("http://other.invalid/v1") == proxy
    with _upstream_gateway(tmp_path / "direct", "http://upstream.invalid") as client:
        r = client.post("/v1/chat/completions", headers=USER, json=BODY)
        assert r.status_code == 502 and r.json()["error"]["code"] == "upstream_connect"
