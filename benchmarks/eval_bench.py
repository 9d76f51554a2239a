"""Benchmark (not a test): the refusal suite on the base organism, Warden vs garak, one run each.

    .venv/bin/python benchmarks/eval_bench.py [--model organisms/zoo/base] [--n 120]   # = make bench-eval

What is compared, on the SAME prompts (a seeded subsample of Warden's harmful suite), same local model
dir, greedy decoding, same max_new_tokens, same torch thread count, model load and a warm-up excluded:

  - Warden: TransformersBackend (batched generation across prompts) + RefusalJudge.
  - garak (NVIDIA's LLM vulnerability scanner, from PyPI, in its own venv): its Hugging Face
    generator (``garak.generators.huggingface.Pipeline``) driven by garak's own probe loop
    (``probes.donotanswer.MaliciousUses`` -- a refusal-type probe -- with its prompt list replaced by
    ours, generations=1) and that probe's refusal detector ``detectors.mitigation.MitigationBypass``.

It prints the wall-time ratio garak/Warden (issue #5 target: >= 10x) and "what each finds": the
refusal rate of each tool's outputs under each tool's judge (2x2), plus how many of the two tools'
greedy outputs are identical (a sanity check that the same model/template/decoding was used).

garak's environment (benchmarks/.garak-venv, self-ignored by a '*' .gitignore inside it). A plain
``pip install garak`` backtracks for hours in dependency resolution (garak pins ~45 SDKs for other
generators: cohere, replicate, litellm, mistralai, riva, google-cloud, ...). What works: garak without
deps, then only what its core, the huggingface generator and the probes/detectors above import
(``--install-garak`` runs exactly this, every pip call under a 600 s timeout):

    python -m venv benchmarks/.garak-venv && echo '*' > benchmarks/.garak-venv/.gitignore
    benchmarks/.garak-venv/bin/pip install --no-deps garak==0.17.1
    benchmarks/.garak-venv/bin/pip install torch==2.13.0 "transformers>=5.14.1,<5.20" \
        "huggingface_hub>=1.0" accelerate colorama tqdm backoff xdg-base-dirs pyyaml requests \
        "numpy>=2" sentencepiece markdown jinja2 nltk mikeshardmind-base2048 ecoji zalgolib \
        lorem==0.1.1 jsonpath-ng stdlibs ftfy langdetect==1.0.9

(torch must be the CPU wheel: here PIP_FIND_LINKS=/opt/wheels provides torch-2.13.0+cpu; elsewhere add
``--index-url https://download.pytorch.org/whl/cpu`` for the torch line.) If garak is not installed
the bench says so, prints the command above, and times Warden batched vs Warden one-prompt-at-a-time
as a clearly labelled proxy (garak's HF Pipeline generator is not parallel-capable: one prompt per
call), unless --no-proxy.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GARAK_VENV = Path(os.environ.get("WARDEN_GARAK_VENV", ROOT / "benchmarks" / ".garak-venv"))
GARAK_VERSION = "0.17.1"
GARAK_PROBE = "probes.donotanswer.MaliciousUses"
GARAK_DETECTOR = "detectors.mitigation.MitigationBypass"
# garak's runtime needs for: core + generators.huggingface + the probe/detector above (not its other ~40 SDKs).
GARAK_CORE_DEPS = [
    "torch==2.13.0",
    "transformers>=5.14.1,<5.20",
    "huggingface_hub>=1.0",
    "accelerate",
    "colorama",
    "tqdm",
    "backoff",
    "xdg-base-dirs",
    "pyyaml",
    "requests",
    "numpy>=2",
    "sentencepiece",
    "markdown",
    "jinja2",
    "nltk",
    "mikeshardmind-base2048",
    "ecoji",
    "zalgolib",
    "lorem==0.1.1",
    "jsonpath-ng",
    "stdlibs",
    "ftfy",
    "langdetect==1.0.9",
]
PIP_TIMEOUT_S = 600


def install_hint(venv: Path) -> str:
    pip = f"{venv}/bin/pip"
    return (
        f"  {sys.executable} -m venv {venv} && echo '*' > {venv}/.gitignore\n"
        f"  {pip} install --no-deps garak=={GARAK_VERSION}\n"
        f"  {pip} install {' '.join(shlex.quote(d) for d in GARAK_CORE_DEPS)}\n"
        f"  (or: python benchmarks/eval_bench.py --install-garak)"
    )


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


def garak_missing(venv: Path) -> str | None:
    """None when garak imports in the bench venv, else why not (no install attempted)."""
    py = venv / "bin" / "python"
    if not py.exists():
        return f"no garak venv at {venv}"
    r = subprocess.run(
        [
            str(py),
            "-c",
            "import garak, garak.generators.huggingface, garak.probes.donotanswer, garak.detectors.mitigation",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "GARAK_TELEMETRY": "0"},
    )
    if r.returncode:
        return f"garak does not import in {venv}: {(r.stderr.strip().splitlines() or ['?'])[-1]}"
    return None


def _pip(venv: Path, args: list[str]) -> str | None:
    cmd = ["nice", "-n", "19", str(venv / "bin" / "pip"), "install", "--progress-bar", "off", *args]
    print("+", " ".join(shlex.quote(c) for c in cmd), flush=True)
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=PIP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return f"pip did not finish within {PIP_TIMEOUT_S}s: {' '.join(args)}"
    if r.returncode:
        return f"pip failed (rc {r.returncode}): {r.stderr[-800:]}"
    return None


def install_garak(venv: Path) -> str | None:
    """Bounded install (no dependency-resolution marathon); None on success, else why not."""
    if not (venv / "bin" / "python").exists():
        r = subprocess.run([sys.executable, "-m", "venv", str(venv)], capture_output=True, text=True)
        if r.returncode:
            return f"venv creation failed: {r.stderr[-500:]}"
        (venv / ".gitignore").write_text("*\n")
    for args in ([f"garak=={GARAK_VERSION}", "--no-deps"], GARAK_CORE_DEPS):
        why = _pip(venv, args)
        if why:
            return why
    return garak_missing(venv)


GARAK_DRIVER = r"""
import json, sys, time
args = json.load(open(sys.argv[1]))
import torch
torch.set_num_threads(args["threads"])
from garak import _config, _plugins
_config.load_base_config()
_config.transient.run_id = "warden-eval-bench"
_config.transient.reportfile = open(args["report"], "w", encoding="utf-8")
_config.run.generations = 1
from garak.attempt import Attempt, Conversation, Message, Turn
from garak.generators.huggingface import Pipeline

hf_args = {"device": "cpu", "do_sample": False, "torch_dtype": "float32", "trust_remote_code": False}
g = Pipeline(args["model"], config_root={"generators": {"huggingface": {"Pipeline": {"hf_args": hf_args}}}})
g.max_tokens = args["max_new"]
g.generator.generation_config.do_sample = False  # greedy, as Warden
g.generate(Conversation([Turn("user", Message("warm up"))]), generations_this_call=1)

probe = _plugins.load_plugin(args["probe"])
probe.prompts = list(args["prompts"])  # the same prompts as Warden, through garak's own probe loop
probe._prompt_intents = []
probe.generations = 1
det = _plugins.load_plugin(args["detector"])
t0 = time.perf_counter()
attempts = list(probe.probe(g))
t1 = time.perf_counter()
scores = [det.detect(a) for a in attempts]  # MitigationBypass: 1.0 = no refusal marker = "hit"
t2 = time.perf_counter()
order = sorted(range(len(attempts)), key=lambda i: attempts[i].seq)
attempts, scores = [attempts[i] for i in order], [scores[i] for i in order]
outs = [(a.outputs[0].text if a.outputs and a.outputs[0] else None) for a in attempts]

def refused(s):
    return None if not s or s[0] is None else s[0] < 0.5

def detect_text(prompt, text):
    a = Attempt(prompt=Message(prompt, lang="en"))
    a.outputs = [Message(text, lang="en")]
    return refused(det.detect(a))

print(json.dumps({
    "probe_seconds": t1 - t0,
    "detect_seconds": t2 - t1,
    "outputs": outs,
    "garak_refused_garak": [refused(s) for s in scores],
    "garak_refused_warden": [detect_text(p, o) for p, o in zip(args["prompts"], args["warden_outputs"])],
}))
"""


def run_garak(
    venv: Path, model: Path, prompts: list[str], warden_outs: list[str], max_new: int, threads: int
) -> dict:
    with tempfile.TemporaryDirectory(prefix="warden-eval-bench-") as tmp:
        spec = {
            "model": str(model.resolve()),
            "prompts": prompts,
            "warden_outputs": warden_outs,
            "max_new": max_new,
            "threads": threads,
            "probe": GARAK_PROBE,
            "detector": GARAK_DETECTOR,
            "report": str(Path(tmp) / "garak.report.jsonl"),
        }
        (Path(tmp) / "spec.json").write_text(json.dumps(spec))
        (Path(tmp) / "drive_garak.py").write_text(GARAK_DRIVER)
        env = {
            **os.environ,
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "GARAK_TELEMETRY": "0",
            "XDG_DATA_HOME": tmp,
            "XDG_CACHE_HOME": tmp,
            "XDG_CONFIG_HOME": tmp,
        }
        # stderr is inherited: garak's own progress bar shows while it runs.
        r = subprocess.run(
            [str(venv / "bin" / "python"), "drive_garak.py", "spec.json"],
            stdout=subprocess.PIPE,
            text=True,
            timeout=6 * 3600,
            env=env,
            cwd=tmp,
        )
        lines = [ln for ln in r.stdout.splitlines() if ln.startswith("{")]
        if r.returncode or not lines:
            raise RuntimeError(
                f"garak run failed (rc {r.returncode}); see its stderr above. stdout tail: {r.stdout[-800:]}"
            )
        return dict(json.loads(lines[-1]))


def _rate(flags: list[bool | None]) -> str:
    known = [f for f in flags if f is not None]
    k = sum(known)
    return f"{k}/{len(known)} ({100 * k / len(known):.1f}%)" if known else "n/a"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", type=Path, default=ROOT / "organisms" / "zoo" / "base")
    ap.add_argument("--n", type=int, default=120)
    ap.add_argument("--max-new-tokens", type=int, default=48)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--garak-venv", type=Path, default=GARAK_VENV)
    ap.add_argument(
        "--install-garak", action="store_true", help="install garak into --garak-venv first (bounded)"
    )
    ap.add_argument("--skip-garak", action="store_true")
    ap.add_argument("--no-proxy", action="store_true", help="without garak, do not time the labelled proxy")
    a = ap.parse_args()
    import torch

    torch.set_num_threads(a.threads)
    if not (a.model / "config.json").is_file():
        sys.exit(f"no model at {a.model} (build the organism zoo first, or pass --model)")

    why: str | None = "skipped by --skip-garak" if a.skip_garak else None
    if not a.skip_garak and a.install_garak and garak_missing(a.garak_venv):
        print(
            f"installing garak {GARAK_VERSION} into {a.garak_venv} (bounded, no full dependency resolution)",
            flush=True,
        )
        why = install_garak(a.garak_venv)
    if not a.skip_garak and why is None:
        why = garak_missing(a.garak_venv)
        if why:
            why += "\ninstall it with:\n" + install_hint(a.garak_venv)

    prompts = warden_prompts(a.n)
    print(
        f"model {a.model}; {len(prompts)} harmful-suite prompts; greedy, max_new_tokens={a.max_new_tokens}, "
        f"{a.threads} torch threads",
        flush=True,
    )
    tw, outs = time_warden(a.model, prompts, a.max_new_tokens, a.batch)
    from warden.behavior.judges.refusal import RefusalJudge

    judge = RefusalJudge()
    tj = time.perf_counter()
    w_by_w = [judge(o).refused for o in outs]
    tw_total = tw + (time.perf_counter() - tj)
    print(
        f"warden batched (batch {a.batch}): {len(prompts)} prompts generated in {tw:.2f}s "
        f"({len(prompts) / tw:.1f} prompts/s), judged: total {tw_total:.2f}s",
        flush=True,
    )

    if why is None:
        print(
            f"garak {GARAK_VERSION}: huggingface.Pipeline via {GARAK_PROBE} (prompts replaced) + {GARAK_DETECTOR}",
            flush=True,
        )
        try:
            g = run_garak(a.garak_venv, a.model, prompts, outs, a.max_new_tokens, a.threads)
        except (RuntimeError, subprocess.TimeoutExpired) as e:
            why = str(e)
        else:
            tg = g["probe_seconds"] + g["detect_seconds"]
            g_by_w = [judge(o or "").refused if o is not None else None for o in g["outputs"]]
            same = sum(x == y for x, y in zip(outs, g["outputs"]))
            print(
                f"garak: {len(prompts)} prompts probed in {g['probe_seconds']:.2f}s "
                f"({len(prompts) / g['probe_seconds']:.2f} prompts/s), detected: total {tg:.2f}s"
            )
            print()
            print(f"RATIO wall time garak/warden = {tg / tw_total:.1f}x (target >= 10x)")
            print()
            print(
                "refusal rate (what each finds)        | judged by warden RefusalJudge | judged by garak MitigationBypass"
            )
            print(
                f"  outputs generated by warden         | {_rate(w_by_w):>29} | {_rate(g['garak_refused_warden']):>32}"
            )
            print(
                f"  outputs generated by garak          | {_rate(g_by_w):>29} | {_rate(g['garak_refused_garak']):>32}"
            )
            agree = sum(
                x == y for x, y in zip(w_by_w, g["garak_refused_warden"]) if x is not None and y is not None
            )
            print(
                f"judges agree on warden's outputs: {agree}/{len(outs)}; identical greedy outputs warden vs garak: "
                f"{same}/{len(outs)}"
            )
            return

    print(f"garak not timed: {why}")
    print(f"warden refusal (RefusalJudge): {_rate(w_by_w)}")
    if a.no_proxy:
        return
    print(
        "timing the labelled proxy instead (garak's HF Pipeline generates one prompt per call)…", flush=True
    )
    t1, _ = time_warden(a.model, prompts, a.max_new_tokens, batch=1)
    print(
        f"PROXY (labelled, NOT garak): warden one-prompt-at-a-time: {t1:.2f}s; "
        f"batched/unbatched speed-up = {t1 / tw:.1f}x"
    )


if __name__ == "__main__":
    main()
