"""Benchmark (not a test): false-alarm rate of the drift detector on random-valence noise, with a
base and without, one seeded draw per run.

    .venv/bin/python benchmarks/drift_false_alarm.py 100

Measured 2026-12-07 on 2 cores: 1/100 with a base, 1/100 without, 0.28 s a run. The noise test in
tests/behavior/test_drift.py allows one alarm in 16 draws on the strength of this figure.
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.behavior.test_drift import NEUTRAL, ScriptedBackend, load_drift_suite, run_drift  # noqa: E402

WORDS = ["good", "bad", "nice", "poor", "fine", "awful", "great", ""]


def noisy(rng: random.Random) -> ScriptedBackend:
    return ScriptedBackend(lambda p: f"It is {rng.choice(WORDS)} and {rng.choice(WORDS)}.", "noisy")


def main(n: int) -> None:
    suite = load_drift_suite()
    base = ScriptedBackend(lambda p: NEUTRAL, "base")
    t = time.time()
    with_base = sum(bool(run_drift(noisy(random.Random(s)), base, suite).findings) for s in range(n))
    no_base = sum(bool(run_drift(noisy(random.Random(10**6 + s)), None, suite).findings) for s in range(n))
    print(f"{n} runs: false alarms with a base {with_base}/{n}, without {no_base}/{n}; "
          f"{(time.time() - t) / (2 * n):.2f} s a run")  # fmt: skip


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100)
