"""Line up the tensors of two checkpoints: by name when they share a naming scheme, else by canonical
role key (HF safetensors vs llama.cpp GGUF). Also undoes llama.cpp's q/k row permutation."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from warden.forensics.checkpoint import Checkpoint
from warden.forensics.layout import Layout
from warden.forensics.roles import Role


@dataclass(frozen=True)
class Pair:
    key: str
    a: str  # name in the model
    b: str  # name in the base


@dataclass(frozen=True)
class Pairing:
    pairs: tuple[Pair, ...]
    only_model: tuple[str, ...]
    only_base: tuple[str, ...]
    by_role: bool  # True when names differed and canonical role keys were used


def _keys(layout: Layout, float_names: set[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, r in layout.roles.items():
        if (
            name not in float_names
            or r.role in (Role.NORM, Role.OTHER)
            or r.residual_axis is None
            and not r.packed
        ):
            continue
        out.setdefault(r.canonical, name)
    return out


def pair_tensors(a: Checkpoint, la: Layout, b: Checkpoint, lb: Layout) -> Pairing:
    fa = {n for n, i in a.tensors.items() if i.is_float}
    fb = {n for n, i in b.tensors.items() if i.is_float}
    shared = fa & fb
    if len(shared) >= 0.5 * max(1, min(len(fa), len(fb))):
        pairs = tuple(Pair(n, n, n) for n in sorted(shared))
        return Pairing(pairs, tuple(sorted(fa - fb)), tuple(sorted(fb - fa)), by_role=False)
    ka, kb = _keys(la, fa), _keys(lb, fb)
    pairs = tuple(Pair(k, ka[k], kb[k]) for k in sorted(set(ka) & set(kb)))
    return Pairing(
        pairs,
        tuple(sorted(ka[k] for k in set(ka) - set(kb))),
        tuple(sorted(kb[k] for k in set(kb) - set(ka))),
        by_role=True,
    )


def unpermute_qk(w: torch.Tensor, n_head: int) -> torch.Tensor:
    """llama.cpp's converter interleaves q/k rows per head for its RoPE; undo it -> HF row order."""
    rows = w.shape[0]
    if n_head <= 0 or rows % (2 * n_head):
        return w
    return w.reshape(n_head, rows // n_head // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def gguf_qk_heads(ck: Checkpoint, layout: Layout, name: str) -> int | None:
    """Heads to undo the q/k permutation with, for a llama-family GGUF q or k tensor (else None)."""
    if ck.format != "gguf" or layout.spec is None or layout.spec.family not in ("llama",):
        return None
    kind = layout.roles[name].kind
    if kind == "q":
        return ck.config.get("attention.head_count")
    if kind == "k":
        return ck.config.get("attention.head_count_kv") or ck.config.get("attention.head_count")
    return None
