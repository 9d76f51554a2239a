"""The rail interface: every input or output check is one module exposing one ``Rail`` subclass.

A rail only *detects* (``Detection`` or ``None``); the policy chooses the *action* (block, redact, flag,
require approval), and the runner records a ``Decision`` for every rail that ran — fired or not.
Rails are registered by ``type`` name (``@register``) so the policy names them and new ones plug in
like pip-audit's services.
"""

from __future__ import annotations

import asyncio
import enum
from abc import ABC
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar


class Action(str, enum.Enum):
    ALLOW = "allow"
    FLAG = "flag"
    REDACT = "redact"
    REQUIRE_APPROVAL = "require_approval"
    BLOCK = "block"

    @property
    def rank(self) -> int:
        return _ACTION_ORDER.index(self)


_ACTION_ORDER = [Action.ALLOW, Action.FLAG, Action.REDACT, Action.REQUIRE_APPROVAL, Action.BLOCK]


def strongest(actions: Sequence[Action]) -> Action:
    return max(actions, key=lambda a: a.rank, default=Action.ALLOW)


@dataclass(frozen=True)
class Span:
    """A region to redact: ``message`` is the index into the conversation (``-1`` = the response)."""

    message: int
    start: int
    end: int
    label: str


@dataclass(frozen=True)
class Detection:
    reason: str
    score: float | None = None
    labels: tuple[str, ...] = ()
    spans: tuple[Span, ...] = ()


@dataclass(frozen=True)
class Decision:
    """What one rail concluded for one request and what the policy did about it."""

    rail: str
    stage: str  # input | output | tool
    action: Action
    fired: bool
    reason: str = ""
    score: float | None = None
    labels: tuple[str, ...] = ()
    spans: tuple[Span, ...] = field(default=(), compare=False)

    def to_record(self) -> dict[str, Any]:
        out: dict[str, Any] = {"rail": self.rail, "stage": self.stage, "action": self.action.value}
        if self.reason:
            out["reason"] = self.reason
        if self.score is not None:
            out["score"] = round(float(self.score), 4)
        if self.labels:
            out["labels"] = list(self.labels)
        return out


@dataclass(frozen=True)
class Message:
    """A conversation message reduced to what rails read: role and plain text."""

    index: int
    role: str
    text: str
    name: str | None = None  # tool name for role == "tool" (resolved from tool_call_id)


@dataclass(frozen=True)
class RailContext:
    messages: tuple[Message, ...]
    # Labels raised by input rails (e.g. ``harmful:weapons``) for output rails to read.
    input_labels: frozenset[str] = frozenset()

    @property
    def system_prompt(self) -> str:
        return "\n".join(m.text for m in self.messages if m.role in ("system", "developer"))

    @property
    def new_messages(self) -> tuple[Message, ...]:
        """The turn being asked about: every message after the last assistant message."""
        last = max((m.index for m in self.messages if m.role == "assistant"), default=-1)
        return tuple(m for m in self.messages if m.index > last)

    @property
    def last_user(self) -> str:
        users = [m.text for m in self.messages if m.role == "user"]
        return users[-1] if users else ""


class Rail(ABC):
    """One check. Subclasses set ``type`` and ``stages`` and implement ``detect`` (cheap, inline) — or
    override ``adetect`` when the check is slow (model inference, a remote guard, bandit)."""

    type: ClassVar[str]
    stages: ClassVar[frozenset[str]]  # {"input"} / {"output"} / both
    actions: ClassVar[frozenset[Action]] = frozenset({Action.BLOCK, Action.FLAG})
    slow: ClassVar[bool] = False  # slow rails run in a worker thread, concurrently with the others

    def __init__(self, name: str, options: Mapping[str, Any]) -> None:
        self.name = name
        self.options = dict(options)

    def detect_input(self, ctx: RailContext) -> Detection | None:
        raise NotImplementedError

    def detect_output(self, text: str, ctx: RailContext) -> Detection | None:
        raise NotImplementedError

    async def adetect_input(self, ctx: RailContext) -> Detection | None:
        if self.slow:
            return await asyncio.to_thread(self.detect_input, ctx)
        return self.detect_input(ctx)

    async def adetect_output(self, text: str, ctx: RailContext) -> Detection | None:
        if self.slow:
            return await asyncio.to_thread(self.detect_output, text, ctx)
        return self.detect_output(text, ctx)

    def inline(self, stage: str, text: str) -> bool:
        """True when the check is cheap enough to run inline on the event loop for this input."""
        own = type(self).adetect_input if stage == "input" else type(self).adetect_output
        default = Rail.adetect_input if stage == "input" else Rail.adetect_output
        return not self.slow and own is default

    def warm_up(self) -> None:  # noqa: B027 - optional hook: load models at start, not on the first request
        """Load whatever the rail needs (models) so the first request does not pay for it."""


_RAILS: dict[str, type[Rail]] = {}


def register(cls: type[Rail]) -> type[Rail]:
    if cls.type in _RAILS:
        raise ValueError(f"rail type {cls.type!r} registered twice")
    _RAILS[cls.type] = cls
    return cls


def rail_types() -> dict[str, type[Rail]]:
    from warden.gateway import rails  # noqa: F401 - importing the package registers every rail

    return dict(_RAILS)


RailFactory = Callable[[str, Mapping[str, Any]], Rail]
