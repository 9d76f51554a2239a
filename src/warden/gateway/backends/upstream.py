"""Any OpenAI-compatible server (vLLM, llama.cpp server, Ollama, TGI) over httpx, with bounded timeouts
and errors mapped to ``UpstreamError`` kinds: timeout, connect, status (5xx), protocol (bad JSON),
stream (a stream that broke before ``[DONE]``)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx

from warden.gateway.backends.interface import Backend
from warden.gateway.errors import UpstreamError, UpstreamRejected

MAX_RESPONSE_BYTES = 20_000_000


class UpstreamBackend(Backend):
    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        timeout_s: float = 60.0,
        connect_timeout_s: float = 5.0,
        max_connections: int = 512,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.AsyncClient(
            base_url=self.base_url,
            headers=headers,
            timeout=httpx.Timeout(timeout_s, connect=connect_timeout_s),
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
        )

    async def complete(self, body: dict[str, Any]) -> dict[str, Any]:
        try:
            resp = await self._client.post("/chat/completions", json=body)
        except httpx.TimeoutException:
            raise UpstreamError("the model backend timed out", kind="timeout") from None
        except httpx.HTTPError as exc:
            raise UpstreamError(
                f"cannot reach the model backend: {type(exc).__name__}", kind="connect"
            ) from None
        _raise_for_status(resp.status_code, resp.text)
        if len(resp.content) > MAX_RESPONSE_BYTES:
            raise UpstreamError("the model backend's response is too large", kind="protocol")
        try:
            data = resp.json()
        except ValueError:
            raise UpstreamError("the model backend returned invalid JSON", kind="protocol") from None
        if not isinstance(data, dict) or not isinstance(data.get("choices"), list) or not data["choices"]:
            raise UpstreamError("the model backend returned no choices", kind="protocol")
        return data

    async def stream(self, body: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        done = False
        try:
            async with self._client.stream("POST", "/chat/completions", json=body) as resp:
                if resp.status_code >= 400:
                    text = (await resp.aread()).decode("utf-8", "replace")
                    _raise_for_status(resp.status_code, text)
                async for line in resp.aiter_lines():
                    if not line.startswith("data:"):
                        continue
                    payload = line[5:].strip()
                    if payload == "[DONE]":
                        done = True
                        break
                    try:
                        chunk = json.loads(payload)
                    except ValueError:
                        raise UpstreamError(
                            "the model backend sent an invalid stream chunk", kind="protocol"
                        ) from None
                    if isinstance(chunk, dict) and "error" in chunk:
                        raise UpstreamError(
                            f"the model backend reported an error: {str(chunk['error'])[:200]}", kind="stream"
                        )
                    if isinstance(chunk, dict):
                        yield chunk
        except httpx.TimeoutException:
            raise UpstreamError("the model backend timed out", kind="timeout") from None
        except httpx.HTTPError as exc:
            raise UpstreamError(
                f"the model backend stream broke: {type(exc).__name__}", kind="stream"
            ) from None
        if not done:
            raise UpstreamError("the model backend's stream ended without [DONE]", kind="stream")

    async def aclose(self) -> None:
        await self._client.aclose()


def _raise_for_status(status: int, text: str) -> None:
    if status < 400:
        return
    detail = text[:300]
    try:
        detail = json.loads(text)["error"]["message"][:300]
    except (ValueError, KeyError, TypeError):
        pass
    if status >= 500 or status in (408, 429):
        raise UpstreamError(f"the model backend answered {status}: {detail}", kind="status", status=status)
    raise UpstreamRejected(f"the model backend rejected the request ({status}): {detail}", status=status)
