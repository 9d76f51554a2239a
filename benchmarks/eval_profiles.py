"""Benchmark (not a test): wall time and peak memory of each eval profile on one model, one run each.

    .venv/bin/python benchmarks/eval_profiles.py [--model organisms/zoo/base] [--profiles quick,standard]
                                                 [--command eval|audit]

``--command audit`` times ``warden audit MODEL --profile P`` instead (scan + forensics + the same eval
+ verdict under the default policy). A real model: ``--model ~/.cache/warden/real/zoo/smollm2-safe`` or
the shipped GGUF ``~/.cache/warden/real/shipped/SmolLM2-135M-Instruct.Q4_1.gguf``.

Runs ``warden eval MODEL --profile P`` in a fresh process per profile (no base, greedy decoding, the
default batch size, no generation cache) and prints prompts judged, generations, wall seconds and
peak RSS (VmHWM). The figures in ``warden eval --help`` (``warden.behavior.profiles.MEASURED``) come
from this script: say which machine and how busy it was when you update them.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, sys, time
from warden.cli import main
t = time.perf_counter()
rc = main(sys.argv[1:])
wall = time.perf_counter() - t
hwm = 0
for line in open("/proc/self/status"):
    if line.startswith("VmHWM:"):
        hwm = int(line.split()[1]) * 1024
print(json.dumps({"rc": rc, "wall": wall, "hwm": hwm}), file=sys.stderr)
"""


def run(model: str, profile: str, extra: list[str], command: str = "eval") -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "r.json"
        p = subprocess.run(
            [sys.executable, "-c", CHILD, command, model, "--profile", profile, "-f", "json", "-o", str(out), "-q", *extra],
            capture_output=True, text=True, cwd=ROOT, env={**os.environ},
        )  # fmt: skip
        stats = json.loads(p.stderr.strip().splitlines()[-1])
        doc = json.loads(out.read_text())
    gens = sum(int(s.get("n", 0) or 0) for s in doc["metrics"].values() if s.get("stage") == "behavior")
    return {**stats, "metrics": doc["metrics"], "n_metric_units": gens}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=str(ROOT / "organisms" / "zoo" / "base"))
    ap.add_argument("--profiles", default="quick,standard")
    ap.add_argument("--command", choices=("eval", "audit"), default="eval")
    ap.add_argument("extra", nargs="*", help="more `warden eval` options after --")
    a = ap.parse_args()
    load = os.getloadavg()[0]
    print(f"model {a.model}; {os.cpu_count()} CPUs; load average at start {load:.1f}")
    for prof in a.profiles.split(","):
        t = time.time()
        r = run(a.model, prof, a.extra, a.command)
        hr = r["metrics"].get("refusal_rate.harmful", {})
        print(
            f"{a.command} {prof:9s} rc={r['rc']} wall {r['wall']:.0f} s  peak RSS {int(r['hwm']) / 2**30:.2f} GiB  "
            f"harmful refusal {hr.get('value')} [{hr.get('ci_low')}, {hr.get('ci_high')}] n={hr.get('n')}  "
            f"(started {time.strftime('%H:%M:%S', time.localtime(t))})"
        )


if __name__ == "__main__":
    main()
