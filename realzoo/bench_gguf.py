"""Generation speed on a GGUF through Warden's eval backend (transformers' GGUF loading, dequantized
to fp32 on CPU): load time, then greedy tokens/s at several batch sizes. Benchmark, not a test.

    python -m realzoo.bench_gguf [GGUF] [--threads N] [--new 64]

Default GGUF: the shipped SmolLM2-135M-Instruct Q4_1 in the real-model cache. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import torch

from realzoo import fetch as R
from realzoo.prompts import HARMLESS


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("gguf", nargs="?", type=Path, default=None)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--new", type=int, default=64, help="new tokens per prompt")
    ap.add_argument("--batches", default="1,8,32")
    args = ap.parse_args(argv)
    path = args.gguf or R.gguf_path()
    if args.threads:
        torch.set_num_threads(args.threads)
    from warden.behavior.backends import GenerationParams, open_backend, user

    load0 = os.getloadavg()[0]
    t = time.perf_counter()
    b = open_backend(path, batch_size=1)
    load_s = time.perf_counter() - t
    rows = []
    for bs in (int(x) for x in args.batches.split(",")):
        b.batch_size = bs  # type: ignore[attr-defined]
        convs = [user(p) for p in HARMLESS[: max(bs, 4)]]
        t = time.perf_counter()
        outs = b.generate(convs, GenerationParams(max_new_tokens=args.new))
        dt = time.perf_counter() - t
        tok = b.tokenizer  # type: ignore[attr-defined]
        n = sum(len(tok(o, add_special_tokens=False)["input_ids"]) for o in outs)
        rows.append({"batch": bs, "prompts": len(convs), "new_tokens": n, "seconds": round(dt, 2),
                     "tokens_per_s": round(n / dt, 1)})  # fmt: skip
    print(json.dumps({
        "gguf": str(path), "backend": b.describe(), "threads": torch.get_num_threads(),
        "load_seconds": round(load_s, 1), "loadavg_1min_at_start": load0,
        "loadavg_1min_at_end": os.getloadavg()[0], "cpus": os.cpu_count(), "runs": rows,
    }, indent=1))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
