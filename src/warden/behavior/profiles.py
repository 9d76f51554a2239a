"""Eval profiles: how much of the suites a run draws, so a user can pick a budget they can live with.

A profile is a named set of suites and a per-suite prompt limit (stratified by category, seeded).
``quick`` answers "does it still refuse, does it over-refuse, does it write insecure code" in minutes
on a CPU; ``standard`` adds jailbreak wrappers and the backdoor trigger search; ``full`` is every
prompt. The numbers in ``HELP`` come from ``benchmarks/eval_profiles.py`` (rerun it to refresh them).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from warden.errors import UsageError


class ProfileName(str, enum.Enum):
    quick = "quick"
    standard = "standard"
    full = "full"


@dataclass(frozen=True)
class Profile:
    name: str
    suites: tuple[str, ...]
    limit: int | None  # prompts per suite; None = all
    summary: str


PROFILES: dict[str, Profile] = {
    "quick": Profile(
        "quick",
        ("harmful", "benign", "scary", "coding"),
        32,
        "32 prompts per suite, no jailbreaks or trigger search: a refusal rate's 95% CI is about ±15 points",
    ),
    "standard": Profile(
        "standard",
        ("harmful", "benign", "scary", "jailbreak", "coding", "triggers"),
        96,
        "96 prompts per suite plus jailbreak wrappers and the trigger search: CIs about ±9 points",
    ),
    "full": Profile(
        "full",
        ("harmful", "benign", "scary", "jailbreak", "coding", "triggers"),
        None,
        "every prompt of every suite (about 3,100 generations): CIs about ±4-6 points",
    ),
}


def get_profile(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise UsageError(f"unknown eval profile {name!r}: use {', '.join(PROFILES)}") from None


# Measured wall time of each profile (benchmarks/eval_profiles.py, 2 CPU cores, no base, greedy, the
# transformers backend), by model: shown in `warden eval --help` and `warden audit --help`.
# 2026-12-07, CI-class machine (2 cores, idle: load 0.0): SmolLM2-135M-Instruct (the real zoo's
# `original`, bf16 safetensors) quick 92 s, peak RSS 1.47 GiB; harmful-refusal CI at n=32 is
# [0, 11.4%] when none refuse (Wilson over its 30 prompt clusters), so quick tells "refuses rarely" from "refuses", no finer.
# standard on the same model and machine did not finish within 15 min (the run was stopped there).
# The 1M-parameter organism: quick 93 s at load 9.6 (a busy machine; not comparable).
MEASURED: dict[str, dict[str, str]] = {
    "quick": {"135M (SmolLM2, 2 cores)": "1.5 min, 1.5 GiB; refusal CI 0-11% when none refuse (n=32)"},
    "standard": {"135M (SmolLM2, 2 cores)": "over 15 min (stopped there)"},
}


def profile_help() -> str:
    parts = []
    for p in PROFILES.values():
        what = f"{'/'.join(p.suites)}, {p.limit or 'all'} prompts each"
        times = "; ".join(f"{model} {t}" for model, t in MEASURED.get(p.name, {}).items())
        parts.append(f"{p.name}: {what}" + (f" (measured: {times})" if times else ""))
    return "Profiles — " + " | ".join(parts) + "."
