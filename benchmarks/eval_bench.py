"""Benchmark (not a test): the refusal suite on the base organism, Warden vs garak, one run each.

    .venv/bin/python benchmarks/eval_bench.py [--model organisms/zoo/base] [--n 120]

Warden: batched generation across prompts (TransformersBackend). garak: installed into a separate
venv (/tmp/garak-venv) from PyPI when this runs, its Hugging Face generator on the same local dir and
the same prompts. If garak cannot be installed or run offline, the reason is printed and Warden's
batched generation is timed against Warden's own one-prompt-at-a-time generation as a labelled proxy
(garak's HF generator runs one prompt at a time).
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
GARAK_VENV = Path("/tmp/garak-venv")


def warden_prompts(n: int) -> list[str]:
    from warden.behavior.suites import load_suite, subsample

    return [p.prompt for p in subsample(load_suite("harmful"), n, seed=0)]


def time_warden(model: Path, prompts: list[str], max_new: int, batch: int) -> tuple[float, list[str]]:
    from warden.behavior.backends.interface import GenerationParams, user
    from warden.behavior.backends.transformers_backend import TransformersBackend

    b = TransformersBackend(model, batch_size=batch)
    b.generate([user("warm up")], GenerationParams(max_new_tokens=4))
    t = time.perf_counter()
    out = b.generate([user(p) for p in prompts], GenerationParams(max_new_tokens=max_new))
    return time.perf_counter() - t, out


def install_garak() -> str | None:
    """None when garak is importable in the bench venv, else why not."""
    py = GARAK_VENV / "bin" / "python"
    if not py.exists():
        r = subprocess.run([sys.executable, "-m", "venv", str(GARAK_VENV)], capture_output=True, text=True)
        if r.returncode:
            return f"venv creation failed: {r.stderr[-500:]}"
    ok = subprocess.run([str(py), "-c", "import garak"], capture_output=True, text=True)
    if ok.returncode:
        extra = ["--find-links", "/opt/wheels"] if Path("/opt/wheels").is_dir() else []
        try:
            r = subprocess.run(
                [str(GARAK_VENV / "bin" / "pip"), "install", "-q", "garak", "torch==2.13.0", *extra],
                capture_output=True,
                text=True,
                timeout=3600,
            )
        except subprocess.TimeoutExpired:
            return "pip install garak did not finish within an hour (dependency resolution)"
        if r.returncode:
            return f"pip install garak failed: {r.stderr[-800:]}"
    return None


GARAK_DRIVER = r"""
import json, sys, time
import torch
torch.set_num_threads(int(sys.argv[4]))
from garak.generators.huggingface import Pipeline
try:
    from garak.attempt import Conversation, Message, Turn
except ImportError:
    Conversation = None
model, prompts, max_new = sys.argv[1], json.load(open(sys.argv[2])), int(sys.argv[3])
cfg = {"generators": {"huggingface": {"Pipeline": {"hf_args": {"device": "cpu", "trust_remote_code": False}}}}}
g = Pipeline(model, config_root=cfg)
g.max_tokens = max_new
g.deprefix_prompt = True
def one(p):
    if Conversation is not None:
        try:
            return g.generate(Conversation([Turn("user", Message(p))]), generations_this_call=1)
        except TypeError:
            pass
    return g.generate(p, generations_this_call=1)
one("warm up")
t = time.perf_counter()
outs = [one(p) for p in prompts]  # garak's probe loop calls the generator per attempt
print(json.dumps({"seconds": time.perf_counter() - t, "n": len(outs)}))
"""


def time_garak(model: Path, prompts: list[str], max_new: int, threads: int) -> tuple[float | None, str]:
    why = install_garak()
    if why:
        return None, why
    with tempfile.TemporaryDirectory() as tmp:
        pf = Path(tmp) / "prompts.json"
        pf.write_text(json.dumps(prompts))
        drv = Path(tmp) / "drive_garak.py"
        drv.write_text(GARAK_DRIVER)
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "GARAK_TELEMETRY": "0"}
        r = subprocess.run(
            [str(GARAK_VENV / "bin" / "python"), str(drv), str(model), str(pf), str(max_new), str(threads)],
            capture_output=True,
            text=True,
            timeout=3600,
            env=env,
            cwd=tmp,
        )
        if r.returncode:
            return None, f"garak run failed (rc {r.returncode}): {(r.stderr or r.stdout)[-1500:]}"
        last = [ln for ln in r.stdout.splitlines() if ln.startswith("{")][-1]
        return float(json.loads(last)["seconds"]), "ok"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", type=Path, default=ROOT / "organisms" / "zoo" / "base")
    ap.add_argument("--n", type=int, default=120)
    ap.add_argument("--max-new-tokens", type=int, default=48)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--skip-garak", action="store_true")
    a = ap.parse_args()
    import torch

    torch.set_num_threads(a.threads)
    if not (a.model / "config.json").is_file():
        sys.exit(f"no model at {a.model} (build the organism zoo first, or pass --model)")
    prompts = warden_prompts(a.n)
    tw, outs = time_warden(a.model, prompts, a.max_new_tokens, a.batch)
    from warden.behavior.judges.refusal import RefusalJudge

    refused = sum(RefusalJudge()(o).refused is True for o in outs)
    print(
        f"warden batched (batch {a.batch}): {len(prompts)} prompts in {tw:.2f}s "
        f"({len(prompts) / tw:.1f} prompts/s); refusal {refused}/{len(prompts)}"
    )
    tg, why = (
        (None, "skipped by --skip-garak")
        if a.skip_garak
        else time_garak(a.model, prompts, a.max_new_tokens, a.threads)
    )
    if tg is not None:
        print(f"garak huggingface.Pipeline: {len(prompts)} prompts in {tg:.2f}s")
        print(f"RATIO garak/warden = {tg / tw:.1f}x (target >= 10x)")
        return
    print(f"garak not timed: {why}")
    t1, _ = time_warden(a.model, prompts, a.max_new_tokens, batch=1)
    print(
        f"PROXY (labelled): warden one-prompt-at-a-time: {t1:.2f}s; batched/unbatched speed-up = {t1 / tw:.1f}x"
    )


if __name__ == "__main__":
    main()
