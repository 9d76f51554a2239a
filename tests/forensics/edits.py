"""Weight edits the forensics tests apply themselves: the attacks (classic / partial / norm-preserving
ablation) and benign look-alikes (LoRA merge, fine-tune noise, precision round trips).

Every edit acts on a state dict of torch tensors in their stored layout. Writers are given as
(tensor name, residual axis): Linear (out, in) writers have the residual on axis 0.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

StateDict = dict[str, torch.Tensor]
Writer = tuple[str, int]


def unit(v: torch.Tensor) -> torch.Tensor:
    return v / v.norm()


def random_direction(d: int, seed: int) -> torch.Tensor:
    return unit(torch.randn(d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64))


def load(path: Path) -> StateDict:
    return {k: v.clone() for k, v in load_file(str(path)).items()}


def save(sd: StateDict, out: Path, like: Path | None = None) -> Path:
    """Write model.safetensors (+ the small json/txt files of ``like``) into directory ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    if like is not None:
        for p in like.iterdir():
            if p.is_file() and p.suffix in {".json", ".txt"} and not p.name.endswith(".index.json"):
                shutil.copy(p, out / p.name)
    save_file({k: v.contiguous() for k, v in sd.items()}, str(out / "model.safetensors"))
    return out


def _project_out(w: torch.Tensor, axis: int, r: torch.Tensor, weight: float) -> torch.Tensor:
    w64, r64 = w.double(), r.double()
    if axis == 0:  # (d, n): W <- W - w r (r^T W)
        out = w64 - weight * torch.outer(r64, r64 @ w64)
    else:  # (n, d): W <- W - w (W r) r^T
        out = w64 - weight * torch.outer(w64 @ r64, r64)
    return out.to(w.dtype)


def ablate(
    sd: StateDict,
    writers: Sequence[Writer],
    r: torch.Tensor,
    weights: Sequence[float] | float,
    embedding: str | None = None,
) -> StateDict:
    """Directional ablation of each writer with its weight (classic: 1.0 everywhere + embedding)."""
    out = dict(sd)
    ws = [weights] * len(writers) if isinstance(weights, (int, float)) else list(weights)
    for (name, axis), w in zip(writers, ws, strict=True):
        if w != 0:
            out[name] = _project_out(sd[name], axis, r, w)
    if embedding is not None:
        out[embedding] = _project_out(sd[embedding], 1, r, 1.0)
    return out


def normpreserving(
    sd: StateDict, writers: Sequence[Writer], r: torch.Tensor, weights: Sequence[float] | float, rank: int = 3
) -> StateDict:
    """Heretic row_normalization="full": ablate the row-normalised matrix, restore each residual row's
    norm, keep a rank-``rank`` truncated SVD of the change (Heretic stores that as its LoRA)."""
    out = dict(sd)
    ws = [weights] * len(writers) if isinstance(weights, (int, float)) else list(weights)
    for (name, axis), w in zip(writers, ws, strict=True):
        if w == 0:
            continue
        m = sd[name].double() if axis == 0 else sd[name].double().T  # (d, n)
        norms = m.norm(dim=1, keepdim=True)
        mn = m / norms
        mn = mn - w * torch.outer(r.double(), r.double() @ mn)
        target = mn / mn.norm(dim=1, keepdim=True) * norms
        u, s, vh = torch.linalg.svd(target - m, full_matrices=False)
        new = m + (u[:, :rank] * s[:rank]) @ vh[:rank]
        out[name] = (new if axis == 0 else new.T).contiguous().to(sd[name].dtype)
    return out


def lora_merge(sd: StateDict, names: Sequence[str], rank: int, seed: int, rel: float = 0.05) -> StateDict:
    """W <- W + B A with random rank-``rank`` factors, scaled to ``rel`` of ||W|| (a benign adapter)."""
    g = torch.Generator().manual_seed(seed)
    out = dict(sd)
    for name in names:
        w = sd[name].double()
        b = torch.randn(w.shape[0], rank, generator=g, dtype=torch.float64)
        a = torch.randn(rank, w.shape[1], generator=g, dtype=torch.float64)
        delta = b @ a
        out[name] = (w + rel * w.norm() / delta.norm() * delta).to(sd[name].dtype)
    return out


def finetune_noise(sd: StateDict, seed: int, rel: float = 0.01) -> StateDict:
    """Dense full-rank perturbation of every matrix (a small full fine-tune look-alike)."""
    g = torch.Generator().manual_seed(seed)
    out = dict(sd)
    for name, w in sd.items():
        if w.ndim == 2 and w.is_floating_point():
            n = torch.randn(w.shape, generator=g, dtype=torch.float64)
            out[name] = (w.double() + rel * w.double().std() * n).to(w.dtype)
    return out


def cast(sd: StateDict, dtype: torch.dtype) -> StateDict:
    return {k: (v.to(dtype) if v.is_floating_point() else v) for k, v in sd.items()}


def tent(n_layers: int, peak: float, center: float | None = None, width: float | None = None) -> list[float]:
    """Heretic-style tent of layer weights: ``peak`` at ``center``, linear to 0 at ``width`` away."""
    c = (n_layers - 1) / 2 if center is None else center
    h = max(1.0, n_layers / 3) if width is None else width
    return [max(0.0, peak * (1 - abs(i - c) / h)) if abs(i - c) <= h else 0.0 for i in range(n_layers)]


def config_of(path: Path) -> dict[str, object]:
    return json.loads((path / "config.json").read_text())


def per_layer(weights: Sequence[float], per: int) -> list[float]:
    """Repeat each layer weight for the ``per`` writers of that layer."""
    return [w for w in weights for _ in range(per)]


def angle_cos(a: torch.Tensor, b: torch.Tensor) -> float:
    return abs(float(a.double() @ b.double()) / (float(a.norm()) * float(b.norm()) + 1e-30))
