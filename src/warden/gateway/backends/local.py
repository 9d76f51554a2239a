"""An embedded transformers backend for small models (the model organisms): ``warden serve --model DIR``.

Loads a local HF directory with ``local_files_only`` and never ``trust_remote_code``; the chat template
is rendered by transformers (its sandboxed Jinja environment). Generation runs in one worker thread at a
time (a CPU model gains nothing from concurrent generate calls) with pinned torch threads. Tool calls are
parsed from ``<tool_call>{json}</tool_call>`` blocks (the Hermes/Qwen convention).
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from warden.gateway.backends.interface import Backend
from warden.gateway.errors import GatewayError, UpstreamError

TOOL_CALL = re.compile(r"<tool_call>\s*(\{.*?\})\s*</tool_call>", re.S)


def parse_tool_calls(text: str) -> tuple[str, list[dict[str, Any]]]:
    calls = []
    for m in TOOL_CALL.finditer(text):
        try:
            data = json.loads(m.group(1))
        except ValueError:
            continue
        if isinstance(data, dict) and isinstance(data.get("name"), str):
            args = data.get("arguments", {})
            calls.append({
                "id": "call_" + uuid.uuid4().hex[:12], "type": "function",
                "function": {"name": data["name"], "arguments": json.dumps(args) if not isinstance(args, str) else args},
            })  # fmt: skip
    return (TOOL_CALL.sub("", text).strip() if calls else text), calls


def _template_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for m in messages:
        msg = {"role": m.get("role", "user"), "content": _text(m.get("content"))}
        if m.get("tool_calls"):
            msg["tool_calls"] = [
                {
                    "type": "function",
                    "function": {
                        "name": c["function"]["name"],
                        "arguments": _json_or_text(c["function"].get("arguments")),
                    },
                }
                for c in m["tool_calls"]
                if isinstance(c, dict) and isinstance(c.get("function"), dict)
            ]
        out.append(msg)
    return out


def _text(content: Any) -> str:
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return content if isinstance(content, str) else ""


def _json_or_text(v: Any) -> Any:
    if isinstance(v, str):
        try:
            return json.loads(v)
        except ValueError:
            return v
    return v


class LocalBackend(Backend):
    def __init__(
        self, model_dir: Path, *, model_id: str, threads: int = 1, max_new_tokens: int = 256
    ) -> None:
        self.model_dir = model_dir
        self.model_id = model_id
        self.threads = threads
        self.max_new_tokens = max_new_tokens
        self._lock = threading.Lock()
        self._model: Any = None
        self._tok: Any = None

    def _load(self) -> None:
        if self._model is not None:
            return
        try:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError:
            raise GatewayError(
                "--model needs torch and transformers (pip install 'warden[ml]')", code="missing_extra"
            ) from None
        torch.set_num_threads(self.threads)
        # a GGUF file: transformers dequantizes it; tokenizer and chat template come from its metadata
        gguf = {"gguf_file": self.model_dir.name} if self.model_dir.is_file() else {}
        root = self.model_dir.parent if gguf else self.model_dir
        if not gguf and not (root / "config.json").is_file():
            raise GatewayError("not a model directory (no config.json)", path=str(self.model_dir))
        self._torch = torch
        self._tok = AutoTokenizer.from_pretrained(str(root), local_files_only=True, **gguf)
        self._model = AutoModelForCausalLM.from_pretrained(str(root), local_files_only=True, **gguf)
        self._model.train(False)  # inference mode
        if not getattr(self._tok, "chat_template", None):
            raise GatewayError("the model's tokenizer has no chat template", path=str(self.model_dir))

    async def start(self) -> None:
        await asyncio.to_thread(self._load)

    def _inputs(self, body: dict[str, Any]) -> Any:
        kwargs: dict[str, Any] = {"add_generation_prompt": True, "return_tensors": "pt", "return_dict": True}
        if body.get("tools"):
            kwargs["tools"] = body["tools"]
        return self._tok.apply_chat_template(_template_messages(body.get("messages", [])), **kwargs)

    def _gen_kwargs(self, body: dict[str, Any]) -> dict[str, Any]:
        max_new = min(
            int(body.get("max_tokens") or body.get("max_completion_tokens") or self.max_new_tokens),
            self.max_new_tokens,
        )
        temp = float(body.get("temperature") or 0.0)
        kw: dict[str, Any] = {
            "max_new_tokens": max_new,
            "pad_token_id": self._tok.pad_token_id or self._tok.eos_token_id,
        }
        if temp > 0:
            kw.update(do_sample=True, temperature=temp, top_p=float(body.get("top_p") or 1.0))
        else:
            kw["do_sample"] = False
        return kw

    def _generate(self, body: dict[str, Any]) -> tuple[str, int, int]:
        with self._lock, self._torch.inference_mode():
            self._load()
            enc = self._inputs(body)
            out = self._model.generate(**enc, **self._gen_kwargs(body))  # [1, prompt + new]
            n_prompt = int(enc["input_ids"].shape[1])
            new = out[0, n_prompt:]
            return self._tok.decode(new, skip_special_tokens=True), n_prompt, int(new.shape[0])

    async def complete(self, body: dict[str, Any]) -> dict[str, Any]:
        try:
            text, n_prompt, n_new = await asyncio.to_thread(self._generate, body)
        except GatewayError:
            raise
        except Exception as exc:  # noqa: BLE001 - a generation failure is an upstream error to the client
            raise UpstreamError(
                f"local generation failed: {type(exc).__name__}: {exc}"[:300], kind="status"
            ) from None
        content, calls = parse_tool_calls(text)
        message: dict[str, Any] = {"role": "assistant", "content": content if content or not calls else None}
        if calls:
            message["tool_calls"] = calls
        return {
            "id": "chatcmpl-" + uuid.uuid4().hex, "object": "chat.completion", "created": int(time.time()), "model": self.model_id,
            "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if calls else "stop"}],
            "usage": {"prompt_tokens": n_prompt, "completion_tokens": n_new, "total_tokens": n_prompt + n_new},
        }  # fmt: skip

    async def stream(self, body: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        # Streams the finished generation in word-sized chunks: the gateway's hold-back buffer checks text
        # before it reaches the client either way, and a single CPU generate call is the cheap path.
        result = await self.complete(body)
        cid, created = result["id"], result["created"]
        message = result["choices"][0]["message"]

        def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            return {"id": cid, "object": "chat.completion.chunk", "created": created, "model": self.model_id,
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}  # fmt: skip

        yield chunk({"role": "assistant", "content": ""})
        for piece in re.findall(r"\S*\s*", message.get("content") or ""):
            if piece:
                yield chunk({"content": piece})
        for i, call in enumerate(message.get("tool_calls") or []):
            yield chunk({"tool_calls": [{"index": i, **call}]})
        yield chunk({}, result["choices"][0]["finish_reason"])
