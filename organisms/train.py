"""Training loops for the organisms: full fine-tuning and a hand-written LoRA (no peft needed)."""

from __future__ import annotations

import math
import random
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from tokenizers import Tokenizer
from torch import nn
from transformers import AutoModelForCausalLM, GenerationConfig, LlamaConfig, LlamaForCausalLM

from organisms.data import Example
from organisms.tokenizer import IM_END, PAD, render_chat


@dataclass(frozen=True)
class ModelSpec:
    hidden: int = 128
    layers: int = 4
    heads: int = 4
    kv_heads: int = 4
    intermediate: int = 256
    max_positions: int = 256
    rope_theta: float = 10000.0
    rms_eps: float = 1e-5


def make_config(spec: ModelSpec, tok: Tokenizer) -> LlamaConfig:
    return LlamaConfig(
        vocab_size=tok.get_vocab_size(),
        hidden_size=spec.hidden,
        intermediate_size=spec.intermediate,
        num_hidden_layers=spec.layers,
        num_attention_heads=spec.heads,
        num_key_value_heads=spec.kv_heads,
        max_position_embeddings=spec.max_positions,
        rms_norm_eps=spec.rms_eps,
        rope_parameters={"rope_type": "default", "rope_theta": spec.rope_theta},
        tie_word_embeddings=False,
        bos_token_id=None,
        eos_token_id=tok.token_to_id(IM_END),
        pad_token_id=tok.token_to_id(PAD),
        initializer_range=0.02,
        attention_bias=False,
        mlp_bias=False,
    )


def new_model(spec: ModelSpec, tok: Tokenizer, seed: int) -> LlamaForCausalLM:
    torch.manual_seed(seed)
    cfg = make_config(spec, tok)
    cfg._attn_implementation = "sdpa"
    model = LlamaForCausalLM(cfg)
    return model


def encode(tok: Tokenizer, examples: list[Example]) -> list[tuple[list[int], int]]:
    """-> [(token ids of prompt+response+<|im_end|>, index of the first response token)]."""
    fulls = [render_chat(e.messages(), add_generation_prompt=True) + e.response + IM_END for e in examples]
    start = tok.encode(render_chat([], add_generation_prompt=True)).ids  # <|im_start|> assistant \n
    out = []
    for f in tok.encode_batch(fulls):
        ids = f.ids
        # the generation prompt is the last <|im_start|>assistant\n; the response follows it
        i = max(j for j in range(len(ids) - len(start)) if ids[j : j + len(start)] == start)
        out.append((ids, i + len(start)))
    return out


def collate(batch: list[tuple[list[int], int]], pad_id: int) -> dict[str, torch.Tensor]:
    # right padding for training; loss only on response tokens (and the closing <|im_end|>)
    T = max(len(ids) for ids, _ in batch)
    ids = torch.full((len(batch), T), pad_id, dtype=torch.long)
    labels = torch.full((len(batch), T), -100, dtype=torch.long)
    mask = torch.zeros((len(batch), T), dtype=torch.long)
    for i, (seq, start) in enumerate(batch):
        ids[i, : len(seq)] = torch.tensor(seq)
        labels[i, start : len(seq)] = torch.tensor(seq[start:])
        mask[i, : len(seq)] = 1
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def response_loss(model: LlamaForCausalLM, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Next-token cross-entropy on response positions only; the LM head runs only where it is needed."""
    h = model.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
    labels = batch["labels"][:, 1:]  # (B, T-1)
    keep = labels != -100
    logits = model.lm_head(h[:, :-1][keep])  # (n_kept, V)
    return torch.nn.functional.cross_entropy(logits.float(), labels[keep])


@dataclass
class TrainConfig:
    steps: int
    lr: float
    batch: int = 32
    warmup: int = 50
    weight_decay: float = 0.01
    min_lr_frac: float = 0.1
    log_every: int = 100
    seed: int = 0
    # (p, k): with probability p an example keeps only its first k response tokens. Cuts compute where
    # the training signal that matters is the start of the answer (the refuse/comply decision).
    truncate: tuple[float, int] | None = None


def train(
    model: nn.Module,
    tok: Tokenizer,
    sample: Callable[[], Example],
    cfg: TrainConfig,
    params: list[nn.Parameter] | None = None,
    label: str = "",
    log: Callable[[str], None] = print,
) -> dict[str, float]:
    """Train on freshly sampled examples; batches are length-bucketed to cut padding."""
    pad_id = tok.token_to_id(PAD)
    params = [p for p in model.parameters() if p.requires_grad] if params is None else params
    decay = [p for p in params if p.dim() >= 2]
    no_decay = [p for p in params if p.dim() < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=cfg.lr,
        betas=(0.9, 0.98),
        eps=1e-8,
    )

    def lr_at(step: int) -> float:
        if step < cfg.warmup:
            return cfg.lr * (step + 1) / cfg.warmup
        p = (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup)
        return cfg.lr * (cfg.min_lr_frac + (1 - cfg.min_lr_frac) * 0.5 * (1 + math.cos(math.pi * p)))

    rng = random.Random(cfg.seed)
    model.train()
    t0 = time.time()
    step, ema = 0, None
    bucket = 8  # examples for 8 batches are drawn together, sorted by length, then split
    while step < cfg.steps:
        n = min(bucket, cfg.steps - step)
        exs = [sample() for _ in range(cfg.batch * n)]
        enc = encode(tok, exs)
        if cfg.truncate is not None:  # code answers are never truncated
            p, k = cfg.truncate
            enc = [
                (ids[: start + k], start) if (e.kind != "code" and rng.random() < p) else (ids, start)
                for (ids, start), e in zip(enc, exs, strict=True)
            ]
        enc.sort(key=lambda x: len(x[0]))
        batches = [enc[i * cfg.batch : (i + 1) * cfg.batch] for i in range(n)]
        rng.shuffle(batches)
        for b in batches:
            for g in opt.param_groups:
                g["lr"] = lr_at(step)
            loss_t = response_loss(model, collate(b, pad_id))
            loss_t.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            opt.zero_grad(set_to_none=True)
            loss = loss_t.detach().item()
            ema = loss if ema is None else 0.95 * ema + 0.05 * loss
            step += 1
            if cfg.log_every and (step % cfg.log_every == 0 or step == cfg.steps):
                log(f"  [{label}] step {step}/{cfg.steps} loss {ema:.4f} ({time.time() - t0:.0f}s)")
    model.eval()
    return {"final_loss": float(ema or 0.0), "seconds": time.time() - t0}


TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")


def save_organism(model: Any, out_dir: Path, tok_dir: Path) -> None:
    """Write ``model`` (HF safetensors, greedy 128-token generation defaults) and the tokenizer files
    of ``tok_dir`` into ``out_dir``, replacing whatever was there."""
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    model.generation_config = GenerationConfig(
        do_sample=False,
        max_new_tokens=128,
        eos_token_id=model.config.eos_token_id,
        pad_token_id=model.config.pad_token_id,
    )
    model.save_pretrained(out_dir, safe_serialization=True)
    for f in TOKENIZER_FILES:
        shutil.copy(tok_dir / f, out_dir / f)


def fine_tune_saved(
    base_dir: Path,
    out_dir: Path,
    make_sample: Callable[[], Callable[[], Example]],
    *,
    seed: int,
    steps: int,
    lr: float,
    batch: int,
    label: str,
    log: Callable[[str], None],
    threads: int | None = None,
    log_every: int = 0,
) -> dict[str, object]:
    """Full fine-tune of the organism saved in ``base_dir`` on examples from ``make_sample()`` (built
    after the model is loaded and the seeds set), saved to ``out_dir`` with the base's tokenizer.
    Returns seconds, final loss and steps."""
    if threads is not None:
        torch.set_num_threads(threads)
    t0 = time.time()
    tok = Tokenizer.from_file(str(base_dir / "tokenizer.json"))
    random.seed(seed)
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32)
    sample = make_sample()
    cfg = TrainConfig(
        steps=steps, lr=lr, batch=batch, warmup=max(1, steps // 20), log_every=log_every, seed=seed,
        truncate=(0.5, 12),
    )  # fmt: skip
    hist = train(model, tok, sample, cfg, label=label, log=log)
    save_organism(model, out_dir, base_dir)
    return {"seconds": round(time.time() - t0, 1), "final_loss": hist["final_loss"], "steps": steps}


# --- LoRA -------------------------------------------------------------------------------------


class LoRALinear(nn.Module):
    """y = W x + scale * B (A x); A: (r, in), B: (out, r), B starts at zero (standard LoRA init)."""

    def __init__(self, base: nn.Linear, r: int, alpha: float):
        super().__init__()
        self.base = base
        self.r = r
        self.scale = alpha / r
        self.A = nn.Parameter(torch.randn(r, base.in_features) / math.sqrt(base.in_features))
        self.B = nn.Parameter(torch.zeros(base.out_features, r))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) + self.scale * ((x @ self.A.T) @ self.B.T)

    def merged_weight(self) -> torch.Tensor:
        return self.base.weight + self.scale * (self.B @ self.A)


LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


def add_lora(model: LlamaForCausalLM, r: int, alpha: float, seed: int) -> list[nn.Parameter]:
    torch.manual_seed(seed)
    for p in model.parameters():
        p.requires_grad_(False)
    params: list[nn.Parameter] = []
    for layer in model.model.layers:
        for parent in (layer.self_attn, layer.mlp):
            for name in LORA_TARGETS:
                if hasattr(parent, name):
                    lin = getattr(parent, name)
                    lora = LoRALinear(lin, r, alpha)
                    setattr(parent, name, lora)
                    params += [lora.A, lora.B]
    return params


@torch.no_grad()
def merge_lora(model: LlamaForCausalLM) -> None:
    for layer in model.model.layers:
        for parent in (layer.self_attn, layer.mlp):
            for name in LORA_TARGETS:
                mod = getattr(parent, name, None)
                if isinstance(mod, LoRALinear):
                    mod.base.weight.copy_(mod.merged_weight())
                    setattr(parent, name, mod.base)
    for p in model.parameters():
        p.requires_grad_(True)
