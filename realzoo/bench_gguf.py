"""Generation speed on a GGUF through Warden's eval backend (transformers' GGUF loading, dequantized
to fp32 on CPU): load time, then greedy tokens/s at several batch sizes. Benchmark, not a test.

    python -m realzoo.bench_gguf [GGUF] [--threads N] [--new 64] [--llama-cpp PYTHON]

Default GGUF: the shipped SmolLM2-135M-Instruct Q4_1 in the real-model cache. Prints one JSON object.

``--llama-cpp PYTHON``: the same prompts through llama.cpp too (``llama-cpp-python`` in its own venv:
it is not a Warden dependency, it only ships as a source tarball that compiles llama.cpp), run by that
interpreter in a subprocess: load time, greedy tokens/s one prompt at a time (its high-level API has
no batched generation), and how many greedy answers are identical to the transformers backend's.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

import torch

from realzoo import fetch as R
from realzoo.prompts import HARMLESS


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("gguf", nargs="?", type=Path, default=None)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--new", type=int, default=64, help="new tokens per prompt")
    ap.add_argument("--batches", default="1,8,32")
    ap.add_argument("--llama-cpp", type=Path, default=None, help="a python with llama-cpp-python")
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
    answers: list[str] = []
    for bs in (int(x) for x in args.batches.split(",")):
        b.batch_size = bs  # type: ignore[attr-defined]
        convs = [user(p) for p in HARMLESS[: max(bs, 4)]]
        t = time.perf_counter()
        outs = b.generate(convs, GenerationParams(max_new_tokens=args.new))
        dt = time.perf_counter() - t
        answers = outs if len(outs) > len(answers) else answers
        tok = b.tokenizer  # type: ignore[attr-defined]
        n = sum(len(tok(o, add_special_tokens=False)["input_ids"]) for o in outs)
        rows.append({"batch": bs, "prompts": len(convs), "new_tokens": n, "seconds": round(dt, 2),
                     "tokens_per_s": round(n / dt, 1)})  # fmt: skip
    out: dict[str, object] = {}
    if args.llama_cpp:
        prompts = list(HARMLESS[: len(answers)])
        lc = llama_cpp_run(args.llama_cpp, path, prompts, args.new, torch.get_num_threads())
        same = sum(a.strip() == c.strip() for a, c in zip(answers, lc.pop("answers"), strict=True))
        out["llama_cpp"] = lc | {"identical_greedy_answers": f"{same}/{len(prompts)}"}
    print(json.dumps({
        "gguf": str(path), "backend": b.describe(), "threads": torch.get_num_threads(), **out,
        "load_seconds": round(load_s, 1), "loadavg_1min_at_start": load0,
        "loadavg_1min_at_end": os.getloadavg()[0], "cpus": os.cpu_count(), "runs": rows,
    }, indent=1))  # fmt: skip
    return 0


LLAMA_CPP = r"""
import json, sys, time
from llama_cpp import Llama, __version__
path, new, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
prompts = json.loads(sys.stdin.read())
t = time.perf_counter()
llm = Llama(model_path=path, n_ctx=1024, n_threads=threads, n_batch=256, verbose=False, seed=0)
load = time.perf_counter() - t
outs, n = [], 0
t = time.perf_counter()
for p in prompts:
    r = llm.create_chat_completion([{"role": "user", "content": p}], max_tokens=new, temperature=0.0, top_k=1)
    outs.append(r["choices"][0]["message"]["content"])
    n += r["usage"]["completion_tokens"]
dt = time.perf_counter() - t
print(json.dumps({"version": __version__, "load_seconds": round(load, 2), "prompts": len(prompts),
                  "new_tokens": n, "seconds": round(dt, 2), "tokens_per_s": round(n / dt, 1), "answers": outs}))
"""


def llama_cpp_run(python: Path, gguf: Path, prompts: list[str], new: int, threads: int) -> dict[str, Any]:
    import subprocess

    proc = subprocess.run(
        [str(python), "-c", LLAMA_CPP, str(gguf), str(new), str(threads)],
        input=json.dumps(prompts), capture_output=True, text=True, timeout=1800, check=True,
    )  # fmt: skip
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


if __name__ == "__main__":
    raise SystemExit(main())
