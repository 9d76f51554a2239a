"""Base-free ablation search: one residual direction erased from the writers of a band of layers.

Directional ablation edits every matrix that writes into the residual stream, W <- (I - w r r^T) W,
so the energy of the writers along r shrinks by (1 - w)^2 (exactly 0 for w = 1) while the matrices
that READ the stream (q/k/v, gate/up) are untouched and still read r. Natural trained models also have
residual directions that their writers barely use, but those directions are barely read either
(and in LayerNorm models the all-ones direction is invisible to every reader). So we look for a
direction whose writer energy is low *relative to its reader energy*:

    A_W = mean over layers l in a window W of the normalised writer Grams (attn_out, mlp_out)   (d, d)
    B   = mean of the normalised reader Grams over all layers                                   (d, d)
    bottom eigenpairs of the pencil A_W x = lambda B x,   gap_W = log(lambda_2 / lambda_1)

A clean model's bottom eigenvalues form a continuum (small gaps); an ablated direction is an outlier
below it. Windows are contiguous bands of layers of several widths (Heretic edits a tent-shaped band).
The best window's direction r gives the per-layer energy profile and the embedding check (classic
ablation also orthogonalises the embedding: r is then a right null vector of E). A random-direction
null of the same window is reported next to the spectral gap; the flag threshold is calibrated on
clean checkpoints (CALIBRATION.md).
"""

from __future__ import annotations

import dataclasses
import math
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from warden.errors import FormatError
from warden.forensics.checkpoint import Checkpoint
from warden.forensics.config import BaseFreeConfig
from warden.forensics.layout import Layout
from warden.forensics.linalg import Whitener, gram2d, normalized, residual_gram, sample_rows

Progress = Callable[[str], None]
LOG_FLOOR = 1e-14  # energies below this are numerically zero (log floor ~ -32)


@dataclass(frozen=True)
class WindowGap:
    start: int  # first layer
    stop: int  # last layer (inclusive)
    log_eigs: tuple[float, ...]  # bottom log eigenvalues of the pencil, ascending
    gap: float  # log(lambda_2 / lambda_1)


@dataclass(frozen=True)
class LayerEnergy:
    layer: int
    attn_log_energy: float | None  # log of r^T G r / (mean over directions), normalised Gram
    mlp_log_energy: float | None
    apparent_weight: float  # 1 - sqrt(writer energy / reader energy), clipped to [0, 1]


@dataclass(frozen=True)
class BaseFreeResult:
    ran: bool
    reason: str = ""
    d_model: int = 0
    n_layers: int = 0
    n_writers: int = 0
    n_readers: int = 0
    score: float = 0.0  # best window gap
    threshold: float = 0.0
    flagged: bool = False
    kind: str | None = None  # "classic" (embedding erased too, w~1 everywhere) | "partial"
    best_window: tuple[int, int] | None = None
    windows: tuple[WindowGap, ...] = ()
    profile: tuple[LayerEnergy, ...] = ()
    affected_layers: tuple[int, ...] = ()
    embedding_log_energy: float | None = None
    reader_log_energy: float | None = None
    random_z: float | None = None  # (log ratio along r - mean over random directions) / std
    random_min_log_ratio: float | None = None
    direction: tuple[float, ...] = ()
    problems: tuple[tuple[str, str], ...] = ()  # (file, message) of tensors that could not be read


class _GramStore:
    """Per-layer Grams, in RAM up to a budget, then as .npy files in a temporary directory."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.used = 0
        self.ram: dict[str, torch.Tensor] = {}
        self.tmp: tempfile.TemporaryDirectory[str] | None = None

    def put(self, key: str, g: torch.Tensor) -> None:
        g32 = g.to(torch.float32)
        size = g32.numel() * 4
        if self.used + size <= self.budget:
            self.ram[key] = g32
            self.used += size
            return
        if self.tmp is None:
            self.tmp = tempfile.TemporaryDirectory(prefix="warden-grams-")
        np.save(Path(self.tmp.name) / f"{key}.npy", g32.numpy())

    def get(self, key: str) -> torch.Tensor | None:
        """A float32 copy (callers may modify it)."""
        if key in self.ram:
            return self.ram[key].clone()
        if self.tmp is not None:
            p = Path(self.tmp.name) / f"{key}.npy"
            if p.exists():
                return torch.from_numpy(np.load(p, allow_pickle=False))
        return None

    def close(self) -> None:
        if self.tmp is not None:
            self.tmp.cleanup()


def band_windows(n_layers: int, centres: list[int], widths: tuple[int, ...]) -> list[tuple[int, int]]:
    """Bands of each width (< n_layers) around each centre layer, clipped to the stack."""
    out: list[tuple[int, int]] = []
    for c in centres:
        for w in widths:
            if 1 < w < n_layers:
                start = min(max(0, c - (w - 1) // 2), n_layers - w)
                out.append((start, start + w - 1))
    return list(dict.fromkeys(out))


def run_basefree(
    ck: Checkpoint, layout: Layout, cfg: BaseFreeConfig, progress: Progress | None = None
) -> BaseFreeResult:
    if layout.writers_unreadable:
        types = ", ".join(sorted(set(ck.unreadable.values())))
        return BaseFreeResult(ran=False, reason=f"no readable residual writers: stored as {types}")
    if not layout.known or layout.d_model is None:
        return BaseFreeResult(ran=False, reason="architecture not recognised: residual writers unknown")
    d = layout.d_model
    say = progress or (lambda _m: None)
    store = _GramStore(cfg.gram_ram_bytes)
    problems: list[tuple[str, str]] = []

    def gram(name: str, max_rows: int | None = None) -> torch.Tensor | None:
        info = ck.tensors[name]
        axis = layout.roles[name].residual_axis
        assert axis is not None
        say(name)
        try:
            return normalized(residual_gram(ck, info, axis, max_rows=max_rows))
        except FormatError as exc:
            problems.append((exc.path or info.file, exc.message))
            return None

    try:
        # reference: what the layers read (rows capped: readers are a reference, not the evidence)
        b = torch.zeros(d, d, dtype=torch.float64)
        n_readers = 0
        # the reference is estimated from reader_rows_per_d * d rows in all (a fixed N/d, so its
        # sampling noise, and the calibrated threshold, do not depend on the model's size)
        per_reader = max(64, cfg.reader_rows_per_d * d // max(1, len(layout.readers)))
        stack: list[torch.Tensor] = []  # sampled rows, each matrix scaled to unit mean energy

        def flush() -> None:
            nonlocal b
            if stack:
                b += gram2d(torch.cat(stack), 1)  # one syrk for many readers
                stack.clear()

        for name in layout.readers:
            info = ck.tensors[name]
            if len(info.shape) != 2 or layout.roles[name].residual_axis != 1:
                g = gram(name)
                if g is not None:
                    b += g
                    n_readers += 1
                continue
            say(name)
            try:
                x = sample_rows(ck, info, per_reader)  # (rows, d)
            except FormatError as exc:
                problems.append((exc.path or info.file, exc.message))
                continue
            fro2 = float((x.double() ** 2).sum())
            if fro2 > 0:
                stack.append(x * math.sqrt(d / fro2))
                n_readers += 1
            if sum(t.shape[0] for t in stack) >= 8 * d:
                flush()
        flush()
        b = b / n_readers if n_readers else torch.eye(d, dtype=torch.float64)
        n_writers = 0
        for layer, slots in layout.writers.items():
            for slot, names in slots.items():
                gs = [g for g in (gram(n) for n in names) if g is not None]  # MoE: experts averaged
                n_writers += len(gs)
                if gs:
                    store.put(f"{layer}.{slot}", torch.stack(gs).mean(0))
        if n_writers == 0:
            return BaseFreeResult(ran=False, reason="no readable residual writers", problems=tuple(problems))
        emb = gram(layout.embedding, cfg.embedding_rows_per_d * d) if layout.embedding else None
        try:
            res = _analyse(layout, store, b, emb, cfg, n_writers, n_readers)
        except RuntimeError as exc:  # degenerate matrices: report, don't crash
            reason = f"numerical failure: {exc}"[:300]
            return BaseFreeResult(ran=False, reason=reason, problems=tuple(problems))
        return dataclasses.replace(res, problems=tuple(problems))
    finally:
        store.close()


def _window_gram(store: _GramStore, layers: list[int], start: int, stop: int) -> torch.Tensor | None:
    """Mean over the window's layers of (attn_out + mlp_out) / 2, accumulated one Gram at a time."""
    total: torch.Tensor | None = None
    n = 0
    for layer in layers:
        if not start <= layer <= stop:
            continue
        parts = [g for g in (store.get(f"{layer}.attn"), store.get(f"{layer}.mlp")) if g is not None]
        for g in parts:
            g.mul_(1.0 / len(parts))
            total = g if total is None else total.add_(g)
        n += 1 if parts else 0
    return None if total is None else total.div_(n)


def _analyse(
    layout: Layout,
    store: _GramStore,
    b: torch.Tensor,
    emb: torch.Tensor | None,
    cfg: BaseFreeConfig,
    n_writers: int,
    n_readers: int,
) -> BaseFreeResult:
    d = b.shape[0]
    layers = sorted(layout.writers)
    n_layers = layout.n_layers
    if layout.layer_norm:
        # LayerNorm models: every norm removes the all-ones component, so nothing READS it (writers
        # may put anything there): give it (almost) no reader energy so it never looks erased.
        p = torch.eye(d, dtype=torch.float64) - 1.0 / d
        b = p @ b @ p + 1e-3 * torch.full((d, d), 1.0 / d, dtype=torch.float64)
    whiten = Whitener(b)
    results: list[tuple[WindowGap, torch.Tensor]] = []

    def window(start: int, stop: int) -> None:
        a = _window_gram(store, layers, start, stop)
        if a is None:
            return
        eig = whiten.bottom(a, cfg.n_eigs, seed=cfg.seed)
        logs = torch.log(eig.values.clamp_min(LOG_FLOOR))
        gap = float(logs[1] - logs[0]) if logs.numel() > 1 else 0.0
        wg = WindowGap(start, stop, tuple(round(float(x), 4) for x in logs), round(gap, 4))
        results.append((wg, eig.vectors[:, 0]))

    # every single layer, then bands around the layers that stand out most (Heretic's tent has its
    # peak there), then the whole stack: O(L) factorisations instead of O(L^2) windows
    for layer in layers:
        window(layer, layer)
    singles = sorted(results, key=lambda t: -t[0].gap)
    centres = [w.start for w, _ in singles[: cfg.focus_layers]]
    for start, stop in band_windows(n_layers, centres, cfg.window_widths):
        window(start, stop)
    if n_layers > 1:
        window(0, n_layers - 1)
    best, r = max(results, key=lambda t: t[0].gap)
    a_w = _window_gram(store, layers, best.start, best.stop)
    assert a_w is not None
    a_best = a_w.double()
    r = r / r.norm()
    reader_e = float(r @ b @ r)
    profile = []
    for layer in layers:
        ga, gm = store.get(f"{layer}.attn"), store.get(f"{layer}.mlp")
        ea = _quad(ga, r) if ga is not None else None
        em = _quad(gm, r) if gm is not None else None
        writer = np.mean([e for e in (ea, em) if e is not None])
        w_app = 1.0 - math.sqrt(min(1.0, max(0.0, float(writer)) / max(reader_e, LOG_FLOOR)))
        profile.append(LayerEnergy(layer, _log(ea), _log(em), round(w_app, 4)))
    emb_log = _log(_quad(emb, r)) if emb is not None else None
    # random-direction null for the best window's writer/reader log ratio
    gen = torch.Generator().manual_seed(cfg.seed)
    u = torch.randn(d, cfg.n_random, generator=gen, dtype=torch.float64)
    if layout.layer_norm:
        u = u - u.mean(0, keepdim=True)
    u = u / u.norm(dim=0, keepdim=True)
    rand = torch.log(((a_best @ u) * u).sum(0).clamp_min(LOG_FLOOR) / ((b @ u) * u).sum(0))
    obs = math.log(max(float(r @ a_best @ r), LOG_FLOOR) / max(reader_e, LOG_FLOOR))
    z = (obs - float(rand.mean())) / max(float(rand.std()), 1e-12)
    flagged = best.gap >= cfg.gap_threshold
    affected = tuple(p.layer for p in profile if p.apparent_weight >= cfg.affected_weight)
    kind = None
    if flagged:
        emb_erased = emb_log is not None and emb_log <= cfg.embedding_null_log
        kind = "classic" if emb_erased else "partial"
    return BaseFreeResult(
        ran=True,
        d_model=d,
        n_layers=n_layers,
        n_writers=n_writers,
        n_readers=n_readers,
        score=best.gap,
        threshold=cfg.gap_threshold,
        flagged=flagged,
        kind=kind,
        best_window=(best.start, best.stop),
        windows=tuple(w for w, _ in results),
        profile=tuple(profile),
        affected_layers=affected if flagged else (),
        embedding_log_energy=emb_log,
        reader_log_energy=_log(reader_e),
        random_z=round(z, 3),
        random_min_log_ratio=round(float(rand.min()), 4),
        direction=tuple(round(float(x), 6) for x in r) if d <= 8192 else (),
    )


def _quad(g: torch.Tensor, r: torch.Tensor) -> float:
    """r^T G r with r in G's dtype (float32 Grams: energies resolve down to ~1e-7 of the mean)."""
    v = r.to(g.dtype)
    return float(v @ (g @ v))


def _log(x: float | None) -> float | None:
    return None if x is None else round(math.log(max(x, LOG_FLOOR)), 4)
