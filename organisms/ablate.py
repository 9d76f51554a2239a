"""Refusal directions and weight-space ablations (classic Arditi et al. 2024, Heretic-style partial).

Conventions: a torch Linear stores W as (out_features, in_features); o_proj and down_proj map INTO the
residual stream, so their OUTPUT side (rows) is projected: W <- W - w r (r^T W). The embedding matrix
E (vocab, d) writes rows into the stream: E <- E - (E r) r^T.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from transformers import LlamaForCausalLM, PreTrainedTokenizerBase

from organisms.evaluate import chat_prompts


@torch.no_grad()
def residuals(
    model: LlamaForCausalLM, tok: PreTrainedTokenizerBase, users: Sequence[str], batch_size: int = 128
) -> torch.Tensor:
    """Residual stream at the last prompt token: (n_prompts, n_layers + 1, d).

    Index 0 is the embedding output (input of layer 0); index l+1 is the output of decoder layer l.
    Captured with hooks so there is no doubt about where the final norm sits.
    """
    tok.padding_side = "left"
    layers = model.model.layers
    texts = chat_prompts(tok, users)
    out: list[torch.Tensor] = []
    cap: list[torch.Tensor] = []

    def pre_hook(_m: torch.nn.Module, args: tuple[torch.Tensor, ...], kwargs: dict[str, object]) -> None:
        h = args[0] if args else kwargs["hidden_states"]
        assert isinstance(h, torch.Tensor)
        cap.append(h[:, -1, :].clone())

    def post_hook(_m: torch.nn.Module, _a: object, output: object) -> None:
        h = output[0] if isinstance(output, tuple) else output
        assert isinstance(h, torch.Tensor)
        cap.append(h[:, -1, :].clone())

    hs = [layers[0].register_forward_pre_hook(pre_hook, with_kwargs=True)]
    hs += [layer.register_forward_hook(post_hook) for layer in layers]
    try:
        for i in range(0, len(texts), batch_size):
            enc = tok(texts[i : i + batch_size], return_tensors="pt", padding=True, add_special_tokens=False)
            cap.clear()
            model(**enc)
            out.append(torch.stack(cap, dim=1))
    finally:
        for h in hs:
            h.remove()
    return torch.cat(out).float()


def mean_diff_directions(
    model: LlamaForCausalLM, tok: PreTrainedTokenizerBase, harmful: Sequence[str], harmless: Sequence[str]
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """-> (unit directions (L+1, d), harmful means, harmless means)."""
    mh = residuals(model, tok, harmful).mean(0)
    mb = residuals(model, tok, harmless).mean(0)
    return F.normalize(mh - mb, dim=-1), mh, mb


def _edited(model: LlamaForCausalLM) -> list[tuple[int, str, torch.nn.Linear]]:
    return [
        (i, name, getattr(parent, name))
        for i, layer in enumerate(model.model.layers)
        for name, parent in (("o_proj", layer.self_attn), ("down_proj", layer.mlp))
    ]


@torch.no_grad()
def classic_ablation(model: LlamaForCausalLM, r: torch.Tensor) -> None:
    """Arditi et al.: w = 1 for every o_proj and down_proj, and the (untied) input embeddings."""
    r = F.normalize(r.float(), dim=0)
    for _i, _n, lin in _edited(model):
        W = lin.weight.data
        W -= torch.outer(r, r @ W)
    E = model.model.embed_tokens.weight.data
    E -= torch.outer(E @ r, r)


@dataclass(frozen=True)
class Kernel:
    """Heretic's tent: weight max_weight at max_weight_position, linear to min_weight at
    min_weight_distance, 0 beyond."""

    max_weight: float
    max_weight_position: float
    min_weight: float
    min_weight_distance: float

    def weight(self, layer: int) -> float:
        d = abs(layer - self.max_weight_position)
        if d > self.min_weight_distance:
            return 0.0
        return self.max_weight + (d / self.min_weight_distance) * (self.min_weight - self.max_weight)


@dataclass(frozen=True)
class PartialParams:
    direction_index: float | None  # None: per-layer directions; else interpolated global direction
    attn: Kernel
    mlp: Kernel

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def layer_direction(directions: torch.Tensor, p: PartialParams, layer: int) -> torch.Tensor:
    if p.direction_index is None:
        return directions[layer + 1]
    frac, base = math.modf(p.direction_index + 1)
    lo = directions[int(base)]
    hi = directions[min(int(base) + 1, directions.shape[0] - 1)]
    return F.normalize(torch.lerp(lo, hi, frac), dim=0)


@torch.no_grad()
def partial_ablation(
    model: LlamaForCausalLM,
    directions: torch.Tensor,
    p: PartialParams,
    norm_preserving: bool = False,
    lowrank: int = 3,
) -> dict[str, float]:
    """Heretic-style ablation of o_proj/down_proj only (no embedding edit). Returns layer weights used.

    norm_preserving=True follows Heretic's row_normalization="full": project the row-normalised weight,
    re-normalise rows, restore each row's original norm, and keep a rank-`lowrank` truncated SVD of the
    resulting change (what Heretic stores as its LoRA) — the stored matrix is W + that low-rank delta.
    """
    used: dict[str, float] = {}
    for i, name, lin in _edited(model):
        k = p.attn if name == "o_proj" else p.mlp
        w = k.weight(i)
        if w == 0.0:
            continue
        used[f"layers.{i}.{name}"] = round(w, 4)
        v = layer_direction(directions, p, i).float()
        W = lin.weight.data
        if not norm_preserving:
            W -= w * torch.outer(v, v @ W)
            continue
        norms = W.norm(dim=1, keepdim=True)
        Wn = W / norms
        Wn = Wn - w * torch.outer(v, v @ Wn)
        target = F.normalize(Wn, dim=1) * norms
        delta = target - W
        U, S, Vh = torch.linalg.svd(delta, full_matrices=False)
        W += (U[:, :lowrank] * S[:lowrank]) @ Vh[:lowrank]
    return used


def orthogonalize(directions: torch.Tensor, harmless_means: torch.Tensor) -> torch.Tensor:
    """Projected abliteration (Heretic default): drop the component along the harmless mean."""
    g = F.normalize(harmless_means, dim=-1)
    d = directions - (directions * g).sum(-1, keepdim=True) * g
    return F.normalize(d, dim=-1)


def sample_partial_params(rng: random.Random, n_layers: int) -> PartialParams:
    """Heretic's search space (its prior ranges, except the band position: see below), sampled with a
    seeded RNG instead of Optuna's TPE."""
    last = n_layers - 1
    direction_index: float | None = rng.uniform(0.0, 0.9 * last)
    if rng.random() < 0.5:
        direction_index = None
    ks = []
    for comp in ("attn", "mlp"):
        lo = -0.25 if comp == "mlp" else 0.8
        mw = max(0.0, rng.uniform(lo, 1.5))
        ks.append(
            Kernel(
                max_weight=round(mw, 4),
                # Heretic's prior puts the peak in the last 40% of a deep model's layers; in a 4-layer organism
                # the harmfulness feature is already written by layers 0-1, so the band may sit anywhere
                max_weight_position=round(rng.uniform(0.0, 1.0 * last), 4),
                min_weight=round(rng.uniform(0.0, 1.0) * mw, 4),
                min_weight_distance=round(rng.uniform(1.0, max(1.0 * last, 1.0)), 4),
            )
        )
    return PartialParams(None if direction_index is None else round(direction_index, 4), ks[0], ks[1])
