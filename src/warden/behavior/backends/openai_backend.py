"""Any OpenAI-compatible chat server (vLLM, llama.cpp server, Ollama, TGI, ...).

Requests run concurrently (``httpx.AsyncClient`` under a semaphore), with retries and exponential
backoff on connection errors, timeouts, 429 and 5xx; other 4xx are the caller's mistake and fail at
once with the server's message.
"""

from __future__ import annotations

import asyncio
import os
import random
import threading
from collections.abc import Coroutine, Sequence
from typing import Any, TypeVar

from warden.behavior.backends.interface import (
    Backend,
    BackendError,
    Conversation,
    GenerationParams,
    ProgressFn,
    digest_text,
)

T = TypeVar("T")
_RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine from sync code, also when the caller is already inside an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(coro)
        except BaseException as exc:  # re-raised in the caller's thread
            box["error"] = exc

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join()
    if "error" in box:
        raise box["error"]
    return box["value"]  # type: ignore[no-any-return]


class OpenAIBackend(Backend):
    name = "openai"

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        api_key_env: str | None = None,
        concurrency: int = 8,
        timeout: float = 120.0,
        retries: int = 4,
        backoff: float = 0.5,
    ) -> None:
        try:
            import httpx  # noqa: F401
        except ImportError as exc:  # pragma: no cover
            from warden.extras import MissingExtra

            raise MissingExtra("httpx", "ml", "the openai backend") from exc
        if not base_url.startswith(("http://", "https://")):
            raise BackendError(f"base URL must start with http:// or https://, got {base_url!r}")
        if not model:
            raise BackendError("the openai backend needs a model name (--model-name)")
        if api_key is None and api_key_env:
            api_key = os.environ.get(api_key_env)
            if api_key is None:
                raise BackendError(f"environment variable {api_key_env} (the API key) is not set")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self._api_key = api_key
        self.concurrency = max(1, concurrency)
        self.timeout = timeout
        self.retries = max(0, retries)
        self.backoff = backoff

    def model_digest(self) -> str:
        # A remote model has no weights we can hash: identity is where and what we asked.
        return "openai:" + digest_text(self.base_url, self.model)

    def describe(self) -> dict[str, Any]:
        return {
            "backend": self.name,
            "base_url": self.base_url,
            "model": self.model,
            "concurrency": self.concurrency,
        }

    def _payload(self, conv: Conversation, params: GenerationParams) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": m.role, "content": m.content} for m in conv],
            "max_tokens": params.max_new_tokens,
            "temperature": params.temperature,
            "seed": params.seed,
        }
        if not params.greedy:
            body["top_p"] = params.top_p
        return body

    async def _one(self, client: Any, sem: asyncio.Semaphore, body: dict[str, Any]) -> str:
        import httpx

        url = f"{self.base_url}/chat/completions"
        last = ""
        for attempt in range(self.retries + 1):
            async with sem:
                try:
                    resp = await client.post(url, json=body)
                except httpx.TimeoutException:
                    last = f"timed out after {self.timeout:g}s"
                except httpx.TransportError as exc:
                    last = f"cannot reach {self.base_url}: {exc.__class__.__name__}: {exc}"
                else:
                    if resp.status_code == 200:
                        return self._parse(resp)
                    detail = resp.text[:300]
                    if resp.status_code not in _RETRY_STATUS:
                        hint = "check --api-key-env" if resp.status_code in (401, 403) else None
                        if resp.status_code == 404:
                            hint = "check --base-url (it usually ends in /v1) and --model-name"
                        raise BackendError(
                            f"server answered HTTP {resp.status_code}: {detail}", path=url, hint=hint
                        )
                    last = f"HTTP {resp.status_code}: {detail}"
            if attempt < self.retries:
                # Exponential backoff with jitter (jitter only spreads retries; not security-relevant).
                await asyncio.sleep(self.backoff * (2**attempt) * (0.5 + random.random()))
        raise BackendError(f"request failed after {self.retries + 1} attempts: {last}", path=url)

    @staticmethod
    def _parse(resp: Any) -> str:
        try:
            data = resp.json()
            content = data["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise BackendError(f"malformed chat completion response: {resp.text[:200]!r}") from exc
        return "" if content is None else str(content)

    async def _generate(
        self, conversations: Sequence[Conversation], params: GenerationParams, progress: ProgressFn | None
    ) -> list[str]:
        import httpx

        headers = {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}
        sem = asyncio.Semaphore(self.concurrency)
        limits = httpx.Limits(max_connections=self.concurrency)
        async with httpx.AsyncClient(timeout=self.timeout, headers=headers, limits=limits) as client:

            async def task(conv: Conversation) -> str:
                text = await self._one(client, sem, self._payload(conv, params))
                if progress is not None:
                    progress(1)
                return text

            return list(await asyncio.gather(*(task(c) for c in conversations)))

    def generate(
        self,
        conversations: Sequence[Conversation],
        params: GenerationParams,
        progress: ProgressFn | None = None,
    ) -> list[str]:
        if not conversations:
            return []
        return run_sync(self._generate(conversations, params, progress))
