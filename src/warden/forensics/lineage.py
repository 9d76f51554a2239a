"""Lineage: is this model consistent with derivation from the claimed base?

Plain cosine of weights is fooled (LayerNorm weights of unrelated models are all ~1, cosine ~0.98), so:
  * tokenizer / vocabulary equality (necessary, not sufficient);
  * architecture: residual width, depth, shapes of the matched matrices;
  * mean-centred correlation of matched matrices (same position) against a null baseline computed in
    the same run: the same roles at a *different* layer of the claimed base (unrelated weights of the
    same shape and distribution);
  * permutation-robust MLP matching: intermediate neurons may be permuted without changing the
    function, so sampled neurons of the model are matched one-to-one to the base's (Hungarian
    assignment, scipy.optimize.linear_sum_assignment, on |correlation| of their input weights).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from warden.errors import FormatError
from warden.forensics.checkpoint import Checkpoint
from warden.forensics.config import DiffConfig, LineageConfig
from warden.forensics.layout import Layout
from warden.forensics.pairing import gguf_qk_heads, pair_tensors, unpermute_qk
from warden.forensics.roles import Role

Progress = Callable[[str], None]


@dataclass(frozen=True)
class LineageResult:
    consistent: bool
    reasons: tuple[str, ...]
    tokenizer: str  # equal | different | unavailable
    vocab_overlap: float | None
    arch_match: bool
    arch_notes: tuple[str, ...]
    same_corr: float | None  # median over matched matrices
    null_corr: float | None  # median cross-layer baseline
    matched_corr: float | None  # permutation-robust neuron matching
    matched_null: float | None
    n_tensors: int
    permuted: bool  # neurons match only after permutation
    corrs: tuple[float, ...] = ()  # per matched matrix, for the confidence interval


def _sample_rows(ck: Checkpoint, name: str, qk_heads: int | None, max_elems: int) -> torch.Tensor:
    shape = ck.tensors[name].shape
    if qk_heads:
        return unpermute_qk(ck.read(name), qk_heads).reshape(shape[0], -1)
    per_row = max(1, int(np.prod(shape[1:])))
    rows = shape[0]
    take = max(1, min(rows, max_elems // per_row))
    if take == rows:
        return ck.read(name).reshape(rows, -1)
    blocks = 4
    per = max(1, take // blocks)
    starts = np.linspace(0, rows - per, blocks).round().astype(int)
    return torch.cat([ck.read_rows(name, int(s), int(s) + per).reshape(per, -1) for s in starts])


def centred_corr(a: torch.Tensor, b: torch.Tensor) -> float | None:
    x, y = a.double().flatten(), b.double().flatten()
    x, y = x - x.mean(), y - y.mean()
    den = float(x.norm() * y.norm())
    return float(x @ y) / den if den > 0 else None


def run_lineage(
    a: Checkpoint,
    la: Layout,
    b: Checkpoint,
    lb: Layout,
    cfg: LineageConfig,
    dcfg: DiffConfig,
    progress: Progress | None = None,
) -> LineageResult:
    say = progress or (lambda _m: None)
    va, vb = a.vocab(), b.vocab()
    if va is None or vb is None:
        tok, overlap = "unavailable", None
    else:
        overlap = len(set(va) & set(vb)) / max(1, len(set(va) | set(vb)))
        tok = "equal" if va == vb else "different"
    notes: list[str] = []
    if la.d_model != lb.d_model:
        notes.append(f"residual width {la.d_model} vs {lb.d_model}")
    if la.n_layers != lb.n_layers:
        notes.append(f"{la.n_layers} layers vs {lb.n_layers}")
    fam_a = la.spec.family if la.spec else la.declared
    fam_b = lb.spec.family if lb.spec else lb.declared
    if fam_a != fam_b:
        notes.append(f"architecture {la.declared or fam_a} vs {lb.declared or fam_b}")
    pairing = pair_tensors(a, la, b, lb)
    same: list[float] = []
    null: list[float] = []
    mism = 0
    by_role_layer: dict[tuple[str, int], str] = {}
    for name, r in lb.roles.items():
        if r.layer is not None and r.role in (Role.ATTN_OUT, Role.MLP_OUT, Role.ATTN_IN, Role.MLP_IN):
            by_role_layer.setdefault((r.canonical.split(".", 1)[1], r.layer), name)
    for p in pairing.pairs:
        ra = la.roles.get(p.a)
        if (
            ra is None
            or ra.role in (Role.NORM, Role.OTHER, Role.POS_EMBEDDING)
            or len(a.tensors[p.a].shape) < 2
        ):
            continue
        if a.tensors[p.a].shape != b.tensors[p.b].shape:
            mism += 1
            continue
        say(f"lineage {p.a}")
        heads = (gguf_qk_heads(a, la, p.a), gguf_qk_heads(b, lb, p.b)) if pairing.by_role else (None, None)
        if heads[0] and heads[1]:
            heads = (None, None)
        try:
            xa = _sample_rows(a, p.a, heads[0], dcfg.sample_elems)
            xb = _sample_rows(b, p.b, heads[1], dcfg.sample_elems)
            c = centred_corr(xa, xb)
            if c is not None:
                same.append(c)
            if ra.layer is not None and la.n_layers > 1:
                other = (ra.layer + max(1, la.n_layers // 2)) % la.n_layers
                key = (ra.canonical.split(".", 1)[1], other)
                nb = by_role_layer.get(key)
                if nb is not None and b.tensors[nb].shape == b.tensors[p.b].shape:
                    hn = gguf_qk_heads(b, lb, nb) if pairing.by_role and not heads[0] else None
                    cn = centred_corr(xa, _sample_rows(b, nb, hn, dcfg.sample_elems))
                    if cn is not None:
                        null.append(cn)
        except FormatError:
            continue
    if mism:
        notes.append(f"{mism} matched matrices differ in shape")
    arch_match = not notes
    matched, matched_null = _neuron_matching(a, la, b, lb, cfg, say) if arch_match else (None, None)
    same_m = float(np.median(same)) if same else None
    null_m = float(np.median(np.abs(null))) if null else 0.0
    reasons: list[str] = []
    direct = same_m is not None and same_m >= cfg.consistent_corr and same_m - null_m >= cfg.null_margin
    perm = (
        matched is not None
        and matched >= cfg.match_corr
        and matched - (matched_null or 0.0) >= cfg.null_margin
    )
    if tok == "different":
        reasons.append(f"tokenizers differ (vocabulary overlap {overlap:.2f})")
    if not arch_match:
        reasons.append("architecture differs: " + "; ".join(notes))
    if arch_match and not (direct or perm):
        reasons.append(
            f"weights do not correlate with the claimed base beyond the unrelated baseline "
            f"(median {_fmt(same_m)} vs baseline {null_m:.2f}; matched neurons {_fmt(matched)} "
            f"vs {_fmt(matched_null)})"
        )
    consistent = tok != "different" and arch_match and (direct or perm)
    return LineageResult(
        consistent=consistent,
        reasons=tuple(reasons),
        tokenizer=tok,
        vocab_overlap=None if overlap is None else round(overlap, 4),
        arch_match=arch_match,
        arch_notes=tuple(notes),
        same_corr=_rnd(same_m),
        null_corr=_rnd(null_m if null else None),
        matched_corr=_rnd(matched),
        matched_null=_rnd(matched_null),
        n_tensors=len(same),
        permuted=bool(perm and not direct),
        corrs=tuple(round(c, 5) for c in same),
    )


def _neuron_rows(ck: Checkpoint, layout: Layout, layer: int) -> torch.Tensor | None:
    """(ffn, d) input weights of one layer's MLP neurons (first MLP-in matrix of the layer)."""
    for name, r in sorted(layout.roles.items()):
        if (
            r.layer == layer
            and r.role is Role.MLP_IN
            and r.expert is None
            and not r.packed
            and r.residual_axis is not None
            and len(ck.tensors[name].shape) == 2
        ):
            m = ck.read(name)
            return m if r.residual_axis == 1 else torch.as_tensor(m.T)
    return None


def _neuron_matching(
    a: Checkpoint, la: Layout, b: Checkpoint, lb: Layout, cfg: LineageConfig, say: Progress
) -> tuple[float | None, float | None]:
    n = la.n_layers
    if n == 0:
        return None, None
    layers = sorted({int(x) for x in np.linspace(0, n - 1, min(n, cfg.max_layers_matched)).round()})
    scores, nulls = [], []
    gen = torch.Generator().manual_seed(0)
    for layer in layers:
        say(f"neuron matching layer {layer}")
        try:
            ma, mb = _neuron_rows(a, la, layer), _neuron_rows(b, lb, layer)
            mo = _neuron_rows(b, lb, (layer + max(1, n // 2)) % n) if n > 1 else None
        except FormatError:
            continue
        if ma is None or mb is None or ma.shape != mb.shape:
            continue
        idx = torch.randperm(ma.shape[0], generator=gen)[: cfg.match_neurons]
        scores.append(_match(ma[idx], mb))
        if mo is not None and mo.shape == mb.shape:
            nulls.append(_match(ma[idx], mo))
    if not scores:
        return None, None
    return float(np.mean(scores)), (float(np.mean(nulls)) if nulls else None)


def _match(x: torch.Tensor, y: torch.Tensor) -> float:
    """Mean |corr| of a one-to-one assignment of x's rows (s, d) to y's rows (ffn, d)."""

    def z(m: torch.Tensor) -> torch.Tensor:
        m = m.double() - m.double().mean(dim=1, keepdim=True)
        out: torch.Tensor = m / torch.linalg.vector_norm(m, dim=1, keepdim=True).clamp_min(1e-30)
        return out

    c = (z(x) @ z(y).T).abs().numpy()  # (s, ffn)
    try:
        from scipy.optimize import linear_sum_assignment
    except ImportError:  # scipy is optional: greedy best match per row (an upper bound)
        return float(c.max(axis=1).mean())
    rows, cols = linear_sum_assignment(-c)
    return float(c[rows, cols].mean())


def _rnd(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else round(x, 4)


def _fmt(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.2f}"
