"""Forensics throughput and memory on a synthetic checkpoint shaped like a ~1B Llama (not a test).

    .venv/bin/python benchmarks/forensics_bench.py [--scale 1.0] [--threads 2] [--keep DIR]

Writes a random-weight bf16 "base" and a classically abliterated copy (sharded safetensors, tied
embeddings like Llama-3.2-1B: d=2048, 16 layers, ffn 8192, vocab 128256 at --scale 1; d, ffn and vocab
shrink with --scale), then times in separate processes:
  base-free   warden forensics on the abliterated model      vs  sha256sum of its files
  diff        ... with --base                                 vs  sha256sum of both models' files
and prints the ratios and each process's peak resident set (VmHWM) above the runtime next to the memory
budget: 2 largest tensors + O(d^2). Targets: time <= 3x hashing; the budget. Run it on an idle machine:
both sides are CPU-bound, a loaded machine distorts the ratio. At small --scale, fixed costs (BLAS
buffers, the d x d matrices) dominate the tensors, so the budget is meant for the ~1B shape.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from safetensors.torch import save_file

GiB = 1 << 30


def shape_for(scale: float, layers: int) -> dict[str, int]:
    d = max(128, int(round(2048 * scale / 64)) * 64)
    return {
        "hidden_size": d,
        "intermediate_size": 4 * d,
        "num_hidden_layers": layers,
        "num_attention_heads": d // 64,
        "num_key_value_heads": max(1, d // 256),
        "vocab_size": max(1024, int(128256 * scale)),
        "head_dim": 64,
    }


def tensors(cfg: dict[str, int]):
    """(name, shape) in file order."""
    d, f, v = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    kv = cfg["num_key_value_heads"] * cfg["head_dim"]
    yield "model.embed_tokens.weight", (v, d)
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        yield p + "input_layernorm.weight", (d,)
        yield p + "self_attn.q_proj.weight", (d, d)
        yield p + "self_attn.k_proj.weight", (kv, d)
        yield p + "self_attn.v_proj.weight", (kv, d)
        yield p + "self_attn.o_proj.weight", (d, d)
        yield p + "post_attention_layernorm.weight", (d,)
        yield p + "mlp.gate_proj.weight", (f, d)
        yield p + "mlp.up_proj.weight", (f, d)
        yield p + "mlp.down_proj.weight", (d, f)
    yield "model.norm.weight", (d,)


def write_pair(root: Path, cfg: dict[str, int], shard_bytes: int = 512 << 20) -> tuple[Path, Path]:
    """base/ and abliterated/ (classic: every o_proj/down_proj and the embedding), written shard by shard."""
    g = torch.Generator().manual_seed(0)
    r = torch.randn(cfg["hidden_size"], generator=g, dtype=torch.float64)
    r = (r / r.norm()).float()
    dirs = {k: root / k for k in ("base", "abliterated")}
    maps: dict[str, dict[str, str]] = {k: {} for k in dirs}
    shard: dict[str, dict[str, torch.Tensor]] = {k: {} for k in dirs}
    size, n = 0, 0

    def flush() -> None:
        nonlocal size, n
        n += 1
        for k, p in dirs.items():
            name = f"model-{n:05d}.safetensors"
            save_file(shard[k], str(p / name))
            maps[k].update({t: name for t in shard[k]})
            shard[k] = {}
        size = 0

    for p in dirs.values():
        p.mkdir(parents=True, exist_ok=True)
    for name, shp in tensors(cfg):
        w = torch.ones(shp) if len(shp) == 1 else torch.randn(shp, generator=g) * 0.02
        a = w
        if name.endswith(("o_proj.weight", "down_proj.weight")):
            a = w - torch.outer(r, r @ w)
        elif name.endswith("embed_tokens.weight"):
            a = w - torch.outer(w @ r, r)
        shard["base"][name] = w.to(torch.bfloat16)
        shard["abliterated"][name] = a.to(torch.bfloat16)
        size += w.numel() * 2
        if size >= shard_bytes:
            flush()
    if shard["base"]:
        flush()
    for k, p in dirs.items():
        (p / "model.safetensors.index.json").write_text(json.dumps({"metadata": {}, "weight_map": maps[k]}))
        (p / "config.json").write_text(
            json.dumps({"model_type": "llama", "tie_word_embeddings": True, **cfg})
        )
    return dirs["base"], dirs["abliterated"]


CHILD = """
import json, re, sys, time
from warden.forensics import ForensicsConfig, run_forensics
def status(key):  # kB -> bytes
    return int(re.search(key + r":\\s+(\\d+) kB", open("/proc/self/status").read()).group(1)) * 1024
model, base, threads = sys.argv[1], (sys.argv[2] or None), int(sys.argv[3])
before = status("VmRSS")  # the runtime: interpreter, torch, warden imported
t = time.perf_counter()
rep = run_forensics(model, base=base, config=ForensicsConfig(threads=threads))
dt = time.perf_counter() - t
# VmHWM is this process's own peak resident set (ru_maxrss is not: Linux carries it across exec from the
# parent, which held the generated checkpoints)
print(json.dumps({"seconds": dt, "rss_before": before, "peak_rss": status("VmHWM"),
                  "findings": sorted({f.rule_id for f in rep.findings}),
                  "score": rep.data["forensics"]["basefree"]["score"]}))
"""


def run_child(model: Path, base: Path | None, threads: int) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(model), str(base or ""), str(threads)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def hash_seconds(files: list[Path]) -> float:
    t = time.perf_counter()
    subprocess.run(["sha256sum", *map(str, files)], check=True, capture_output=True)
    return time.perf_counter() - t


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=float, default=1.0, help="1.0 = ~1.2B parameters; 0.25 = ~0.1B")
    ap.add_argument("--layers", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--keep", type=Path, default=None, help="write (or reuse) the checkpoints here")
    args = ap.parse_args()
    cfg = shape_for(args.scale, args.layers)
    n_params = sum(int(torch.Size(s).numel()) for _, s in tensors(cfg))
    need = 2 * n_params * 2 * 1.05
    root = args.keep or Path(tempfile.mkdtemp(prefix="warden-bench-"))
    root.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(root).free
    print(f"shape {cfg}  params {n_params / 1e9:.2f}B  bf16 {n_params * 2 / GiB:.2f} GiB per model")
    if free < need * 1.2 and not (root / "base").exists():
        print(f"not enough disk in {root}: need {need / GiB:.1f} GiB, free {free / GiB:.1f} GiB; use --scale")
        return 2
    try:
        if not (root / "abliterated" / "model.safetensors.index.json").exists():
            t = time.perf_counter()
            write_pair(root, cfg)
            print(f"generated in {time.perf_counter() - t:.1f}s under {root}")
        base, abl = root / "base", root / "abliterated"
        files_a = sorted(abl.glob("*.safetensors"))
        files_b = sorted(base.glob("*.safetensors"))
        hash_seconds(files_a + files_b)  # warm the page cache for both sides alike
        d, f, v = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
        largest = sorted([v * d, f * d, f * d], reverse=True)
        budget_bf16 = (largest[0] + largest[1]) * 2
        from warden.forensics import ForensicsConfig

        gram_cap = ForensicsConfig().basefree.gram_ram_bytes
        print(
            f"largest tensors {largest[0] * 2 / GiB:.2f} + {largest[1] * 2 / GiB:.2f} GiB (bf16); "
            f"d^2 fp32 = {d * d * 4 / (1 << 20):.0f} MiB; torch threads {args.threads}"
        )
        for mode, files, b in (("base-free", files_a, None), ("diff", files_a + files_b, base)):
            th = hash_seconds(files)
            res = run_child(abl, b, args.threads)
            sec, peak, before = float(res["seconds"]), int(res["peak_rss"]), int(res["rss_before"])  # type: ignore[arg-type]
            above = peak - before
            print(
                f"{mode:9s} forensics {sec:7.1f}s  sha256sum {th:7.1f}s  ratio {sec / th:5.2f}x (target <= 3x)"
            )
            print(
                f"          peak RSS {peak / GiB:.2f} GiB = {before / GiB:.2f} GiB runtime (imports) + {above / GiB:.2f} GiB"
                f" for the analysis = {above / budget_bf16:.2f}x the 2 largest tensors as stored"
                f" ({budget_bf16 / GiB:.2f} GiB); O(d^2) terms: Gram cache cap {gram_cap / GiB:.2f} GiB"
                f" + a few d x d float64 ({d * d * 8 / GiB:.3f} GiB each)"
            )
            print(f"          findings {res['findings']}  base-free score {res['score']}")
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
