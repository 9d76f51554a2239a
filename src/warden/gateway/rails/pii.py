"""PII and secrets rail (input and output): validated cards, IBANs, key prefixes, private keys, e-mails,
phone numbers. Supports redaction: spans name the message and the characters to replace."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from warden.gateway.detectors import pii as detect
from warden.gateway.rails._select import selected
from warden.gateway.rails.interface import Action, Detection, Rail, RailContext, Span, register


@register
class PIIRail(Rail):
    type = "pii"
    stages = frozenset({"input", "output"})
    actions = frozenset({Action.BLOCK, Action.FLAG, Action.REDACT, Action.REQUIRE_APPROVAL})

    def __init__(self, name: str, options: Mapping[str, Any]) -> None:
        super().__init__(name, options)
        kinds = set(options.get("kinds", sorted(detect.ALL_KINDS)))
        unknown = kinds - detect.ALL_KINDS
        if unknown:
            raise ValueError(f"pii rail: unknown kinds {sorted(unknown)}")
        self.kinds = frozenset(kinds)

    def _spans(self, text: str, message: int) -> list[Span]:
        spans = []
        for m in detect.find(text, self.kinds):
            end = detect.private_key_block_end(text, m.start) if m.kind == "private_key" else m.end
            spans.append(Span(message, m.start, end, m.kind))
        return spans

    def _detection(self, spans: list[Span]) -> Detection | None:
        if not spans:
            return None
        kinds = sorted({s.label for s in spans})
        return Detection(reason="found " + ", ".join(kinds), labels=tuple(kinds), spans=tuple(spans))

    def detect_input(self, ctx: RailContext) -> Detection | None:
        spans: list[Span] = []
        for msg in selected(ctx, self.options, roles=("user", "system", "tool"), scope="all"):
            spans.extend(self._spans(msg.text, msg.index))
        return self._detection(spans)

    def detect_output(self, text: str, ctx: RailContext) -> Detection | None:
        spans = self._spans(text, -1)
        if self.options.get("ignore_echoed", True):
            # a value the user gave in this conversation is not a leak when the model repeats it; one in
            # the system prompt is (the client did not write it to get it back)
            given = "\n".join(m.text for m in ctx.messages if m.role == "user")
            spans = [s for s in spans if text[s.start : s.end] not in given]
        return self._detection(spans)
