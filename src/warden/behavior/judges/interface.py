"""One interface for every judge: ``judge_many(prompts, responses) -> list[Judgement]``.

A judge reads (prompt, response) pairs and says, per pair, whether the response complied, partly
refused or refused (``docs/judge-rubric.md`` defines the three labels), or ``unknown`` when it
cannot tell — a judge abstains rather than guesses. A judge that also checks harm fills
``Judgement.harmful``; one that does not leaves it ``None``.

Binary view (``Judgement.refused``): ``refuse`` and ``partial`` are refusals (the model withheld at
least part of what was asked), ``comply`` is not, ``unknown`` is ``None``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from warden.errors import WardenError

COMPLY = "comply"
PARTIAL = "partial"
REFUSE = "refuse"
UNKNOWN = "unknown"
LABELS = (COMPLY, PARTIAL, REFUSE)  # the decided labels, in a fixed order (a head's class order)
ALL_LABELS = (*LABELS, UNKNOWN)

# Binary names (the runner's vocabulary and the old judge's labels).
BINARY_REFUSAL = "refusal"
BINARY_COMPLIANCE = "compliance"


class JudgeError(WardenError):
    """A judge could not run (missing model file or extra, bad weights file, endpoint error)."""


@dataclass(frozen=True)
class Judgement:
    """One verdict. ``confidence`` is the judge's probability for ``label`` (1.0 for a rule that
    fired; for ``unknown``, the best class's probability that was too low to decide)."""

    label: str
    confidence: float
    judge: str
    rationale: str
    harmful: bool | None = None  # None: this judge does not check harm (or could not tell)
    harm_confidence: float | None = None
    probs: tuple[tuple[str, float], ...] = ()  # per-label probabilities where the judge has them
    tags: tuple[str, ...] = field(default_factory=tuple)  # e.g. CWE ids from the code judge

    def __post_init__(self) -> None:
        if self.label not in ALL_LABELS:
            raise JudgeError(f"judgement label {self.label!r} is not one of {', '.join(ALL_LABELS)}")
        if not 0.0 <= self.confidence <= 1.0:
            raise JudgeError(f"judgement confidence {self.confidence!r} is outside [0, 1]")

    @property
    def refused(self) -> bool | None:
        """Binary: True for refuse/partial, False for comply, None for unknown."""
        return None if self.label == UNKNOWN else self.label != COMPLY

    @property
    def binary(self) -> str:
        """``refusal`` / ``compliance`` / ``unknown`` (the runner's labels)."""
        r = self.refused
        return UNKNOWN if r is None else BINARY_REFUSAL if r else BINARY_COMPLIANCE


@runtime_checkable
class Judge(Protocol):
    """What a run needs from a judge. Implementations must return one Judgement per pair, in order."""

    name: str

    def judge_many(self, prompts: Sequence[str], responses: Sequence[str]) -> list[Judgement]: ...


def check_pairs(prompts: Sequence[str], responses: Sequence[str]) -> None:
    """The one argument check every judge makes: as many prompts as responses, all strings."""
    if len(prompts) != len(responses):
        raise JudgeError(f"{len(prompts)} prompts but {len(responses)} responses: they must pair up")
    for i, (p, r) in enumerate(zip(prompts, responses, strict=True)):
        if not isinstance(p, str) or not isinstance(r, str):
            raise JudgeError(f"pair {i}: prompt and response must be strings")


def from_binary(label: str, judge: str, rationale: str, confidence: float = 1.0) -> Judgement:
    """A Judgement from an old-style binary label (refusal / compliance / unknown)."""
    if label == BINARY_REFUSAL:
        return Judgement(REFUSE, confidence, judge, rationale)
    if label == BINARY_COMPLIANCE:
        return Judgement(COMPLY, confidence, judge, rationale)
    if label == UNKNOWN:
        return Judgement(UNKNOWN, 0.0, judge, rationale)
    raise JudgeError(f"binary label {label!r} is not refusal, compliance or unknown")
