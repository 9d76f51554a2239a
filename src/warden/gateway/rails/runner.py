"""Build the rails a policy names and run them concurrently; turn detections into decisions."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from warden.gateway.policy import Policy, RailSpec
from warden.gateway.rails.interface import Action, Decision, Detection, Rail, RailContext, Span, rail_types

log = logging.getLogger("warden.gateway")


@dataclass(frozen=True)
class ActiveRail:
    spec: RailSpec
    rail: Rail
    stage: str


def build(policy: Policy) -> tuple[list[ActiveRail], list[ActiveRail]]:
    types = rail_types()
    out: dict[str, list[ActiveRail]] = {"input": [], "output": []}
    for stage, specs in (("input", policy.rails.input), ("output", policy.rails.output)):
        for spec in specs:
            if spec.enabled:
                rail = types[spec.type](spec.rail_name, spec.options)
                out[stage].append(ActiveRail(spec, rail, stage))
    return out["input"], out["output"]


def _decide(active: ActiveRail, det: Detection | None) -> Decision:
    if det is None:
        return Decision(rail=active.spec.rail_name, stage=active.stage, action=Action.ALLOW, fired=False)
    return Decision(
        rail=active.spec.rail_name,
        stage=active.stage,
        action=active.spec.action,
        fired=True,
        reason=det.reason,
        score=det.score,
        labels=det.labels,
        spans=det.spans,
    )


def _error(active: ActiveRail, exc: BaseException) -> Decision:
    # fail closed: a rail that cannot decide blocks unless the policy says otherwise
    on_error = Action(active.spec.options.get("on_error", "block"))
    log.warning("rail %s failed: %s", active.spec.rail_name, exc)
    return Decision(
        rail=active.spec.rail_name, stage=active.stage, action=on_error, fired=on_error is not Action.ALLOW,
        reason=f"rail error: {exc}"[:300], labels=("rail_error",),
    )  # fmt: skip


async def _run(rails: Sequence[ActiveRail], stage: str, text: str, ctx: RailContext) -> list[Decision]:
    """Cheap rails run inline (a task per regex check costs more than the check); slow or remote ones run
    concurrently with each other (worker threads / network)."""
    out: list[Decision | None] = [None] * len(rails)
    waiting = []
    for i, r in enumerate(rails):
        if r.rail.inline(stage, text):
            try:
                det = r.rail.detect_input(ctx) if stage == "input" else r.rail.detect_output(text, ctx)
                out[i] = _decide(r, det)
            except Exception as exc:  # noqa: BLE001 - a failing rail decides per its on_error
                out[i] = _error(r, exc)
        else:
            waiting.append(i)
    if waiting:
        coros = [
            rails[i].rail.adetect_input(ctx) if stage == "input" else rails[i].rail.adetect_output(text, ctx)
            for i in waiting
        ]
        results = await asyncio.gather(*coros, return_exceptions=True)
        for i, res in zip(waiting, results, strict=True):
            out[i] = _error(rails[i], res) if isinstance(res, BaseException) else _decide(rails[i], res)
    return [d for d in out if d is not None]


async def run_input(rails: Sequence[ActiveRail], ctx: RailContext) -> list[Decision]:
    return await _run(rails, "input", "", ctx)


async def run_output(rails: Sequence[ActiveRail], text: str, ctx: RailContext) -> list[Decision]:
    return await _run(rails, "output", text, ctx)


def redact(text: str, spans: Sequence[Span]) -> str:
    """Replace each span with ``[REDACTED:<kind>]`` (spans may overlap; they are merged)."""
    merged: list[list[int | str]] = []
    for s in sorted(spans, key=lambda s: s.start):
        if merged and s.start < int(merged[-1][1]):
            merged[-1][1] = max(int(merged[-1][1]), s.end)
        else:
            merged.append([s.start, s.end, s.label])
    out, pos = [], 0
    for start, end, label in merged:
        out.append(text[pos : int(start)])
        out.append(f"[REDACTED:{label}]")
        pos = int(end)
    out.append(text[pos:])
    return "".join(out)
