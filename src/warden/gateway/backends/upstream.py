"""Any OpenAI-compatible server (vLLM, llama.cpp server, Ollama, TGI) over HTTP, with bounded timeouts
and errors mapped to ``UpstreamError`` kinds: timeout, connect, status (5xx), protocol (bad JSON, too
large), stream (a stream that broke before ``[DONE]``).

The client is aiohttp, not httpx. A gateway holds one upstream request per client in flight, so its
client's connection pool is on the hot path, and httpx's collapses under concurrency (encode/httpx#3215:
the pool re-scans — and in httpx2 still probes the socket of — every idle connection for every request).
Measured against the benchmark's stub on loopback (benchmarks/gateway_bench.py, 2 cores, idle), requests
per second with 1 / 50 / 200 concurrent clients: httpx 0.28 812 / 224 / 171, httpx2 2.16 1256 / 1128 / 767,
aiohttp 3.14 3132 / 7330 / 6416. LiteLLM (BerriAI/litellm#11097) and FastChat (lm-sys/FastChat#2273)
moved their upstream calls to aiohttp for the same reason.
"""

from __future__ import annotations

import asyncio
import json
import urllib.parse
import urllib.request
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import aiohttp.http_exceptions

from warden.gateway.backends.interface import Backend
from warden.gateway.errors import UpstreamError, UpstreamRejected

MAX_RESPONSE_BYTES = 20_000_000
READ_BUFSIZE = 1 << 16  # aiohttp refuses a stream line (one SSE chunk) longer than twice this


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
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        # per-operation limits, like httpx's: connecting, then each read (a stream may run longer
        # than timeout_s in all, but never stalls longer than that between two reads)
        self._timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=connect_timeout_s, connect=connect_timeout_s, sock_read=timeout_s
        )
        self._max_connections = max_connections
        self._proxy = env_proxy(self.base_url)
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        self._client()

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:  # made inside the running loop
            self._session = aiohttp.ClientSession(
                headers=self._headers,
                timeout=self._timeout,
                connector=aiohttp.TCPConnector(limit=self._max_connections, limit_per_host=0),
                read_bufsize=READ_BUFSIZE,
                # not trust_env=True: aiohttp then looks the proxy up again for every request, in a
                # worker thread that also reads ~/.netrc — 36 % of the gateway's CPU samples under load
                # and a thread hand-off per call. The upstream is fixed, so env_proxy() decides once.
                trust_env=False,
            )
        return self._session

    def _post(self, body: dict[str, Any]) -> Any:
        return self._client().post(self.base_url + "/chat/completions", json=body, proxy=self._proxy)

    async def complete(self, body: dict[str, Any]) -> dict[str, Any]:
        try:
            async with self._post(body) as resp:
                raw = await _read_capped(resp)
                _raise_for_status(resp.status, raw.decode("utf-8", "replace"))
        except (asyncio.TimeoutError, TimeoutError):
            raise UpstreamError("the model backend timed out", kind="timeout") from None
        except aiohttp.ClientError as exc:
            raise UpstreamError(
                f"cannot reach the model backend: {type(exc).__name__}", kind="connect"
            ) from None
        try:
            data = json.loads(raw)
        except ValueError:
            raise UpstreamError("the model backend returned invalid JSON", kind="protocol") from None
        if not isinstance(data, dict) or not isinstance(data.get("choices"), list) or not data["choices"]:
            raise UpstreamError("the model backend returned no choices", kind="protocol")
        return data

    async def stream(self, body: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        done = False
        try:
            async with self._post(body) as resp:
                if resp.status >= 400:
                    text = (await _read_capped(resp)).decode("utf-8", "replace")
                    _raise_for_status(resp.status, text)
                while True:
                    try:
                        raw = await resp.content.readuntil(b"\n")
                    except (ValueError, aiohttp.http_exceptions.HttpProcessingError):  # LineTooLong
                        raise UpstreamError(
                            "the model backend sent an oversized stream line", kind="protocol"
                        ) from None
                    if not raw:
                        break
                    line = raw.decode("utf-8", "replace").strip()
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
        except (asyncio.TimeoutError, TimeoutError):
            raise UpstreamError("the model backend timed out", kind="timeout") from None
        except aiohttp.ClientError as exc:
            raise UpstreamError(
                f"the model backend stream broke: {type(exc).__name__}", kind="stream"
            ) from None
        if not done:
            raise UpstreamError("the model backend's stream ended without [DONE]", kind="stream")

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()


def env_proxy(url: str) -> str | None:
    """The proxy the environment names for ``url`` (HTTP_PROXY / HTTPS_PROXY / ALL_PROXY, minus
    NO_PROXY), as httpx and aiohttp's ``trust_env`` read them, or None for a direct connection. Read
    once, when the backend is made: the upstream URL never changes while the gateway runs. Proxy
    credentials go in the URL (``http://user:password@proxy:3128``, sent as Proxy-Authorization);
    ``~/.netrc`` is not read."""
    parts = urllib.parse.urlsplit(url)
    proxies = urllib.request.getproxies_environment()
    # proxy_bypass_environment: the NO_PROXY matcher requests and aiohttp use too (public since Python 2,
    # missing from typeshed); proxy_bypass() would ask macOS / Windows system settings instead
    bypass = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]
    if parts.hostname and bypass(parts.hostname, proxies):
        return None
    return proxies.get(parts.scheme) or proxies.get("all") or None


async def _read_capped(resp: aiohttp.ClientResponse) -> bytes:
    """The body, refusing more than MAX_RESPONSE_BYTES (declared or actually sent)."""
    declared = resp.content_length
    if declared is not None and declared > MAX_RESPONSE_BYTES:
        raise UpstreamError("the model backend's response is too large", kind="protocol")
    parts: list[bytes] = []
    size = 0
    while True:
        part = await resp.content.read(1 << 16)
        if not part:
            return b"".join(parts)
        size += len(part)
        if size > MAX_RESPONSE_BYTES:
            raise UpstreamError("the model backend's response is too large", kind="protocol")
        parts.append(part)


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
