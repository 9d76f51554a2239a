"""Turn forensics results into the shared contract: findings, metrics (with CIs) and plot-ready data."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from warden.forensics import rules as R
from warden.forensics.activation import ActivationResult, Combined
from warden.forensics.basefree import BaseFreeResult
from warden.forensics.checkpoint import Checkpoint, gguf_version, unreadable_by_type
from warden.forensics.diff import DiffResult
from warden.forensics.layout import Layout
from warden.forensics.lineage import LineageResult
from warden.report.model import Finding, Location, Metric, Severity

STAGE = "forensics"
MAX_LISTED = 20


def _loc(ck: Checkpoint, tensor: str | None = None) -> Location:
    file = ck.tensors[tensor].file if tensor and tensor in ck.tensors else _main_file(ck)
    return Location(file=file, tensor=tensor)


def _main_file(ck: Checkpoint) -> str:
    files = sorted({i.file for i in ck.tensors.values()})
    return files[0] if files else "."


def bootstrap_median(xs: list[float], n_boot: int = 1000, seed: int = 0) -> tuple[float, float, float]:
    """Median and its 95% percentile-bootstrap interval (resampling the tensors)."""
    arr = np.asarray(xs, dtype=np.float64)
    med = float(np.median(arr))
    if arr.size < 2:
        return med, med, med
    rng = np.random.default_rng(seed)
    boots = np.median(rng.choice(arr, size=(n_boot, arr.size), replace=True), axis=1)
    return med, float(np.quantile(boots, 0.025)), float(np.quantile(boots, 0.975))


def _quant_findings(ck: Checkpoint, extra: dict[str, Any] | None = None) -> list[Finding]:
    """One finding per GGML type the installed gguf cannot dequantize (not one per tensor)."""
    out = []
    for qtype, names in unreadable_by_type(ck).items():
        msg = (
            f"{len(names)} tensor(s) stored as {qtype}, a GGML type gguf {gguf_version()} cannot "
            f"dequantize (e.g. {', '.join(names[:3])}); left out of the weight analysis"
        )
        ev = {"type": qtype, "tensors": len(names), "examples": names[:5], "error": msg}
        out.append(R.QUANT_UNREADABLE(_loc(ck, names[0]), ev | (extra or {})))
    return out


def layout_findings(ck: Checkpoint, layout: Layout) -> list[Finding]:
    out = [R.UNREADABLE(Location(file=f), {"error": msg}) for f, msg in ck.problems]
    out += _quant_findings(ck)
    if not layout.known and not layout.writers_unreadable:
        out.append(
            R.UNKNOWN_ARCH(
                _loc(ck), {"declared": layout.declared, "d_model": layout.d_model, "tensors": len(ck.tensors)}
            )
        )
    elif layout.guessed:
        out.append(
            R.ARCH_GUESSED(
                _loc(ck),
                {
                    "declared": layout.declared,
                    "guessed_family": layout.spec.family if layout.spec else None,
                    "layers": layout.n_layers,
                },
            )
        )
    return out


def side_problems(ck: Checkpoint, side: str) -> list[Finding]:
    """Damage found while opening the base / claimed base (named by its own path)."""
    return [
        R.UNREADABLE(Location(file=f), {"error": msg, "side": side, "checkpoint": ck.ref})
        for f, msg in ck.problems
    ] + _quant_findings(ck, {"side": side, "checkpoint": ck.ref})


def read_problems(problems: tuple[tuple[str, str], ...]) -> list[Finding]:
    """Tensors the base-free analysis could not read (damaged data), one finding each (capped)."""
    out = [R.UNREADABLE(Location(file=f), {"error": msg}) for f, msg in problems[:MAX_LISTED]]
    if len(problems) > MAX_LISTED:
        out.append(
            R.UNREADABLE(
                Location(file=problems[MAX_LISTED][0]), {"error": f"{len(problems) - MAX_LISTED} more"}
            )
        )
    return out


def basefree_findings(
    ck: Checkpoint,
    layout: Layout,
    res: BaseFreeResult,
    act: ActivationResult | None = None,
    comb: Combined | None = None,
) -> list[Finding]:
    w_flag = res.ran and res.flagged and res.best_window is not None
    a_flag = act is not None and act.ran and act.flagged
    if not (w_flag or a_flag):
        return []
    if w_flag:
        assert res.best_window is not None
        layers: tuple[int, ...] = res.affected_layers or (res.best_window[0],)
    else:
        assert act is not None  # a residual index i is written by decoder layer i - 1
        layers = tuple(max(0, i - 1) for i in act.inconsistent_indices)
    first = next(
        (n for layer in layers for slot in layout.writers.get(layer, {}).values() for n in slot), None
    )
    kind = res.kind if w_flag else "activation"
    severity = Severity.CRITICAL if kind == "classic" else Severity.HIGH
    ev: dict[str, Any] = {
        "kind": kind,
        "signals": [s for s, f in (("weight_energy", w_flag), ("activation", a_flag)) if f],
        "score": res.score,
        "threshold": res.threshold,
        "best_window": list(res.best_window) if res.best_window else None,
        "affected_layers": list(res.affected_layers),
        "apparent_weights": {p.layer: p.apparent_weight for p in res.profile},
        "embedding_log_energy": res.embedding_log_energy,
        "random_direction_z": res.random_z,
    }
    if act is not None:
        ev["activation"] = {
            "status": "ran" if act.ran else act.reason,
            "score": act.score if act.ran else None,
            "threshold": act.threshold,
            "inconsistent_residual_indices": list(act.inconsistent_indices),
            "consistency": {la.index: la.consistency for la in act.layers if la.consistency is not None},
        }
    if comb is not None:
        ev["combined"] = {
            "rule": "flag when either signal reaches its calibrated threshold",
            "ratio": comb.ratio,
            "weight_z": comb.weight_z,
            "activation_z": comb.activation_z,
        }
    return [R.ABLATION_BASEFREE(_loc(ck, first), ev, severity=severity)]


def diff_findings(
    ck: Checkpoint, base: Checkpoint, res: DiffResult, bf: BaseFreeResult | None
) -> list[Finding]:
    out: list[Finding] = []
    ab = res.ablation
    if ab is not None:
        edited = [t for t in res.tensors if t.key in set(ab.edited)]
        ev: dict[str, Any] = {
            "subtype": ab.subtype,
            "edited_writers": len(ab.edited),
            "writers_total": sum(1 for t in res.tensors if t.role in ("attn_out", "mlp_out") and t.is_matrix),
            "layer_weights": ab.weights,
            "direction_agreement": ab.agreement,
            "within_layer_agreement": ab.layer_agreement,
            "embedding_edited": ab.embedding_edited,
            "max_rank": max((t.rank or 0) for t in edited),
            "examples": [t.model_name for t in edited[:5]],
        }
        if bf is not None and bf.ran and bf.direction:
            v = np.asarray(bf.direction)
            ev["basefree_direction_cos"] = round(
                abs(float(v @ ab.direction)) / (np.linalg.norm(v) + 1e-30), 4
            )
        severity = Severity.CRITICAL if ab.subtype == "classic" else Severity.HIGH
        out.append(R.ABLATION_DIRECTIONAL(_loc(ck, edited[0].model_name), ev, severity=severity))
    if res.lora is not None:
        out.append(R.LORA_MERGE(_loc(ck), dict(res.lora)))
    if res.finetune is not None:
        out.append(R.FULL_FINETUNE(_loc(ck), dict(res.finetune)))
    for layer in res.replaced_layers:
        ts = [t for t in res.tensors if t.layer == layer and t.is_matrix]
        out.append(
            R.LAYER_REPLACED(
                _loc(ck, ts[0].model_name if ts else None),
                {"layer": layer, "correlations": {t.model_name: t.corr for t in ts[:MAX_LISTED]}},
            )
        )
    for t in res.embedding_changes:
        ev = {
            "shape_model": list(t.shape_model),
            "shape_base": list(t.shape_base),
            "rows_changed": t.rows_changed,
            "rows_compared": t.rows_total,
            "rel_norm": t.rel_norm,
        }
        out.append(R.EMBEDDING_CHANGED(_loc(ck, t.model_name), ev))
    emb_keys = {t.key for t in res.embedding_changes}
    for t in res.tensors:
        if t.status == "shape_mismatch" and t.key not in emb_keys:
            out.append(
                R.SHAPE_MISMATCH(
                    _loc(ck, t.model_name),
                    {"shape_model": list(t.shape_model), "shape_base": list(t.shape_base)},
                )
            )
        elif t.status == "unreadable":
            out.append(R.UNREADABLE(_loc(ck, t.model_name), {"error": t.reason}))
    p = res.pairing
    if p.only_model or p.only_base:
        out.append(
            R.TENSORS_ADDED_MISSING(
                _loc(ck),
                {
                    "added": list(p.only_model[:MAX_LISTED]),
                    "added_count": len(p.only_model),
                    "missing": list(p.only_base[:MAX_LISTED]),
                    "missing_count": len(p.only_base),
                },
            )
        )
    if res.precision_only:
        out.append(
            R.PRECISION_ONLY(
                _loc(ck),
                {
                    "tensors_differing": res.count("precision"),
                    "max_rel_norm": max((t.rel_norm or 0.0) for t in res.tensors if t.status == "precision"),
                    "dtypes": sorted(
                        {
                            ck.tensors[t.model_name].dtype + "->" + base.tensors[t.base_name].dtype
                            for t in res.tensors
                            if t.status == "precision"
                        }
                    )[:MAX_LISTED],
                },
            )
        )
    return out


def lineage_findings(ck: Checkpoint, claimed: str, res: LineageResult) -> list[Finding]:
    ev = {
        "claimed_base": claimed,
        "tokenizer": res.tokenizer,
        "vocab_overlap": res.vocab_overlap,
        "architecture_match": res.arch_match,
        "architecture_notes": list(res.arch_notes),
        "median_corr": res.same_corr,
        "unrelated_baseline_corr": res.null_corr,
        "matched_neuron_corr": res.matched_corr,
        "matched_neuron_baseline": res.matched_null,
        "neurons_permuted": res.permuted,
        "tensors_compared": res.n_tensors,
        "reasons": list(res.reasons),
    }
    rule = R.LINEAGE_CONSISTENT if res.consistent else R.LINEAGE_INCONSISTENT
    return [rule(_loc(ck), ev)]


def metrics(
    bf: BaseFreeResult | None,
    diff: DiffResult | None,
    lin: LineageResult | None,
    act: ActivationResult | None = None,
) -> list[Metric]:
    out: list[Metric] = []
    if act is not None and act.ran:
        out.append(
            Metric(
                "forensics.activation.score",
                act.score,
                n=act.n_harmful + act.n_harmless,
                stage=STAGE,
                description="1 - min over steered layers of cos(first-token change when harmless prompts "
                f"are steered along the model's own harmful direction, harmful - harmless) (flag >= {act.threshold})",
            )
        )
    if bf is not None and bf.ran:
        out.append(
            Metric(
                "forensics.basefree.score",
                bf.score,
                n=bf.n_writers,
                stage=STAGE,
                description="largest log gap between the smallest writer/reader energy ratio "
                f"and the next one over layer windows (flag >= {bf.threshold})",
            )
        )
        if bf.random_z is not None:
            out.append(
                Metric(
                    "forensics.basefree.random_z",
                    bf.random_z,
                    n=256,
                    stage=STAGE,
                    description="writer/reader log ratio along the recovered direction, "
                    "z-score against random directions of the same window",
                )
            )
    if diff is not None:
        rels = [t.rel_norm for t in diff.tensors if t.status == "changed" and t.rel_norm is not None]
        n_changed = diff.count("changed") + diff.count("precision")
        out.append(
            Metric(
                "forensics.diff.changed_tensors",
                float(n_changed),
                n=len(diff.tensors),
                stage=STAGE,
                description="tensors that differ from the base",
            )
        )
        if rels:
            med, lo, hi = bootstrap_median([float(x) for x in rels])
            out.append(
                Metric(
                    "forensics.diff.median_rel_norm",
                    med,
                    lo,
                    hi,
                    n=len(rels),
                    stage=STAGE,
                    description="median ||dW||/||W_base|| over changed tensors (bootstrap CI)",
                )
            )
        if diff.ablation is not None:
            out.append(
                Metric(
                    "forensics.diff.direction_agreement",
                    diff.ablation.agreement,
                    n=len(diff.ablation.edited),
                    stage=STAGE,
                    description="median |cos| of edited writers' top directions with their consensus",
                )
            )
    if lin is not None and lin.same_corr is not None:
        ci: tuple[float | None, float | None] = (None, None)
        if lin.corrs:
            ci = bootstrap_median(list(lin.corrs))[1:]
        out.append(
            Metric(
                "forensics.lineage.median_corr",
                lin.same_corr,
                ci[0],
                ci[1],
                n=lin.n_tensors,
                stage=STAGE,
                description="median mean-centred correlation with the claimed base (bootstrap CI over matrices)",
            )
        )
        if lin.null_corr is not None:
            out.append(
                Metric(
                    "forensics.lineage.baseline_corr",
                    lin.null_corr,
                    stage=STAGE,
                    description="same statistic against a different layer of the claimed base",
                )
            )
    return out


def _exp(x: float | None) -> float | None:
    return None if x is None else round(math.exp(x), 6)


def _clean(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def data(
    ck: Checkpoint,
    layout: Layout,
    bf: BaseFreeResult | None,
    diff: DiffResult | None,
    lin: LineageResult | None,
    act: ActivationResult | None = None,
    comb: Combined | None = None,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "model": {
            "format": ck.format,
            "declared_architecture": layout.declared,
            "family": layout.spec.family if layout.spec else None,
            "d_model": layout.d_model,
            "layers": layout.n_layers,
            "tensors": len(ck.tensors),
            "writers": sum(len(v) for slots in layout.writers.values() for v in slots.values()),
            "readers": len(layout.readers),
            "skipped": [list(s) for s in layout.skipped[:MAX_LISTED]],
        }
    }
    if bf is not None:
        out["basefree"] = {
            "ran": bf.ran,
            "reason": bf.reason,
            "score": bf.score,
            "threshold": bf.threshold,
            "flagged": bf.flagged,
            "kind": bf.kind,
            "best_window": list(bf.best_window) if bf.best_window else None,
            "affected_layers": list(bf.affected_layers),
            "embedding_log_energy": bf.embedding_log_energy,
            "reader_log_energy": bf.reader_log_energy,
            "random_direction_z": bf.random_z,
            "random_min_log_ratio": bf.random_min_log_ratio,
            "windows": [
                {"start": w.start, "stop": w.stop, "gap": w.gap, "log_eigs": list(w.log_eigs)}
                for w in bf.windows
            ],
            "energy_profile": [
                {
                    "layer": p.layer,
                    "attn_out_log_energy": p.attn_log_energy,
                    "mlp_out_log_energy": p.mlp_log_energy,
                    "apparent_weight": p.apparent_weight,
                }
                for p in bf.profile
            ],
            "direction": list(bf.direction),
        }
        if bf.profile:  # plot-ready series over layers: energy along r relative to a random direction (=1)
            out["energy_profile"] = {
                "attn_out": [_exp(p.attn_log_energy) for p in bf.profile],
                "mlp_out": [_exp(p.mlp_log_energy) for p in bf.profile],
                "apparent_weight": [p.apparent_weight for p in bf.profile],
            }
    if act is not None:
        out["activation"] = {
            "ran": act.ran,
            "reason": act.reason,
            "score": act.score if act.ran else None,
            "threshold": act.threshold,
            "flagged": act.flagged,
            "n_harmful": act.n_harmful,
            "n_harmless": act.n_harmless,
            "output_tv": act.output_tv,
            "layers": [dataclasses.asdict(la) for la in act.layers],
        }
    if comb is not None:
        out["combined"] = dataclasses.asdict(comb)
    if diff is not None:
        out["diff"] = {
            "by_role_keys": diff.pairing.by_role,
            "counts": {
                s: diff.count(s)
                for s in ("identical", "precision", "changed", "shape_mismatch", "unreadable")
            },
            "added": len(diff.pairing.only_model),
            "missing": len(diff.pairing.only_base),
            "identical": diff.identical,
            "precision_only": diff.precision_only,
            "ablation": None
            if diff.ablation is None
            else {
                "subtype": diff.ablation.subtype,
                "layer_weights": diff.ablation.weights,
                "agreement": diff.ablation.agreement,
                "within_layer_agreement": diff.ablation.layer_agreement,
                "embedding_edited": diff.ablation.embedding_edited,
                "edited": list(diff.ablation.edited),
            },
            "lora": diff.lora,
            "finetune": diff.finetune,
            "replaced_layers": list(diff.replaced_layers),
            "tensors": [
                {
                    "key": t.key,
                    "name": t.model_name,
                    "role": t.role,
                    "layer": t.layer,
                    "status": t.status,
                    "rel_norm": _clean(t.rel_norm),
                    "corr": t.corr,
                    "rank": t.rank,
                    "sv_rel": list(t.sv_rel),
                    "lowrank_energy": t.lowrank_energy,
                    "ablation_cos": t.ablation_cos,
                    "ablation_weight": t.ablation_weight,
                    "rows_changed": t.rows_changed,
                }
                for t in diff.tensors
                if t.status != "identical"
            ],
        }
    if lin is not None:
        out["lineage"] = {
            "consistent": lin.consistent,
            "reasons": list(lin.reasons),
            "tokenizer": lin.tokenizer,
            "vocab_overlap": lin.vocab_overlap,
            "architecture_match": lin.arch_match,
            "median_corr": lin.same_corr,
            "baseline_corr": lin.null_corr,
            "matched_neuron_corr": lin.matched_corr,
            "matched_neuron_baseline": lin.matched_null,
            "neurons_permuted": lin.permuted,
            "tensors_compared": lin.n_tensors,
        }
    return out
