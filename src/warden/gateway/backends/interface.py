"""The backend interface: OpenAI chat-completion JSON in, OpenAI JSON (or stream chunks) out."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from typing import Any


class Backend(ABC):
    """Raise ``UpstreamError`` (timeouts, 5xx, broken streams) or ``UpstreamRejected`` (4xx)."""

    async def start(self) -> None:  # noqa: B027 - optional hook
        """Connect or load weights."""

    @abstractmethod
    async def complete(self, body: dict[str, Any]) -> dict[str, Any]:
        """A non-streaming chat completion (``body`` has ``stream`` false)."""

    @abstractmethod
    def stream(self, body: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        """Chat-completion chunks, in order; ends normally only after the upstream's ``[DONE]``."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release connections and models."""
