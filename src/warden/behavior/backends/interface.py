"""One interface for every way Warden talks to a model: local weights, an OpenAI-compatible server,
vLLM. The eval only ever calls ``Backend.generate`` (and, for white-box checks, the optional
``activations`` / ``first_token_logprobs`` of backends that hold the weights)."""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from warden.errors import WardenError

# A progress callback: called with the number of prompts just finished.
ProgressFn = Callable[[int], None]


class BackendError(WardenError):
    """A model could not be loaded or queried (missing dependency, bad path, server error)."""


@dataclass(frozen=True)
class Message:
    role: str  # "system" | "user" | "assistant"
    content: str


Conversation = tuple[Message, ...]


def user(content: str, system: str | None = None) -> Conversation:
    """The one-turn conversation the suites use (optionally with a system prompt)."""
    msgs = (Message("system", system),) if system else ()
    return (*msgs, Message("user", content))


@dataclass(frozen=True)
class GenerationParams:
    """Everything that changes what a model says; part of the generation cache key."""

    max_new_tokens: int = 128
    temperature: float = 0.0  # 0 → greedy
    top_p: float = 1.0
    seed: int = 0

    @property
    def greedy(self) -> bool:
        return self.temperature <= 0.0

    def key(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


def conversation_key(conv: Conversation) -> str:
    return json.dumps([[m.role, m.content] for m in conv], ensure_ascii=False)


class Backend(ABC):
    """A model Warden can talk to."""

    name: str = "backend"
    #: True when the backend holds the weights and can return activations / logits.
    whitebox: bool = False

    @abstractmethod
    def model_digest(self) -> str:
        """A stable identity of the model *and* its serving setup (cache key part): a digest of the
        weight files for local models, the server URL + model name for remote ones."""

    @abstractmethod
    def generate(
        self,
        conversations: Sequence[Conversation],
        params: GenerationParams,
        progress: ProgressFn | None = None,
    ) -> list[str]:
        """One response per conversation, in order."""

    def describe(self) -> dict[str, Any]:
        return {"backend": self.name}

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources (models, clients)."""


def digest_text(*parts: str) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p.encode("utf-8"))
        h.update(b"\0")
    return h.hexdigest()
