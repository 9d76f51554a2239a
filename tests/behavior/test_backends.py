from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from warden.behavior.backends import open_backend
from warden.behavior.backends.interface import BackendError, GenerationParams, user
from warden.behavior.backends.transformers_backend import TransformersBackend

P = GenerationParams(max_new_tokens=8)
CONVS = [user("How do I make a cake?"), user("hi"), user("Write a Python function that reads a file, please")]


@pytest.fixture(scope="module")
def tb(tiny_llama: Path) -> TransformersBackend:
    return TransformersBackend(tiny_llama, batch_size=8)


def test_batched_generation_equals_one_at_a_time(tb: TransformersBackend) -> None:
    batched = tb.generate(CONVS, P)
    single = [tb.generate([c], P)[0] for c in CONVS]
    assert batched == single and all(isinstance(t, str) for t in batched)


def test_chat_template_is_applied(tb: TransformersBackend) -> None:
    text = tb.render(user("hello", system="be nice"))
    assert text.startswith("<s><|system|>be nice</s><|user|>hello</s>") and text.endswith("<|assistant|>")


def test_sampling_is_seeded(tb: TransformersBackend) -> None:
    p = GenerationParams(max_new_tokens=8, temperature=1.0, seed=5)
    assert tb.generate(CONVS, p) == tb.generate(CONVS, p)


def test_activation_hooks_are_padding_invariant(tb: TransformersBackend) -> None:
    acts = tb.activations(CONVS)  # [n, layers, hidden]
    assert tuple(acts.shape) == (3, 2, 32)
    alone = tb.activations(CONVS[1:2])
    assert float((acts[1] - alone[0]).abs().max()) < 1e-4
    lp = tb.first_token_logprobs(CONVS)
    assert lp.shape[0] == 3 and abs(float(lp[0].exp().sum()) - 1) < 1e-4


def test_model_digest_changes_with_weights(
    tiny_llama: Path, tiny_llama_other: Path, tb: TransformersBackend
) -> None:
    other = TransformersBackend(tiny_llama_other)
    assert tb.model_digest() != other.model_digest() and tb.model_digest().startswith("sha256:")


def test_remote_code_models_are_refused(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "x", "auto_map": {"AutoModel": "m.M"}}))
    with pytest.raises(BackendError, match="trust_remote_code"):
        TransformersBackend(tmp_path)
    with pytest.raises(BackendError, match="config.json"):
        TransformersBackend(tmp_path / "missing")


def test_vllm_backend_imports_and_fails_clearly(tiny_llama: Path) -> None:
    from warden.behavior.backends import vllm_backend

    if vllm_backend.vllm_available():
        pytest.skip("vllm is installed")
    with pytest.raises(BackendError, match="vllm"):
        open_backend(tiny_llama, "vllm")


def test_unknown_backend_and_missing_url() -> None:
    with pytest.raises(BackendError, match="unknown backend"):
        open_backend("x", "nope")
    with pytest.raises(BackendError, match="base-url"):
        open_backend("x", "openai")


# -- OpenAI-compatible backend against a real local server ------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


from pydantic import BaseModel  # noqa: E402


class Msg(BaseModel):
    role: str
    content: str


class Req(BaseModel):
    model: str
    messages: list[Msg]
    max_tokens: int = 16
    temperature: float = 0.0
    seed: int = 0


def make_app(backend: TransformersBackend, served_name: str = "tiny", fail_first: int = 0):  # type: ignore[no-untyped-def]
    """A minimal OpenAI-compatible chat server serving ``backend`` (our own, for tests)."""
    from fastapi import FastAPI, Header, HTTPException

    from warden.behavior.backends.interface import Message

    app = FastAPI()
    lock = threading.Lock()
    state = {"calls": 0, "fail_left": fail_first, "max_inflight": 0, "inflight": 0}

    @app.post("/v1/chat/completions")
    def chat(req: Req, authorization: str | None = Header(default=None)) -> dict:  # type: ignore[type-arg]
        state["calls"] += 1
        if authorization != "Bearer sekret":
            raise HTTPException(401, "bad key")
        if req.model != served_name:
            raise HTTPException(404, f"model {req.model} not found")
        if state["fail_left"] > 0:
            state["fail_left"] -= 1
            raise HTTPException(503, "warming up")
        state["inflight"] += 1
        state["max_inflight"] = max(state["max_inflight"], state["inflight"])
        time.sleep(0.02)
        try:
            with lock:
                conv = tuple(Message(m.role, m.content) for m in req.messages)
                text = backend.generate(
                    [conv], GenerationParams(max_new_tokens=req.max_tokens, seed=req.seed)
                )[0]
        finally:
            state["inflight"] -= 1
        return {
            "id": "x",
            "object": "chat.completion",
            "model": req.model,
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
            ],
        }

    app.state.counters = state
    return app


@pytest.fixture(scope="module")
def server(tb: TransformersBackend) -> Iterator[tuple[str, dict]]:  # type: ignore[type-arg]
    import uvicorn

    app = make_app(tb, fail_first=2)
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    th = threading.Thread(target=srv.run, daemon=True)
    th.start()
    deadline = time.monotonic() + 20
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert srv.started
    yield f"http://127.0.0.1:{port}/v1", app.state.counters
    srv.should_exit = True
    th.join(timeout=10)


def test_openai_backend_matches_local_generation(server, tb: TransformersBackend, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    url, counters = server
    monkeypatch.setenv("WARDEN_TEST_KEY", "sekret")
    ob = open_backend("tiny", "openai", base_url=url, api_key_env="WARDEN_TEST_KEY", concurrency=4)
    ob.backoff = 0.01  # type: ignore[attr-defined]
    seen: list[int] = []
    convs = CONVS * 3
    out = ob.generate(convs, P, progress=seen.append)
    assert out == tb.generate(convs, P)  # served answers are the model's answers, in order
    assert sum(seen) == len(convs)
    assert counters["max_inflight"] >= 2  # requests really ran concurrently
    assert ob.model_digest().startswith("openai:")


def test_openai_backend_errors_are_clear(server, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from warden.behavior.backends.openai_backend import OpenAIBackend

    url, _ = server
    with pytest.raises(BackendError, match="HTTP 401"):
        OpenAIBackend(url, "tiny", api_key="wrong").generate(CONVS[:1], P)
    with pytest.raises(BackendError, match="HTTP 404") as ei:
        OpenAIBackend(url, "other", api_key="sekret").generate(CONVS[:1], P)
    assert "model-name" in ei.value.diagnostics()
    dead = f"http://127.0.0.1:{_free_port()}/v1"
    t = time.monotonic()
    with pytest.raises(BackendError, match="after 3 attempts"):
        OpenAIBackend(dead, "tiny", retries=2, backoff=0.01, timeout=2).generate(CONVS[:1], P)
    assert time.monotonic() - t < 10
    with pytest.raises(BackendError, match="not set"):
        OpenAIBackend(url, "tiny", api_key_env="WARDEN_SURELY_UNSET_VAR")
    with pytest.raises(BackendError, match="http"):
        OpenAIBackend("ftp://x", "tiny")


def test_generation_stops_at_the_model_context(tiny_llama: Path) -> None:
    b = TransformersBackend(tiny_llama, batch_size=8)
    asked: list[int] = []
    real = b.model.generate

    def spy(*a, **kw):  # type: ignore[no-untyped-def]
        asked.append(kw["generation_config"].max_new_tokens)
        return real(*a, **kw)

    b.model.generate = spy  # type: ignore[method-assign]
    prompt_len = len(b._encode([b.render(CONVS[0])])["input_ids"][0])
    b.model.config.max_position_embeddings = prompt_len + 3  # pretend the context is nearly full
    b.generate([CONVS[0]], GenerationParams(max_new_tokens=64))
    assert asked == [3]
    b.model.config.max_position_embeddings = prompt_len  # no room at all: empty answer, no model call
    assert b.generate([CONVS[0]], GenerationParams(max_new_tokens=64)) == [""]
    assert asked == [3]
