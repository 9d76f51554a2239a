"""``make real-quants``: Warden's base-free weight forensics on real-zoo variants in every GGUF type in
common use, each file made the way published quants are: an F16 GGUF export, then llama.cpp's own
quantizer (``llama_model_quantize`` through ``llama-cpp-python``) with its default tensor-type mixture
(a Q4_K_M file holds Q4_K, Q6_K and fallback Q5_0 tensors; SmolLM2's 576-wide rows are not a multiple
of the K-quants' 256-wide block, so llama.cpp falls back for them). Measurement, not a test:

    python -m realzoo.quants --llama-cpp PYTHON [--zoo DIR] [--out realzoo/QUANTS.md] [--only a,b]

``PYTHON`` is an interpreter with ``llama-cpp-python`` (it compiles llama.cpp, so it lives in its own
venv and is not a Warden dependency; benchmarks/README.md says how to make one). F16 and BF16 come from
the zoo's own exporter (gguf-py); every other type from llama.cpp. Each file gets ``run_forensics``
without a base and with the activation signal off (it has no calibrated threshold for SmolLM2's
family, CALIBRATION.md): the weight score, the organisms-only threshold, the flag, the tensor types the
file holds and any FORENSICS-QUANT-UNREADABLE finding. The quantized files are deleted after measuring
(their SHA-256 is kept in the table's JSON); the F16 source stays in ``DIR/_quants``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from realzoo import fetch as R

ROOT = Path(__file__).resolve().parents[1]
# llama.cpp file types, the names its quantize tool takes; Q1_0 is one gguf-py cannot dequantize
LLAMA_TYPES = (
    "Q8_0", "Q6_K", "Q5_K_M", "Q5_0", "Q4_K_M", "Q4_K_S", "Q4_1", "Q4_0", "IQ4_XS", "IQ4_NL", "Q3_K_M",
    "Q2_K", "Q1_0",
)  # fmt: skip
TYPES = ("F16", "BF16", *LLAMA_TYPES)
VARIANTS = (
    "original", "smollm2-safe", "abliterated", "abliterated-partial", "abliterated-normpres",
)  # fmt: skip

# Run by the llama-cpp-python interpreter: quantize SRC into each TYPE=DST pair, print one JSON line each.
_QUANTIZE = r"""
import ctypes, json, sys
import llama_cpp as L
L.llama_backend_init()
src = sys.argv[1]
for pair in sys.argv[2:]:
    ftype, dst = pair.split("=", 1)
    p = L.llama_model_quantize_default_params()
    p.ftype = getattr(L, "LLAMA_FTYPE_MOSTLY_" + ftype)
    p.nthread = 2
    rc = L.llama_model_quantize(src.encode(), dst.encode(), ctypes.byref(p))
    print(json.dumps({"type": ftype, "rc": int(rc), "llama_cpp": L.__version__}), flush=True)
"""


@dataclass(frozen=True)
class Row:
    variant: str
    role: str  # "clean" | "attack"
    qtype: str
    score: float | None  # base-free weight score (None: did not run)
    threshold: float | None
    flagged: bool
    reason: str  # why it did not run, or ""
    tensor_types: dict[str, int]
    findings: tuple[str, ...]
    mib: float
    sha256: str
    seconds: float


def log(msg: str) -> None:
    print(f"[real-quants {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def quantize(llama_python: Path, src: Path, jobs: dict[str, Path]) -> dict[str, int]:
    args = [str(llama_python), "-c", _QUANTIZE, str(src), *(f"{t}={p}" for t, p in jobs.items())]
    res = subprocess.run(args, capture_output=True, text=True, check=False)
    out = {}
    for line in res.stdout.splitlines():
        if line.startswith("{"):
            d = json.loads(line)
            out[d["type"]] = d["rc"]
    if res.returncode != 0 and not out:
        raise RuntimeError(f"llama.cpp quantize failed: {res.stderr[-800:]}")
    return out


def measure_file(variant: str, role: str, qtype: str, path: Path) -> Row:
    import gguf

    from warden.forensics import run_forensics
    from warden.forensics.config import ActivationConfig, ForensicsConfig

    types = Counter(t.tensor_type.name for t in gguf.GGUFReader(str(path)).tensors)
    t0 = time.time()
    rep = run_forensics(path, config=ForensicsConfig(activation=ActivationConfig(enabled=False), threads=2))
    bf = rep.data["forensics"]["basefree"]
    return Row(
        variant=variant,
        role=role,
        qtype=qtype,
        score=float(bf["score"]) if bf["ran"] else None,
        threshold=float(bf["threshold"]) if bf["ran"] else None,
        flagged=bool(bf["flagged"]),
        reason=str(rep.stages["forensics"].reason),
        tensor_types=dict(sorted(types.items())),
        findings=tuple(f.rule_id for f in rep.findings),
        mib=round(path.stat().st_size / 2**20, 1),
        sha256=R.sha256_file(path),
        seconds=round(time.time() - t0, 1),
    )


def run(zoo: Path, llama_python: Path, variants: list[str], types: tuple[str, ...]) -> list[Row]:
    from realzoo.build import export_gguf, load_hf

    man = json.loads((zoo / "MANIFEST.json").read_text(encoding="utf-8"))
    shipped = zoo / man["variants"]["shipped-gguf"]["path"]
    work = zoo / "_quants"
    rows: list[Row] = []
    for name in variants:
        if name not in man["variants"]:
            log(f"{name}: not in this zoo's MANIFEST, skipped")
            continue
        role = man["variants"][name]["role"]
        d = work / name
        d.mkdir(parents=True, exist_ok=True)
        model, _ = load_hf(zoo / man["variants"][name]["path"])
        for t in ("F16", "BF16"):
            export_gguf(model, shipped, d / f"{name}-{t}.gguf", t, f"SmolLM2-135M-Instruct-{name}")
        del model
        jobs = {t: d / f"{name}-{t}.gguf" for t in types if t in LLAMA_TYPES}
        log(f"{name}: llama.cpp quantize -> {', '.join(jobs)}")
        rcs = quantize(llama_python, d / f"{name}-F16.gguf", jobs)
        for t in types:
            p = d / f"{name}-{t}.gguf"
            if t in LLAMA_TYPES and rcs.get(t) != 0:
                log(f"{name} {t}: llama.cpp returned {rcs.get(t)}; not measured")
                why = f"llama.cpp could not write it (llama_model_quantize returned {rcs.get(t)})"
                rows.append(Row(name, role, t, None, None, False, why, {}, (), 0.0, "", 0.0))
                continue
            row = measure_file(name, role, t, p)
            log(f"{name} {t}: score {row.score} flagged {row.flagged} {row.reason} ({row.seconds} s)")
            rows.append(row)
            if t != "F16":
                p.unlink()
    return rows


def _fmt(r: Row | None) -> str:
    if r is None:
        return "—"
    if r.score is None and r.reason.startswith("llama.cpp could not"):
        return "not written"
    if r.score is None:
        return "not read" if "FORENSICS-QUANT-UNREADABLE" in r.findings else "did not run"
    return f"**{r.score:.2f}**" if r.flagged else f"{r.score:.2f}"


def render(rows: list[Row], llama_version: str) -> str:
    variants = list(dict.fromkeys(r.variant for r in rows))
    types = list(dict.fromkeys(r.qtype for r in rows))
    at = {(r.variant, r.qtype): r for r in rows}
    role = {r.variant: r.role for r in rows}
    lines = [
        "# Base-free forensics on the real zoo in every common GGUF type",
        "",
        "Generated by `python -m realzoo.quants` (`make real-quants`); do not edit by hand. Files: each variant "
        f"exported as F16/BF16 GGUF (gguf-py), every other type made from the F16 by llama.cpp "
        f"(llama-cpp-python {llama_version}, default tensor mixture). Cell: the base-free weight score "
        "(ratio to the organisms-only threshold, 1.0 = flag; **bold** = flagged). The threshold was set on "
        "the model organisms (`src/warden/forensics/CALIBRATION.md`), never on these models.",
        "",
        "| type | " + " | ".join(f"{v} ({role[v]})" for v in variants) + " | clean max | attack min |",
        "|---|" + "---|" * (len(variants) + 2),
    ]
    for t in types:
        cells = [_fmt(at.get((v, t))) for v in variants]
        clean = [
            r.score for v in variants if (r := at.get((v, t))) and r.role == "clean" and r.score is not None
        ]
        attack = [
            r.score for v in variants if (r := at.get((v, t))) and r.role == "attack" and r.score is not None
        ]
        lo = f"{min(attack):.2f}" if attack else "—"
        hi = f"{max(clean):.2f}" if clean else "—"
        lines.append(f"| {t} | " + " | ".join(cells) + f" | {hi} | {lo} |")
    scored = [r for r in rows if r.score is not None]
    clean_fp = [r for r in scored if r.role == "clean" and r.flagged]
    attack_tp = [r for r in scored if r.role == "attack" and r.flagged]
    n_clean = sum(1 for r in scored if r.role == "clean")
    n_attack = sum(1 for r in scored if r.role == "attack")
    hi_clean = max((r.score for r in scored if r.role == "clean" and r.score is not None), default=None)
    lines += [
        "",
        f"Clean files flagged: {len(clean_fp)} of {n_clean}; attack files flagged: {len(attack_tp)} of "
        f"{n_attack}."
        + (
            f" Highest clean score {hi_clean:.2f}: margin ×{1.0 / hi_clean:.2f} under the threshold."
            if hi_clean
            else ""
        ),
        "",
        "Per attack, the types in which it is missed:",
        "",
    ]
    for v in variants:
        if role[v] != "attack":
            continue
        missed = [t for t in types if (r := at.get((v, t))) and r.score is not None and not r.flagged]
        lines.append(f"- {v}: " + (", ".join(missed) if missed else "none"))
    unread = [r for r in rows if "FORENSICS-QUANT-UNREADABLE" in r.findings]
    if unread:
        lines += [
            "",
            "Types gguf cannot dequantize (reported as FORENSICS-QUANT-UNREADABLE, never a traceback): "
            + ", ".join(sorted({r.qtype for r in unread}))
            + f" — e.g. {unread[0].variant} {unread[0].qtype}: stage {unread[0].reason!r}.",
        ]
    unwritten = sorted({r.qtype for r in rows if r.reason.startswith("llama.cpp could not")})
    if unwritten:
        why = next(r.reason for r in rows if r.qtype == unwritten[0] and r.reason.startswith("llama.cpp"))
        lines += ["", f"Not written by llama.cpp for these models: {', '.join(unwritten)} ({why})."]
    lines += ["", "Tensor types per file (llama.cpp's mixture; SmolLM2 rows of width 576 fall back):", ""]
    for t in types:
        r = next((r for r in rows if r.qtype == t and r.tensor_types), None)
        if r is not None:
            mix = ", ".join(f"{k} {n}" for k, n in r.tensor_types.items())
            lines.append(f"- {t} ({r.mib} MiB): {mix}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--llama-cpp", type=Path, required=True, help="a python with llama-cpp-python")
    ap.add_argument("--zoo", type=Path, default=None, help="default: $WARDEN_REAL_CACHE/zoo")
    ap.add_argument("--out", type=Path, default=ROOT / "realzoo" / "QUANTS.md")
    ap.add_argument("--only", default=None, help="comma-separated variants")
    ap.add_argument("--types", default=None, help="comma-separated types (default: all)")
    ap.add_argument(
        "--merge", action="store_true", help="keep the rows of the existing JSON that this run does not redo"
    )
    args = ap.parse_args(argv)
    zoo = args.zoo or R.cache_root() / "zoo"
    if not (zoo / "MANIFEST.json").is_file():
        print(f"error: no real zoo at {zoo}: run `make real-zoo` first", file=sys.stderr)
        return 2
    names = args.only.split(",") if args.only else list(VARIANTS)
    types = tuple(args.types.split(",")) if args.types else TYPES
    ver = subprocess.run(
        [str(args.llama_cpp), "-c", "import llama_cpp; print(llama_cpp.__version__)"],
        capture_output=True, text=True, check=False,
    ).stdout.strip()  # fmt: skip
    if not ver:
        print(f"error: {args.llama_cpp} cannot import llama_cpp", file=sys.stderr)
        return 2
    rows = run(zoo, args.llama_cpp, names, types)
    raw = args.out.with_suffix(".json")
    if args.merge and raw.is_file():
        rows = merge(load_rows(raw), rows)
    raw.write_text(json.dumps([dataclasses.asdict(r) for r in rows], indent=1) + "\n", encoding="utf-8")
    args.out.write_text(render(rows, ver), encoding="utf-8")
    log(f"wrote {args.out} and {raw}")
    return 0


def merge(old: list[Row], new: list[Row]) -> list[Row]:
    """``old`` with the (variant, type) cells ``new`` redid replaced, in VARIANTS x TYPES order."""
    cells = {(r.variant, r.qtype): r for r in (*old, *new)}
    vs = [*VARIANTS, *sorted({v for v, _ in cells} - set(VARIANTS))]
    ts = [*TYPES, *sorted({t for _, t in cells} - set(TYPES))]
    return [cells[(v, t)] for v in vs for t in ts if (v, t) in cells]


def load_rows(path: Path) -> list[Row]:
    data: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
    return [Row(**(d | {"findings": tuple(d["findings"])})) for d in data]


if __name__ == "__main__":
    raise SystemExit(main())
