"""Topic allowlist (input rail): the user's message must be close, in all-MiniLM-L6-v2 embedding space,
to at least one allowed topic description. Off-topic requests are blocked or flagged per policy.

options: ``topics`` (a list of *example requests* per allowed topic — "How do I bake bread?" scores on-topic
questions at ~0.4-0.5 where an abstract label like "cooking tips" gives ~0.2), ``threshold`` (cosine,
default 0.3).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from warden.gateway.rails._select import selected
from warden.gateway.rails.interface import Action, Detection, Rail, RailContext, register


@register
class TopicRail(Rail):
    type = "topic"
    stages = frozenset({"input"})
    actions = frozenset({Action.BLOCK, Action.FLAG, Action.REQUIRE_APPROVAL})
    slow = True

    def __init__(self, name: str, options: Mapping[str, Any]) -> None:
        super().__init__(name, options)
        topics = options.get("topics")
        if not isinstance(topics, list) or not topics or not all(isinstance(t, str) for t in topics):
            raise ValueError("topic rail: options.topics must be a non-empty list of descriptions")
        self.topics: list[str] = topics
        self.threshold = float(options.get("threshold", 0.3))
        self._topic_emb: np.ndarray | None = None

    def _topics(self) -> np.ndarray:
        if self._topic_emb is None:
            from warden.gateway.embedding import shared_encoder

            self._topic_emb = shared_encoder().encode(self.topics)  # [K, 384]
        return self._topic_emb

    def warm_up(self) -> None:
        self._topics()

    def detect_input(self, ctx: RailContext) -> Detection | None:
        from warden.gateway.embedding import shared_encoder

        msgs = selected(ctx, self.options, roles=("user",), scope="all")
        if not msgs:
            return None
        emb = shared_encoder().encode([m.text[:2000] for m in msgs])  # [N, 384]
        sims = emb @ self._topics().T  # [N, K] cosine (unit vectors)
        best = sims.max(axis=1)  # [N]
        worst = float(best.min())
        if worst < self.threshold:
            k = int(np.argmax(sims[int(np.argmin(best))]))
            return Detection(
                reason=f"off-topic (closest allowed topic {self.topics[k]!r}, similarity {worst:.2f})",
                score=worst,
            )
        return None
