"""Prompt-injection / jailbreak heuristics (input rail).

Phrase patterns seen in direct jailbreaks and indirect injections: override instructions, role resets,
fake system/chat-template markers, "developer mode"/DAN personas, exfiltration commands. A single weak
phrase scores low; the rail fires at ``threshold`` (default 1.0). This is one signal, never the control
that matters (DESIGN.md): deterministic tool policy is.
"""

from __future__ import annotations

import re
import unicodedata

from warden.gateway.rails._select import selected
from warden.gateway.rails.interface import Action, Detection, Rail, RailContext, register

_W = r"(?:\s+\w+){0,3}?"  # up to three filler words, lazily
PATTERNS: list[tuple[str, float, re.Pattern[str]]] = [
    (
        "override",
        1.0,
        re.compile(
            rf"\b(?:ignore|disregard|forget|override|bypass|skip)\b{_W}\s+(?:previous|prior|above|earlier|preceding|all|any|your|the|system)\b{_W}\s+(?:instructions?|prompts?|rules|directions|guidelines|messages|context)\b"
        ),
    ),
    (
        "new_instructions",
        0.7,
        re.compile(r"\b(?:new|updated|real|actual|hidden)\s+(?:instructions?|task|orders)\s*[:\-]"),
    ),
    ("role_reset", 0.8, re.compile(r"\byou\s+are\s+(?:now|no\s+longer)\b|\bfrom\s+now\s+on,?\s+you\b")),
    (
        "persona",
        1.0,
        re.compile(
            r"\b(?:dan|do\s+anything\s+now|developer\s+mode|jailbreak(?:ed)?|god\s+mode|unfiltered\s+mode)\b"
        ),
    ),
    (
        "no_rules",
        0.8,
        re.compile(
            r"\b(?:without|no|free\s+of|ignore)\s+(?:any\s+)?(?:restrictions|filters|limitations|guidelines|rules|censorship|safety)\b"
        ),
    ),
    (
        "template_marker",
        1.0,
        re.compile(r"<\|(?:im_start|im_end|system|begin_of_text|start_header_id)\|>|\[/?INST\]|<</?SYS>>"),
    ),
    ("fake_role", 0.6, re.compile(r"(?m)^\s*(?:#+\s*)?(?:system|assistant)\s*(?:message|prompt)?\s*:")),
    (
        "reveal_prompt",
        1.0,
        re.compile(
            rf"\b(?:reveal|print|repeat|show|output|leak)\b{_W}\s+(?:your|the)\s+(?:system\s+prompt|instructions|initial\s+prompt)"
        ),
    ),
    (
        "agent_hijack",
        0.7,
        re.compile(
            r"\b(?:important|attention|urgent)\b[!:.\s]+(?:\w+\s+){0,6}?(?:assistant|ai|agent|model|llm)\b"
        ),
    ),
    (
        "exfiltrate",
        0.6,
        re.compile(
            r"\b(?:send|forward|transfer|email|post|upload)\b(?:\s+\S+){0,6}?\s+(?:to|at)\s+(?:\S+@\S+|https?://\S+)"
        ),
    ),
    (
        "instead",
        0.4,
        re.compile(r"\binstead\b(?:\s+\w+){0,3}?\s+(?:you\s+(?:must|should)|do\s+the\s+following)"),
    ),
]


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    text = re.sub(r"[\u200b-\u200f\u2060\ufeff]", "", text)  # zero-width characters hide words
    return text.replace("\u2019", "'")


def score(text: str) -> tuple[float, list[str]]:
    norm = normalise(text)
    hits = [name for name, _, pat in PATTERNS if pat.search(norm)]
    weights = {name: w for name, w, _ in PATTERNS}
    return sum(weights[h] for h in hits), hits


@register
class InjectionHeuristicsRail(Rail):
    type = "injection_heuristics"
    stages = frozenset({"input"})
    actions = frozenset({Action.BLOCK, Action.FLAG, Action.REQUIRE_APPROVAL})

    def detect_input(self, ctx: RailContext) -> Detection | None:
        threshold = float(self.options.get("threshold", 1.0))
        best: tuple[float, list[str], str] = (0.0, [], "")
        for msg in selected(ctx, self.options, roles=("user", "tool"), scope="all"):
            s, hits = score(msg.text)
            if s > best[0]:
                best = (s, hits, msg.role)
        if best[0] >= threshold:
            return Detection(
                reason=f"injection phrases in {best[2]} message: {', '.join(best[1])}",
                score=best[0],
                labels=tuple(f"injection:{h}" for h in best[1]) + (f"source:{best[2]}",),
            )
        return None
