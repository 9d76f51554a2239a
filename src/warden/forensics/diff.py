"""Diff mode: the model against its base, tensor by tensor, then one classification of what was done.

Patterns (DESIGN.md, facts for forensics):
  directional ablation  writers (attn_out / mlp_out, maybe the embedding) changed by rank 1 (<= 3 when
                        norm-preserving) updates of the ablation form along directions that agree
                        across matrices; readers untouched.
                          classic: embedding edited too, w ~ 1 on every writer
                          norm-preserving: rank 2-3 (Heretic "full": truncated SVD of the change)
                          partial: per-layer w varying / a band of layers / no embedding edit
  adapter merge         low-rank changes whose directions are not shared (readers changed too)
  full fine-tune        high-rank changes in most matrices
  replaced layer        a layer whose matrices no longer correlate with the base
  embedding change      vocabulary resized, or a subset of token rows changed
  precision only        every difference within the re-encoding noise of the coarser dtype
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from warden.errors import FormatError
from warden.forensics.checkpoint import Checkpoint
from warden.forensics.config import DiffConfig
from warden.forensics.layout import Layout
from warden.forensics.pairing import Pairing, gguf_qk_heads, pair_tensors
from warden.forensics.roles import Role
from warden.forensics.tensordiff import TensorDiff, compare

Progress = Callable[[str], None]


@dataclass(frozen=True)
class AblationVerdict:
    subtype: str  # classic | partial | norm-preserving
    edited: tuple[str, ...]  # writer keys in ablation form
    weights: dict[int, float]  # layer -> mean apparent ablation weight over its edited writers
    agreement: float  # median |cos| of edited writers' directions with their consensus
    layer_agreement: float | None  # median |cos| of o/down directions within a layer
    embedding_edited: bool
    direction: np.ndarray = field(compare=False, repr=False)  # consensus direction (d,)


@dataclass(frozen=True)
class DiffResult:
    pairing: Pairing
    tensors: tuple[TensorDiff, ...]
    ablation: AblationVerdict | None
    lora: dict[str, object] | None
    finetune: dict[str, object] | None
    replaced_layers: tuple[int, ...]
    embedding_changes: tuple[TensorDiff, ...]
    precision_only: bool
    identical: bool

    def count(self, status: str) -> int:
        return sum(1 for t in self.tensors if t.status == status)


def run_diff(
    a: Checkpoint, la: Layout, b: Checkpoint, lb: Layout, cfg: DiffConfig, progress: Progress | None = None
) -> tuple[DiffResult, list[tuple[str, str]]]:
    """-> (result, unreadable [(file, message)])."""
    say = progress or (lambda _m: None)
    pairing = pair_tensors(a, la, b, lb)
    out: list[TensorDiff] = []
    problems: list[tuple[str, str]] = []
    for p in pairing.pairs:
        ra = la.roles.get(p.a)
        say(f"diff {p.a}")
        role = ra.role.value if ra else "other"
        axis = ra.residual_axis if ra else None
        heads = (gguf_qk_heads(a, la, p.a), gguf_qk_heads(b, lb, p.b)) if pairing.by_role else (None, None)
        if heads[0] and heads[1]:
            heads = (None, None)  # both GGUF: same permutation on both sides
        try:
            out.append(
                compare(
                    a,
                    p.a,
                    b,
                    p.b,
                    key=p.key,
                    role=role,
                    layer=ra.layer if ra else None,
                    axis=axis,
                    cfg=cfg,
                    heads=heads,
                )
            )
        except (FormatError, RuntimeError) as exc:  # torch's LinAlgError is a RuntimeError
            msg = exc.message if isinstance(exc, FormatError) else f"numerical failure: {exc}"[:300]
            path = exc.path if isinstance(exc, FormatError) else None
            problems.append((path or a.tensors[p.a].file, msg))
            out.append(
                TensorDiff(
                    key=p.key,
                    model_name=p.a,
                    base_name=p.b,
                    file=a.tensors[p.a].file,
                    role=role,
                    layer=ra.layer if ra else None,
                    status="unreadable",
                    reason=msg,
                )
            )
    return classify(tuple(out), pairing, la, cfg), problems


def _is_writer(t: TensorDiff) -> bool:
    return t.role in (Role.ATTN_OUT.value, Role.MLP_OUT.value)


def _directional_rank(t: TensorDiff, cfg: DiffConfig) -> bool:
    """Rank 1-3, or one singular value holding ``rank1_energy`` of the change on its own. The second
    case is a rank-one edit stored in a coarser dtype: re-rounding W + dW to bf16 adds noise that is
    not i.i.d. (it scales with each weight), so a few of its singular values clear the noise edge —
    SmolLM2's classically abliterated embedding (49152 x 576, bf16) reads rank 4 with s1 at 99.9%."""
    if t.rank is None or t.rank < 1:
        return False
    return t.rank <= 3 or (bool(t.sv_rel) and t.sv_rel[0] ** 2 >= cfg.rank1_energy)


def _ablation_form(t: TensorDiff, cfg: DiffConfig) -> bool:
    """dW = -w r (r^T W): rank 1 (<= 3), the change opposes the base along its top direction.
    Norm-preserving ablation (rank 2-3) re-scales rows afterwards, which loosens the alignment of
    r^T dW with r^T W, so it is accepted with a looser cosine when the energy along r clearly dropped."""
    if not (
        t.status == "changed"
        and _directional_rank(t, cfg)
        and t.direction is not None
        and (t.lowrank_energy or 0.0) >= cfg.rank1_energy
        and t.ablation_cos is not None
    ):
        return False
    if t.ablation_cos <= -cfg.ablation_cos:
        return True
    return (
        (t.rank or 0) >= 2
        and t.ablation_cos <= -cfg.np_ablation_cos
        and (t.energy_drop or 0.0) >= cfg.np_energy_drop
    )


def _dirs(ts: list[TensorDiff]) -> list[np.ndarray]:
    return [t.direction for t in ts if t.direction is not None]


def _consensus(dirs: list[np.ndarray]) -> tuple[np.ndarray, list[float]]:
    m = np.stack([v / (np.linalg.norm(v) + 1e-30) for v in dirs]).astype(np.float64)  # (k, d)
    _, _, vt = np.linalg.svd(m, full_matrices=False)
    c = vt[0]
    return c, [abs(float(v @ c)) for v in m]


def _ablation_verdict(
    abl: list[TensorDiff],
    writers: list[TensorDiff],
    emb: list[TensorDiff],
    readers_struct: list[TensorDiff],
    matrices: list[TensorDiff],
    cfg: DiffConfig,
) -> tuple[AblationVerdict | None, list[TensorDiff]]:
    if not abl:
        return None, abl
    cons, _ = _consensus(_dirs(abl))
    # writers along the same direction (globally, or as their own layer's) that missed the strict form
    layer_dirs = {t.layer: t.direction for t in abl if t.layer is not None}
    for t in writers:
        if t in abl or not _directional_rank(t, cfg) or t.direction is None:
            continue
        ref = [cons] + ([layer_dirs[t.layer]] if t.layer in layer_dirs else [])
        if max(abs(float(t.direction @ v)) for v in ref) >= cfg.agree_cos:
            abl = abl + [t]
    cons, agree = _consensus(_dirs(abl))
    by_layer: dict[int, list[TensorDiff]] = {}
    for t in abl:
        if t.layer is not None:
            by_layer.setdefault(t.layer, []).append(t)
    within = [min(_consensus(_dirs(ts))[1]) for ts in by_layer.values() if len(ts) >= 2]
    agreement = float(np.median(agree))
    layer_agreement = float(np.median(within)) if within else None
    shared = agreement >= cfg.agree_cos or (layer_agreement is not None and layer_agreement >= cfg.agree_cos)
    dominant = len(abl) >= max(1, 0.5 * len(writers)) and len(readers_struct) <= 0.25 * max(1, len(abl))
    if not ((shared or len(abl) == 1) and dominant):
        return None, abl
    emb_edit = any(
        _ablation_form(t, cfg) and t.direction is not None and abs(float(t.direction @ cons)) >= cfg.agree_cos
        for t in emb
    )
    ws = [abs(t.ablation_weight or 0.0) for t in abl]
    all_writers = sum(1 for t in matrices if _is_writer(t))
    if emb_edit and all(abs(w - 1.0) <= 0.05 for w in ws) and len(abl) == all_writers:
        subtype = "classic"
    elif sum(1 for t in abl if (t.rank or 0) >= 2) >= 0.5 * len(abl):
        subtype = "norm-preserving"
    else:
        subtype = "partial"

    def w_of(t: TensorDiff) -> float:
        # norm-preserving edits re-scale rows: the energy drop along r is the better estimate
        return (t.energy_drop or 0.0) if subtype == "norm-preserving" else abs(t.ablation_weight or 0.0)

    weights = {
        layer: round(float(np.mean([w_of(t) for t in ts])), 4) for layer, ts in sorted(by_layer.items())
    }
    verdict = AblationVerdict(
        subtype,
        tuple(t.key for t in abl),
        weights,
        round(agreement, 4),
        None if layer_agreement is None else round(layer_agreement, 4),
        emb_edit,
        cons,
    )
    return verdict, abl


def classify(
    tensors: tuple[TensorDiff, ...], pairing: Pairing, layout: Layout, cfg: DiffConfig
) -> DiffResult:
    changed = [t for t in tensors if t.status == "changed"]
    matrices = [t for t in tensors if t.is_matrix and t.status != "shape_mismatch"]
    writers = [t for t in changed if _is_writer(t) and t.is_matrix]
    abl = [t for t in writers if _ablation_form(t, cfg)]
    emb = [t for t in tensors if t.role in (Role.EMBEDDING.value, Role.LM_HEAD.value)]
    readers_struct = [t for t in changed if t.role in (Role.ATTN_IN.value, Role.MLP_IN.value) and t.rank]

    ablation, abl = _ablation_verdict(abl, writers, emb, readers_struct, matrices, cfg)
    in_ablation = {t.key for t in abl} if ablation else set()
    rest = [
        t
        for t in changed
        if t.is_matrix
        and t.key not in in_ablation
        and not (ablation and ablation.embedding_edited and t.role == Role.EMBEDDING.value)
    ]
    d = layout.d_model or 0
    low = [
        t
        for t in rest
        if t.rank is not None
        and 1 <= t.rank <= cfg.low_rank_max
        and (d == 0 or t.rank < max(2, d // 4))
        and (t.lowrank_energy or 0) >= 0.8
    ]
    high = [t for t in rest if t not in low and t.rank is not None]
    lora: dict[str, object] | None = None
    finetune: dict[str, object] | None = None
    n_mat = max(1, len(matrices))
    if high and len(high) >= cfg.full_ft_fraction * n_mat:
        finetune = {
            "changed_high_rank": len(high),
            "matrices": len(matrices),
            "median_rel_norm": _median([t.rel_norm for t in high]),
            "median_corr": _median([t.corr for t in high]),
        }
    elif low and len(low) >= len(high):
        ranks = sorted({t.rank for t in low if t.rank is not None})
        dirs = [t.direction for t in low if t.direction is not None]
        agree = _consensus(dirs)[1] if len(dirs) >= 2 else [1.0]
        lora = {
            "matrices": len(low),
            "ranks": ranks,
            "max_rank": max(ranks),
            "direction_agreement": round(float(np.median(agree)), 4),
            "roles": sorted({t.role for t in low}),
        }

    replaced = _replaced_layers(tensors, cfg)
    emb_changes = tuple(
        t
        for t in emb
        if t.status == "shape_mismatch"
        or (
            t.status == "changed"
            and not (ablation and ablation.embedding_edited)
            and t.rows_total
            and (t.rows_changed or 0) < 0.5 * t.rows_total
        )
    )
    diffs = [t for t in tensors if t.status not in ("identical",)]
    precision_only = bool(diffs) and all(t.status == "precision" for t in diffs) and not pairing.only_model
    identical = not diffs and not pairing.only_model and not pairing.only_base
    return DiffResult(
        pairing, tensors, ablation, lora, finetune, replaced, emb_changes, precision_only, identical
    )


def _replaced_layers(tensors: tuple[TensorDiff, ...], cfg: DiffConfig) -> tuple[int, ...]:
    per: dict[int, list[float]] = {}
    for t in tensors:
        if t.layer is not None and t.is_matrix and t.corr is not None and t.status != "shape_mismatch":
            per.setdefault(t.layer, []).append(t.corr)
    if len(per) < 2:
        return ()
    low = [layer for layer, cs in per.items() if max(cs) < cfg.replaced_corr]
    kept = [layer for layer, cs in per.items() if min(cs) >= 0.5]
    return tuple(sorted(low)) if kept and len(low) < len(per) else ()


def _median(xs: list[float | None]) -> float | None:
    vals = [x for x in xs if x is not None and math.isfinite(x)]
    return round(float(np.median(vals)), 5) if vals else None
