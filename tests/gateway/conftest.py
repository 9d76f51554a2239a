"""Shared gateway test helpers: a scriptable in-process backend, a gateway client on a temp audit log,
and an OpenAI-compatible stub upstream served by uvicorn on 127.0.0.1 (loopback only) for fault tests."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from fastapi.testclient import TestClient

from warden.gateway.app import create_app
from warden.gateway.backends.interface import Backend
from warden.gateway.policy import Policy, default_policy_path, load_policy, parse_policy
from warden.gateway.server import build_gateway

USER_KEY = "wk-demo-user-INSECURE-change-me"
APPROVER_KEY = "wk-demo-approver-INSECURE-change-me"
USER = {"Authorization": f"Bearer {USER_KEY}"}
APPROVER = {"Authorization": f"Bearer {APPROVER_KEY}"}
MODEL = "warden-demo"


def reply(
    content: str | None = None, tool_calls: list[dict[str, Any]] | None = None, finish: str | None = None
) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return {
        "id": "chatcmpl-test", "object": "chat.completion", "created": 1, "model": "upstream",
        "choices": [{"index": 0, "message": message, "finish_reason": finish or ("tool_calls" if tool_calls else "stop")}],
        "usage": {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10},
    }  # fmt: skip


def call(name: str, args: dict[str, Any], id: str = "call_1") -> dict[str, Any]:
    return {"id": id, "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}


def chunks_of(text: str, size: int = 7) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


class FakeBackend(Backend):
    """Answers with ``responder(body)``; streams the answer's content in small chunks."""

    def __init__(self, responder: Callable[[dict[str, Any]], dict[str, Any]] | None = None) -> None:
        self.responder = responder or (lambda body: reply("Hello! How can I help?"))
        self.bodies: list[dict[str, Any]] = []

    async def complete(self, body: dict[str, Any]) -> dict[str, Any]:
        self.bodies.append(body)
        return self.responder(body)

    async def stream(self, body: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        self.bodies.append(body)
        result = self.responder(body)
        msg = result["choices"][0]["message"]
        yield {
            "id": "s",
            "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}],
        }
        for piece in chunks_of(msg.get("content") or ""):
            yield {"id": "s", "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}
        for i, c in enumerate(msg.get("tool_calls") or []):
            yield {
                "id": "s",
                "choices": [
                    {"index": 0, "delta": {"tool_calls": [{"index": i, **c}]}, "finish_reason": None}
                ],
            }
        yield {
            "id": "s",
            "choices": [{"index": 0, "delta": {}, "finish_reason": result["choices"][0]["finish_reason"]}],
        }


def base_policy(updates: dict[str, Any] | None = None) -> Policy:
    """The shipped default policy without the (slow, flag-only) embedding classifier, with ``updates``
    given as dotted paths: ``{"tools.send_email.allowed_domains": ["acme.com"]}``."""
    pol = load_policy(default_policy_path())
    data = pol.model_dump(mode="json", by_alias=True)
    data["rails"]["input"] = [r for r in data["rails"]["input"] if r["type"] != "injection_classifier"]
    for dotted, value in (updates or {}).items():
        node = data
        parts = dotted.split(".")
        for p in parts[:-1]:
            node = node[int(p)] if isinstance(node, list) else node[p]
        if isinstance(node, list):
            node[int(parts[-1])] = value
        else:
            node[parts[-1]] = value
    return parse_policy(data)


@contextmanager
def gateway(
    tmp_path: Path,
    policy: Policy | None = None,
    backend: Backend | None = None,
    audit_url: str | None = None,
    **kw: Any,
) -> Iterator[tuple[TestClient, Any]]:
    """A gateway on ``audit_url`` (default: ``tmp_path/audit.db``) served in-process."""
    gw = build_gateway(
        policy or base_policy(),
        backend=backend or FakeBackend(),
        audit_url=audit_url or str(tmp_path / "audit.db"),
        **kw,
    )
    with TestClient(create_app(gw)) as client:
        yield client, gw


def chat(
    client: TestClient,
    content: str | list[dict[str, Any]],
    headers: dict[str, str] | None = None,
    **body: Any,
) -> Any:
    messages = [{"role": "user", "content": content}] if isinstance(content, str) else content
    return client.post(
        "/v1/chat/completions", headers=headers or USER, json={"model": MODEL, "messages": messages, **body}
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerThread:
    """uvicorn on 127.0.0.1:<free port> in a daemon thread; ``stop()`` shuts it down gracefully."""

    def __init__(self, app: Any, port: int | None = None) -> None:
        import uvicorn

        self.port = port or free_port()
        self.server = uvicorn.Server(
            uvicorn.Config(
                app, host="127.0.0.1", port=self.port, log_level="error", timeout_graceful_shutdown=5
            )
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)


def stub_upstream_app(state: dict[str, Any]) -> Any:
    """An OpenAI-compatible stub whose behaviour ``state['mode']`` selects: ok, slow, error500,
    broken_stream, stall (a stream that stops sending after a few chunks), bad_json, reject400."""
    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def completions(request: Request) -> Response:
        body = await request.json()
        mode = state.get("mode", "ok")
        state["calls"] = state.get("calls", 0) + 1
        state["proxy_authorization"] = request.headers.get("proxy-authorization")
        if mode == "slow":
            await asyncio.sleep(state.get("delay", 5.0))
        if mode == "error500":
            return JSONResponse({"error": {"message": "boom"}}, status_code=500)
        if mode == "reject400":
            return JSONResponse({"error": {"message": "bad max_tokens"}}, status_code=400)
        if mode == "bad_json":
            return Response("not json", media_type="application/json")
        text = state.get("text", "The capital of France is Paris.")
        if not body.get("stream"):
            if state.get("chunked"):  # no Content-Length: the client learns the size only by reading

                async def parts() -> AsyncIterator[bytes]:
                    data = json.dumps(reply(text)).encode()
                    for i in range(0, len(data), 1000):
                        yield data[i : i + 1000]

                return StreamingResponse(parts(), media_type="application/json")
            return JSONResponse(reply(text))

        async def events() -> AsyncIterator[str]:
            yield (
                "data: "
                + json.dumps(
                    {
                        "id": "u",
                        "choices": [{"index": 0, "delta": {"role": "assistant"}, "finish_reason": None}],
                    }
                )
                + "\n\n"
            )
            for i, piece in enumerate(chunks_of(text, state.get("chunk_size", 5))):
                if mode == "broken_stream" and i == 3:
                    raise RuntimeError("upstream died mid-stream")
                if mode == "stall" and i == 3:
                    await asyncio.sleep(state.get("delay", 5.0))
                yield (
                    "data: "
                    + json.dumps(
                        {
                            "id": "u",
                            "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}],
                        }
                    )
                    + "\n\n"
                )
                await asyncio.sleep(state.get("chunk_delay", 0))
            yield (
                "data: "
                + json.dumps({"id": "u", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
                + "\n\n"
            )
            yield "data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    return app


@pytest.fixture
def upstream() -> Iterator[tuple[ServerThread, dict[str, Any]]]:
    state: dict[str, Any] = {"mode": "ok"}
    server = ServerThread(stub_upstream_app(state)).start()
    try:
        yield server, state
    finally:
        server.stop()


def audit_records(tmp_path: Path) -> list[dict[str, Any]]:
    from warden.gateway.audit.store import open_store

    store = open_store(str(tmp_path / "audit.db"), readonly=True)
    try:
        return [r.record() for r in store.rows()]
    finally:
        store.close()
