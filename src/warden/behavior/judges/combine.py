"""Combine judges: agreement decides, disagreement abstains unless one judge is sure enough.

``CombinedJudge([a, b, ...])`` asks every judge. Judges that say ``unknown`` are left out. When the
rest agree, that label stands. When they disagree, the label of the judge listed first among those
whose confidence is at least ``override`` stands (so a calibrated learned judge can overrule a rule
only when it is sure); otherwise the pair is ``unknown``. Harm comes from the first judge that
judged it.
"""

from __future__ import annotations

from collections.abc import Sequence

from warden.behavior.judges import interface as J


class CombinedJudge:
    def __init__(self, judges: Sequence[J.Judge], *, override: float = 1.01, name: str | None = None) -> None:
        if not judges:
            raise J.JudgeError("a combined judge needs at least one judge")
        self.judges = list(judges)
        self.override = override
        self.name = name or "+".join(j.name for j in self.judges)

    def judge_many(self, prompts: Sequence[str], responses: Sequence[str]) -> list[J.Judgement]:
        J.check_pairs(prompts, responses)
        each = [j.judge_many(prompts, responses) for j in self.judges]
        for j, got in zip(self.judges, each, strict=True):
            if len(got) != len(responses):
                raise J.JudgeError(
                    f"judge {j.name} returned {len(got)} judgements for {len(responses)} pairs"
                )
        return [combine([col[i] for col in each], self.override, self.name) for i in range(len(responses))]


def combine(votes: Sequence[J.Judgement], override: float, name: str) -> J.Judgement:
    decided = [v for v in votes if v.label != J.UNKNOWN]
    harm = next((v for v in votes if v.harmful is not None), None)
    hb, hc = (harm.harmful, harm.harm_confidence) if harm else (None, None)
    why = "; ".join(f"{v.judge}={v.label}({v.confidence:.2f})" for v in votes)
    if not decided:
        return J.Judgement(J.UNKNOWN, 0.0, name, "no judge decided: " + why, harmful=hb, harm_confidence=hc)
    labels = {v.label for v in decided}
    if len(labels) == 1:
        conf = max(v.confidence for v in decided)
        return J.Judgement(decided[0].label, conf, name, "agree: " + why, harmful=hb, harm_confidence=hc)
    sure = [v for v in decided if v.confidence >= override]
    if sure:
        s0 = sure[0]
        return J.Judgement(
            s0.label, s0.confidence, name, f"{s0.judge} is sure: " + why, harmful=hb, harm_confidence=hc
        )
    best = max(v.confidence for v in decided)
    return J.Judgement(J.UNKNOWN, best, name, "disagree: " + why, harmful=hb, harm_confidence=hc)
