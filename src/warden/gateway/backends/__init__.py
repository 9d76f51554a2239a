"""Where completions come from: ``upstream.UpstreamBackend`` (any OpenAI-compatible server over httpx) or
``local.LocalBackend`` (a small transformers model embedded in the gateway)."""

from warden.gateway.backends.interface import Backend

__all__ = ["Backend"]
