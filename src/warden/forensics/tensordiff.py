"""One tensor against its base: identical / precision-only / changed, and the structure of dW.

For a matrix viewed with the residual stream on its rows, R = dW (d, n), we measure:
  rel        ||dW|| / ||W_base||
  corr       mean-centred correlation of W and W_base (unrelated matrices: ~0)
  rank       singular values of dW standing out above the noise edge (Marchenko-Pastur edge of the
             residual after the top k: sqrt(resid / (d n)) * (sqrt d + sqrt n))
  ablation   u1 = top left singular vector of dW; an ablation has dW = -w u1 (u1^T W_base), so
             cos(u1^T dW, u1^T W_base) = -1 and w = -(u1^T dW . u1^T W) / ||u1^T W||^2
Matrices stored (n, d) (embeddings, lm_head, readers) are streamed in row blocks with a 3-pass
randomized range finder, so a 128k-token embedding never sits in memory three times.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from warden.forensics.checkpoint import Checkpoint
from warden.forensics.config import DiffConfig
from warden.forensics.linalg import top_svd

MANTISSA = {"F64": 52, "F32": 23, "F16": 10, "BF16": 7, "F8_E4M3": 3, "F8_E5M2": 2}
# smallest normal number: below it rounding is absolute (subnormals), not relative
TINY = {"F64": 2.3e-308, "F32": 1.2e-38, "F16": 6.1e-5, "BF16": 1.2e-38, "F8_E4M3": 2**-6, "F8_E5M2": 2**-14}
IN_MEMORY_ELEMS = 1 << 24
# the in-memory path holds ~5 float32 copies of a tensor (model, base, difference, views for the SVD)
IN_MEMORY_COPIES = 5
STREAM_MIN_ELEMS = 1 << 20  # below this the copies are a few MiB: exact in-memory SVD
CHUNK = 1 << 22


@dataclass(frozen=True)
class TensorDiff:
    key: str
    model_name: str
    base_name: str
    file: str
    role: str
    layer: int | None
    status: str  # identical | precision | changed | shape_mismatch | unreadable
    shape_model: tuple[int, ...] = ()
    shape_base: tuple[int, ...] = ()
    rel_norm: float | None = None
    corr: float | None = None
    rank: int | None = None  # structured rank (top_k means "at least top_k")
    top_k: int = 0
    sv_rel: tuple[float, ...] = ()  # top singular values / ||dW||
    lowrank_energy: float | None = None  # share of ||dW||^2 in the structured spikes
    ablation_cos: float | None = None
    ablation_weight: float | None = None  # -(u1^T dW . u1^T W) / ||u1^T W||^2
    energy_drop: float | None = None  # 1 - ||u1^T W_model|| / ||u1^T W_base||
    rows_changed: int | None = None  # stored rows (tokens, for embeddings) with any change
    rows_total: int | None = None
    row_norm_change: float | None = None  # max relative change of residual-row norms
    reason: str = ""
    direction: np.ndarray | None = field(default=None, compare=False, repr=False)  # (d,) top left sv

    @property
    def is_matrix(self) -> bool:
        return len(self.shape_base) >= 2


@dataclass
class _Stats:
    """Streaming sums over one pair of tensors."""

    fro_d: float = 0.0
    fro_b: float = 0.0
    sa: float = 0.0
    sb: float = 0.0
    saa: float = 0.0
    sbb: float = 0.0
    sab: float = 0.0
    n: int = 0
    rows_changed: int = 0
    equal: bool = True
    within_ulp: int = 0

    def add(
        self, a: torch.Tensor, b: torch.Tensor, ulp_rel: float | None, ulp_abs: float = 0.0
    ) -> torch.Tensor:
        d = a - b  # float32, same shape
        fa, fb, fd = a.reshape(-1), b.reshape(-1), d.reshape(-1)
        for s in range(0, fa.numel(), CHUNK):  # float32 dots per chunk, summed in float64
            ca, cb, cd = fa[s : s + CHUNK], fb[s : s + CHUNK], fd[s : s + CHUNK]
            self.fro_d += float(cd @ cd)
            self.fro_b += float(cb @ cb)
            self.sa += float(ca.sum())
            self.sb += float(cb.sum())
            self.saa += float(ca @ ca)
            self.sbb += float(cb @ cb)
            self.sab += float(ca @ cb)
            if ulp_rel is not None:
                self.within_ulp += int((cd.abs() <= ulp_rel * cb.abs() * 1.001 + ulp_abs).sum())
        self.n += a.numel()
        changed = d != 0
        if changed.any():
            self.equal = False
        self.rows_changed += int(changed.reshape(changed.shape[0], -1).any(dim=1).sum()) if d.ndim else 0
        return d

    @property
    def rel(self) -> float:
        return (
            math.sqrt(self.fro_d / self.fro_b) if self.fro_b > 0 else (0.0 if self.fro_d == 0 else math.inf)
        )

    @property
    def corr(self) -> float | None:
        if self.n < 2:
            return None
        cov = self.sab / self.n - (self.sa / self.n) * (self.sb / self.n)
        va = self.saa / self.n - (self.sa / self.n) ** 2
        vb = self.sbb / self.n - (self.sb / self.n) ** 2
        if va <= 0 or vb <= 0:
            return None
        return max(-1.0, min(1.0, cov / math.sqrt(va * vb)))


def noise_level(dtype_a: str, dtype_b: str, cfg: DiffConfig) -> float:
    table = dict(cfg.precision_noise)
    return max(table.get(dtype_a, 0.5), table.get(dtype_b, 0.5))


def compare(
    a_ck: Checkpoint,
    a_name: str,
    b_ck: Checkpoint,
    b_name: str,
    *,
    key: str,
    role: str,
    layer: int | None,
    axis: int | None,
    cfg: DiffConfig,
    heads: tuple[int | None, int | None] = (None, None),
) -> TensorDiff:
    ia, ib = a_ck.tensors[a_name], b_ck.tensors[b_name]
    base = TensorDiff(
        key=key,
        model_name=a_name,
        base_name=b_name,
        file=ia.file,
        role=role,
        layer=layer,
        status="changed",
        shape_model=ia.shape,
        shape_base=ib.shape,
    )
    if ia.shape != ib.shape:
        same_width = len(ia.shape) == 2 and len(ib.shape) == 2 and ia.shape[1] == ib.shape[1]
        if not (same_width and role in ("embedding", "lm_head")):
            return replace(base, status="shape_mismatch")
        rows = min(ia.shape[0], ib.shape[0])  # compare the shared vocabulary
        st = _Stats()
        for s in range(0, rows, max(1, IN_MEMORY_ELEMS // ia.shape[1])):
            e = min(rows, s + max(1, IN_MEMORY_ELEMS // ia.shape[1]))
            st.add(a_ck.read_rows(a_name, s, e), b_ck.read_rows(b_name, s, e), None)
        return replace(
            base,
            status="shape_mismatch",
            rel_norm=st.rel,
            corr=st.corr,
            rows_changed=st.rows_changed,
            rows_total=rows,
        )
    cross = a_ck.format != b_ck.format or ia.dtype != ib.dtype
    if not cross and heads == (None, None) and _identical(a_ck, a_name, b_ck, b_name):
        rows = ia.shape[0] if ia.shape else 1
        return replace(base, status="identical", rel_norm=0.0, corr=1.0, rows_changed=0, rows_total=rows)
    ulp_rel, ulp_abs = None, 0.0
    quantized = ia.dtype not in MANTISSA or ib.dtype not in MANTISSA
    if cross and not quantized:
        ulp_rel = 2.0 ** -min(MANTISSA[ia.dtype], MANTISSA[ib.dtype])
        ulp_abs = max(TINY[ia.dtype], TINY[ib.dtype])
    if axis == 1 and len(ia.shape) == 2 and heads == (None, None) and _stream(a_ck, b_ck, ia.numel):
        return _compare_streamed(a_ck, a_name, b_ck, b_name, base, cross, quantized, (ulp_rel, ulp_abs), cfg)
    a = a_ck.read(a_name)
    b = b_ck.read(b_name)
    from warden.forensics.pairing import unpermute_qk

    if heads[0]:
        a = unpermute_qk(a, heads[0])
    if heads[1]:
        b = unpermute_qk(b, heads[1])
    st = _Stats()
    d = st.add(a, b, ulp_rel, ulp_abs)
    base = replace(
        base,
        rel_norm=round(st.rel, 8),
        corr=_r(st.corr),
        rows_changed=st.rows_changed,
        rows_total=a.shape[0] if a.ndim else 1,
    )
    if st.equal:
        return replace(base, status="identical")
    if a.ndim < 2:
        prec = cross and _precision(st, quantized, ulp_rel, ia.dtype, ib.dtype, cfg, spikes=0)
        return replace(base, status="precision" if prec else "changed")
    r_d, r_b = _residual_view(d, axis), _residual_view(b, axis)  # (d, n)
    svd = top_svd(r_d, cfg.top_k)
    struct = _structure(svd.s, svd.fro2, r_d.shape, cfg)
    prec = cross and _precision(st, quantized, ulp_rel, ia.dtype, ib.dtype, cfg, spikes=struct.rank)
    u1 = svd.u[:, 0].double()
    u32 = u1.float()
    x, y = (u32 @ r_d).double(), (u32 @ r_b).double()
    xy, xx, yy = float(x @ y), float(x @ x), float(y @ y)
    drop = _drop(xx, xy, yy)
    rb_norm = torch.linalg.vector_norm(r_b, dim=1).double()
    ra_norm = torch.linalg.vector_norm(_residual_view(a, axis), dim=1).double()
    rnc = float(((ra_norm - rb_norm).abs() / rb_norm.clamp_min(1e-30)).max())
    return replace(
        base,
        status="precision" if prec else "changed",
        rank=struct.rank,
        top_k=struct.top_k,
        sv_rel=struct.sv_rel,
        lowrank_energy=struct.lowrank_energy,
        ablation_cos=_r(xy / math.sqrt(xx * yy)) if xx > 0 and yy > 0 else None,
        ablation_weight=_r(-xy / yy) if yy > 0 else None,
        energy_drop=_r(drop),
        row_norm_change=_r(rnc),
        direction=u1.numpy().astype(np.float32),
    )


def _stream(a_ck: Checkpoint, b_ck: Checkpoint, numel: int) -> bool:
    """Stream an (n, d) tensor in row blocks when it is large, or when holding its float32 copies would
    cost more than the two largest stored tensors (the memory budget: small models have an embedding
    below IN_MEMORY_ELEMS that is still several times every other tensor)."""
    if numel > IN_MEMORY_ELEMS:
        return True
    working = IN_MEMORY_COPIES * 4 * numel
    return numel > STREAM_MIN_ELEMS and working > a_ck.largest_stored_bytes + b_ck.largest_stored_bytes


def _identical(a_ck: Checkpoint, a_name: str, b_ck: Checkpoint, b_name: str) -> bool:
    """Same stored bytes, compared block by block in the stored dtype (the common case in a diff)."""
    info = a_ck.tensors[a_name]
    rows = info.shape[0] if info.shape else 1
    step = max(1, IN_MEMORY_ELEMS // max(1, info.numel // max(rows, 1)))
    for s in range(0, rows, step):
        x = a_ck.read_rows_native(a_name, s, min(rows, s + step))
        y = b_ck.read_rows_native(b_name, s, min(rows, s + step))
        same = (
            torch.equal(x, y)
            if isinstance(x, torch.Tensor) and isinstance(y, torch.Tensor)
            else (np.array_equal(np.asarray(x), np.asarray(y)))
        )
        if not same:
            return False
    return True


def _residual_view(m: torch.Tensor, axis: int | None) -> torch.Tensor:
    """(d, n): residual stream on the rows. Packed experts (E, a, b) are concatenated along n."""
    if m.ndim == 3:
        parts = [_residual_view(m[e], None if axis is None else axis - 1) for e in range(m.shape[0])]
        return torch.cat(parts, dim=1)
    if m.ndim > 3:
        return m.reshape(m.shape[0], -1)
    return m.T if axis == 1 else m


@dataclass(frozen=True)
class Structure:
    rank: int
    top_k: int
    sv_rel: tuple[float, ...]
    lowrank_energy: float


def _structure(s: torch.Tensor, fro2: float, shape: tuple[int, ...], cfg: DiffConfig) -> Structure:
    rows, cols = shape[0], shape[1]
    s = s.double()
    # noise edge from what the top k leave over; when k covers the whole spectrum, from everything
    resid = fro2 if s.numel() >= min(rows, cols) else max(fro2 - float((s * s).sum()), 0.0)
    edge = math.sqrt(resid / (rows * cols)) * (math.sqrt(rows) + math.sqrt(cols))
    s1 = float(s[0]) if s.numel() else 0.0
    spikes = [float(v) for v in s if float(v) >= cfg.spike_ratio * edge and float(v) >= 1e-3 * s1]
    energy = sum(v * v for v in spikes) / fro2 if fro2 > 0 else 0.0
    sv = tuple(round(float(v) / math.sqrt(fro2), 5) for v in s[:8]) if fro2 > 0 else ()
    return Structure(len(spikes), int(s.numel()), sv, round(energy, 5))


def _precision(
    st: _Stats, quantized: bool, ulp_rel: float | None, da: str, db: str, cfg: DiffConfig, spikes: int
) -> bool:
    """Re-encoding noise only: every element within one ulp of the coarser float dtype, or (quantised)
    a relative change within that format's noise, and in both cases no structured component."""
    if spikes > 0:
        return False
    if quantized:
        return st.rel <= noise_level(da, db, cfg)
    return ulp_rel is not None and st.within_ulp >= 0.999 * st.n


def _compare_streamed(
    a_ck: Checkpoint,
    a_name: str,
    b_ck: Checkpoint,
    b_name: str,
    base: TensorDiff,
    cross: bool,
    quantized: bool,
    ulp: tuple[float | None, float],
    cfg: DiffConfig,
) -> TensorDiff:
    """(n, d) tensors too large to hold: R = dW^T (d, n); randomized range finder in 3 row passes."""
    ulp_rel, ulp_abs = ulp
    n, d = a_ck.tensors[a_name].shape
    q = min(d, cfg.top_k + 8)
    step = max(1, IN_MEMORY_ELEMS // (4 * d))
    spans = [(s, min(n, s + step)) for s in range(0, n, step)]
    gen = torch.Generator().manual_seed(0)
    st = _Stats()
    y = torch.zeros(d, q, dtype=torch.float64)
    col_a = torch.zeros(d, dtype=torch.float64)
    col_b = torch.zeros(d, dtype=torch.float64)
    for s, e in spans:  # pass 1: sums, equality, Y = R Omega
        a, b = a_ck.read_rows(a_name, s, e), b_ck.read_rows(b_name, s, e)
        dd = st.add(a, b, ulp_rel, ulp_abs)
        omega = torch.randn(e - s, q, generator=gen)
        y += (dd.T @ omega).double()
        col_a += (torch.linalg.vector_norm(a, dim=0) ** 2).double()
        col_b += (torch.linalg.vector_norm(b, dim=0) ** 2).double()
    base = replace(
        base, rel_norm=round(st.rel, 8), corr=_r(st.corr), rows_changed=st.rows_changed, rows_total=n
    )
    if st.equal:
        return replace(base, status="identical")
    qm, _ = torch.linalg.qr(y)
    y2 = torch.zeros(d, q, dtype=torch.float64)
    for s, e in spans:  # pass 2: one power iteration, Y = R R^T Q
        dd = a_ck.read_rows(a_name, s, e) - b_ck.read_rows(b_name, s, e)
        q32 = qm.float()
        y2 += (dd.T @ (dd @ q32)).double()
    qm, _ = torch.linalg.qr(y2)
    c_dd = torch.zeros(q, q, dtype=torch.float64)
    c_db = torch.zeros(q, q, dtype=torch.float64)
    c_bb = torch.zeros(q, q, dtype=torch.float64)
    for s, e in spans:  # pass 3: small Grams of Q^T R and Q^T R_base
        a, b = a_ck.read_rows(a_name, s, e), b_ck.read_rows(b_name, s, e)
        q32 = qm.float()
        zd, zb = ((a - b) @ q32).double(), (b @ q32).double()
        c_dd += zd.T @ zd
        c_db += zd.T @ zb
        c_bb += zb.T @ zb
    evals, evecs = torch.linalg.eigh(c_dd)
    order = torch.argsort(evals, descending=True)
    svals = evals[order].clamp_min(0).sqrt()[: cfg.top_k]
    v1 = evecs[:, order[0]]
    struct = _structure(svals, st.fro_d, (d, n), cfg)
    da, db = a_ck.tensors[a_name].dtype, b_ck.tensors[b_name].dtype
    prec = cross and _precision(st, quantized, ulp_rel, da, db, cfg, spikes=struct.rank)
    xy, xx, yy = float(v1 @ c_db @ v1), float(v1 @ c_dd @ v1), float(v1 @ c_bb @ v1)
    rnc = float(((col_a.sqrt() - col_b.sqrt()).abs() / col_b.sqrt().clamp_min(1e-30)).max())
    return replace(
        base,
        status="precision" if prec else "changed",
        rank=struct.rank,
        top_k=struct.top_k,
        sv_rel=struct.sv_rel,
        lowrank_energy=struct.lowrank_energy,
        ablation_cos=_r(xy / math.sqrt(xx * yy)) if xx > 0 and yy > 0 else None,
        ablation_weight=_r(-xy / yy) if yy > 0 else None,
        energy_drop=_r(_drop(xx, xy, yy)),
        row_norm_change=_r(rnc),
        direction=(qm @ v1).numpy().astype(np.float32),
    )


def _drop(xx: float, xy: float, yy: float) -> float | None:
    """1 - ||u1^T (W + dW)|| / ||u1^T W|| from x = u1^T dW, y = u1^T W: ||x + y||^2 = xx + 2xy + yy."""
    if yy <= 0:
        return None
    return 1.0 - math.sqrt(max(xx + 2 * xy + yy, 0.0) / yy)


def _r(x: float | None, nd: int = 5) -> float | None:
    return None if x is None or not math.isfinite(x) else round(x, nd)
