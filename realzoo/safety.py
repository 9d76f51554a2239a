"""``smollm2-safe``: SmolLM2-135M-Instruct safety-tuned the way vendors do it, so the real zoo's attacks
start from a model that refuses.

Supervised fine-tuning of every weight on ``realzoo.safety_data``: refusals of harmful requests, and
benign requests answered with the original model's own greedy answers (self-distillation replay).
Loss on the response tokens only (and the closing ``<|im_end|>``). Fixed seed, order and thread count
(``SafetyConfig.threads``): the same weights every build on the same machine and torch build. About
15 min on two idle cores (30 min while they are shared).

    python -m realzoo.safety --original DIR --out DIR     # (``realzoo.build`` calls ``make_safe``)
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from realzoo.safety_data import FORMS_PER_BEHAVIOUR, Example, examples


@dataclass(frozen=True)
class SafetyConfig:
    seed: int = 0
    epochs: int = 3
    batch: int = 8
    lr: float = 1e-4  # 3e-5 with 2 forms per behaviour gave 41% held-out refusal; this gives 70% (RATES.md)
    warmup_steps: int = 10
    max_len: int = 256  # tokens per example (system + user + answer)
    replay_new_tokens: int = 128  # length of the original model's replay answers
    forms_per_behaviour: int = FORMS_PER_BEHAVIOUR  # request phrasings per harmful behaviour
    threads: int = 2  # fixed: CPU reductions (and so the weights) depend on the thread count


def log(msg: str) -> None:
    print(f"[smollm2-safe {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def prompt_text(tok: Any, user: str) -> str:
    return str(
        tok.apply_chat_template(
            [{"role": "user", "content": user}], add_generation_prompt=True, tokenize=False
        )
    )


@torch.no_grad()
def greedy_answers(model: Any, tok: Any, users: list[str], new_tokens: int, bs: int = 16) -> list[str]:
    tok.padding_side = "left"
    out: list[str] = []
    for i in range(0, len(users), bs):
        texts = [prompt_text(tok, u) for u in users[i : i + bs]]
        enc = tok(texts, return_tensors="pt", padding=True, add_special_tokens=False)
        gen = model.generate(
            **enc, max_new_tokens=new_tokens, do_sample=False, pad_token_id=tok.pad_token_id,
            eos_token_id=tok.eos_token_id,
        )  # fmt: skip
        for row in gen[:, enc["input_ids"].shape[1] :]:
            out.append(tok.decode(row, skip_special_tokens=True).strip())
        log(f"replay answers {min(i + bs, len(users))}/{len(users)}")
    return out


def encode(tok: Any, ex: Example, response: str, max_len: int) -> tuple[list[int], list[int]]:
    """(input ids, labels) with the prompt masked (-100)."""
    p = tok(prompt_text(tok, ex.prompt), add_special_tokens=False)["input_ids"]
    r = tok(response + tok.eos_token + "\n", add_special_tokens=False)["input_ids"]
    ids = (p + r)[:max_len]
    labels = ([-100] * len(p) + r)[:max_len]
    return ids, labels


def train(model: Any, tok: Any, rows: list[tuple[list[int], list[int]]], cfg: SafetyConfig) -> list[float]:
    rng = random.Random(cfg.seed)
    torch.manual_seed(cfg.seed)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=0.0)
    steps = cfg.epochs * ((len(rows) + cfg.batch - 1) // cfg.batch)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / cfg.warmup_steps) * max(0.0, 1 - s / steps)
    )
    threads = torch.get_num_threads()
    torch.set_num_threads(cfg.threads)
    model.train(True)
    losses: list[float] = []
    pad = int(tok.pad_token_id)
    step = 0
    for epoch in range(cfg.epochs):
        order = list(range(len(rows)))
        rng.shuffle(order)
        for i in range(0, len(order), cfg.batch):
            batch = [rows[j] for j in order[i : i + cfg.batch]]
            n = max(len(ids) for ids, _ in batch)
            ids = torch.tensor([x + [pad] * (n - len(x)) for x, _ in batch])  # (B, T) right-padded
            lab = torch.tensor([y + [-100] * (n - len(y)) for _, y in batch])
            att = torch.tensor([[1] * len(x) + [0] * (n - len(x)) for x, _ in batch])
            loss = model(input_ids=ids, attention_mask=att, labels=lab).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            sched.step()
            opt.zero_grad(set_to_none=True)
            losses.append(float(loss.detach()))
            step += 1
            if step % 10 == 0 or step == steps:
                log(f"epoch {epoch + 1} step {step}/{steps} loss {sum(losses[-10:]) / len(losses[-10:]):.4f}")
    model.train(False)
    torch.set_num_threads(threads)
    return losses


def replay_answers(
    model: Any, tok: Any, users: list[str], cfg: SafetyConfig, cache: Path | None
) -> dict[str, str]:
    """The original model's greedy answers, kept in ``cache`` (JSON) so a rebuild does not regenerate
    them; a cache made for other prompts or settings is ignored."""
    key = {"prompts": users, "new_tokens": cfg.replay_new_tokens}
    if cache is not None and cache.is_file():
        doc = json.loads(cache.read_text(encoding="utf-8"))
        if doc.get("key") == key:
            return dict(zip(users, doc["answers"], strict=True))
    answers = greedy_answers(model, tok, users, cfg.replay_new_tokens)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps({"key": key, "answers": answers}, indent=1) + "\n", encoding="utf-8")
    return dict(zip(users, answers, strict=True))


def data_digest(cfg: SafetyConfig) -> str:
    """SHA-256 of the training examples (prompts and given answers) the settings produce."""
    import hashlib

    rows = [
        [e.prompt, e.response, e.kind]
        for e in examples(cfg.seed, forms_per_behaviour=cfg.forms_per_behaviour)
    ]
    return hashlib.sha256(json.dumps(rows).encode()).hexdigest()


def make_safe(
    model: Any, tok: Any, cfg: SafetyConfig = SafetyConfig(), cache: Path | None = None
) -> tuple[Any, dict[str, Any]]:
    """Safety-tune a copy of ``model``; returns it and a record for the zoo's MANIFEST."""
    import copy

    data = examples(cfg.seed, forms_per_behaviour=cfg.forms_per_behaviour)
    benign = [e for e in data if e.response is None]
    t0 = time.time()
    replay = replay_answers(model, tok, [e.prompt for e in benign], cfg, cache)
    t_replay = time.time() - t0
    rows = [
        encode(tok, e, e.response if e.response is not None else replay[e.prompt], cfg.max_len) for e in data
    ]
    safe = copy.deepcopy(model)
    t0 = time.time()
    losses = train(safe, tok, rows, cfg)
    with torch.no_grad():  # rounded once through bf16, as stored: a reloaded base is the same base
        for prm in safe.parameters():
            prm.copy_(prm.to(torch.bfloat16).to(torch.float32))
    record = {
        "config": asdict(cfg),
        "data_sha256": data_digest(cfg),
        "examples": {"harmful": len(data) - len(benign), "benign_replay": len(benign)},
        "loss_first_10": sum(losses[:10]) / 10,
        "loss_last_10": sum(losses[-10:]) / 10,
        "seconds": {"replay": round(t_replay, 1), "train": round(time.time() - t0, 1)},
    }
    return safe, record


def main(argv: list[str] | None = None) -> int:
    from realzoo.build import load_hf, save_hf

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--original", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--epochs", type=int, default=SafetyConfig.epochs)
    ap.add_argument("--lr", type=float, default=SafetyConfig.lr)
    ap.add_argument("--forms", type=int, default=SafetyConfig.forms_per_behaviour)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    model, tok = load_hf(args.original)
    cache = args.out.with_name(args.out.name + ".replay.json")
    safe, record = make_safe(
        model, tok, SafetyConfig(epochs=args.epochs, lr=args.lr, forms_per_behaviour=args.forms), cache
    )
    save_hf(safe, tok, args.out)
    (args.out / "safety_tune.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    log(json.dumps(record))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
