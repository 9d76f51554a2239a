"""Hold-back buffer for streamed output: text reaches the client only after the output rails have seen
it, and the last ``holdback`` characters (and any unclosed code fence) stay back so a secret or an
insecure snippet that spans chunks is caught before any of it is sent (NeMo streams first and checks
later; we do not)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from warden.gateway.rails.code import open_fence_start
from warden.gateway.rails.interface import Span
from warden.gateway.rails.runner import redact


class AlreadySent(Exception):
    """A redaction covers text the client already has: the stream must be blocked instead."""


@dataclass
class HoldBack:
    holdback: int = 128
    check_every: int = 32
    hold_fences: bool = True
    text: str = ""
    sent: int = 0  # raw characters released
    checked: int = 0  # raw length at the last check
    spans: list[Span] = field(default_factory=list)

    def add(self, piece: str) -> None:
        self.text += piece

    def due(self) -> bool:
        return len(self.text) - self.checked >= self.check_every

    def checked_now(self, spans: Sequence[Span]) -> None:
        """Record that the rails saw the whole text; ``spans`` are the redactions they asked for."""
        self.checked = len(self.text)
        self.spans = sorted(spans, key=lambda s: s.start)

    def release(self, *, final: bool = False) -> str:
        """The checked text that may go out now (redacted), advancing ``sent``."""
        end = self.checked if final else max(self.sent, self.checked - self.holdback)
        if self.hold_fences and not final:
            fence = open_fence_start(self.text[: self.checked])
            if fence is not None:
                end = min(end, max(self.sent, fence))
        for s in self.spans:
            if s.start < self.sent < s.end:
                raise AlreadySent(s.label)
            if s.start < end < s.end:
                end = max(self.sent, s.start)
        if end <= self.sent:
            return ""
        window = [
            Span(-1, s.start - self.sent, s.end - self.sent, s.label)
            for s in self.spans
            if self.sent <= s.start and s.end <= end
        ]
        out = redact(self.text[self.sent : end], window)
        self.sent = end
        return out
