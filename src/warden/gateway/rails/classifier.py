"""Embedding classifier for prompt injection (input rail): all-MiniLM-L6-v2 + a logistic head.

The head (384 weights, a bias and a threshold) is JSON, trained by ``warden.gateway.classifier.train`` on
the data ``warden.gateway.classifier.dataset`` writes; its held-out precision/recall ship in the same
file. DESIGN.md: a similar head did not generalise (39% false positives on benign prompts full of trigger
words), so treat it as one signal — *flag* by default — and enforce with tool policy.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from warden.gateway.errors import GatewayError
from warden.gateway.rails._select import selected
from warden.gateway.rails.interface import Action, Detection, Rail, RailContext, register

HEAD_PATH = Path(__file__).resolve().parent.parent / "classifier" / "injection_head.json"


@dataclass(frozen=True)
class Head:
    weights: np.ndarray  # [384]
    bias: float
    threshold: float

    @classmethod
    def load(cls, path: Path) -> Head:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            w = np.asarray(data["weights"], dtype=np.float32)
            if w.shape != (384,):
                raise ValueError(f"weights shape {w.shape}, want (384,)")
            return cls(weights=w, bias=float(data["bias"]), threshold=float(data["threshold"]))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise GatewayError(
                f"cannot load classifier head: {exc}", path=str(path), code="invalid_classifier"
            ) from None

    def probability(self, emb: np.ndarray) -> np.ndarray:
        """emb [N, 384] → P(injection) [N]."""
        z = emb @ self.weights + self.bias
        return np.asarray(1.0 / (1.0 + np.exp(-z)))


@register
class InjectionClassifierRail(Rail):
    type = "injection_classifier"
    stages = frozenset({"input"})
    actions = frozenset({Action.BLOCK, Action.FLAG, Action.REQUIRE_APPROVAL})
    slow = True

    def __init__(self, name: str, options: Mapping[str, Any]) -> None:
        super().__init__(name, options)
        self.head = Head.load(Path(options.get("head", HEAD_PATH)))
        self.threshold = float(options.get("threshold", self.head.threshold))
        self.max_chars = int(options.get("max_chars", 2000))

    def warm_up(self) -> None:
        from warden.gateway.embedding import shared_encoder

        shared_encoder().encode(["warm up"])

    def detect_input(self, ctx: RailContext) -> Detection | None:
        from warden.gateway.embedding import shared_encoder

        msgs = selected(ctx, self.options, roles=("user", "tool"), scope="all")
        if not msgs:
            return None
        probs = self.head.probability(shared_encoder().encode([m.text[: self.max_chars] for m in msgs]))
        i = int(np.argmax(probs))
        if float(probs[i]) >= self.threshold:
            return Detection(
                reason=f"injection classifier p={float(probs[i]):.2f} on {msgs[i].role} message",
                score=float(probs[i]),
                labels=(f"source:{msgs[i].role}",),
            )
        return None
