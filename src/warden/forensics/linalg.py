"""Small linear-algebra kernels shared by the base-free search, the diff and lineage (torch, CPU).

Shapes: d = residual width, n = the other side of a matrix, k = a handful of vectors.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from warden.forensics.checkpoint import Checkpoint, TensorInfo

DIRECT_EIG_MAX_D = (
    128  # above this, bottom eigenpairs come from block inverse iteration (faster, same values)
)


def residual_gram(
    ck: Checkpoint, info: TensorInfo, axis: int, max_rows: int | None = None, block_elems: int = 1 << 24
) -> torch.Tensor:
    """G = M M^T over the residual axis of one stored tensor, float64 (d, d), streamed by row blocks.

    axis 0 (writers (d, n)): each block of rows is a block of G's rows -> read whole (one tensor).
    axis 1 ((n, d): embeddings, readers): G = sum over row blocks of B^T B; ``max_rows`` keeps evenly
    spread contiguous blocks of rows only (the exact null of an ablated embedding survives sampling).
    axis 2 ((E, n, d) packed experts) / axis 1 of (E, d, n): handled per expert.
    """
    shape = info.shape
    if len(shape) == 3:
        g = None
        for e in range(shape[0]):
            m = ck.read_rows(info.name, e, e + 1)[0]  # (a, b)
            ge = gram2d(m, axis - 1)
            g = ge if g is None else g + ge
        assert g is not None
        return g
    if axis == 0:
        return gram2d(ck.read(info.name), 0)
    rows = shape[0]
    d = shape[1]
    g = torch.zeros(d, d, dtype=torch.float64)
    spans = _row_spans(rows, max_rows, max(1, block_elems // max(d, 1)))
    for a, b in spans:
        g += gram2d(ck.read_rows(info.name, a, b), 1)  # (b-a, d) -> (d, d)
    return g


def sample_rows(ck: Checkpoint, info: TensorInfo, max_rows: int, block_elems: int = 1 << 24) -> torch.Tensor:
    """Up to ``max_rows`` rows of a 2-D tensor, as evenly spread contiguous blocks (float32)."""
    d = info.shape[1]
    spans = _row_spans(info.shape[0], max_rows, max(1, block_elems // max(d, 1)))
    return torch.cat([ck.read_rows(info.name, a, b) for a, b in spans])


def gram2d(m: torch.Tensor, axis: int) -> torch.Tensor:
    x = m.contiguous().numpy()
    g = x @ x.T if axis == 0 else x.T @ x  # numpy sends A A^T to BLAS syrk: half a gemm's work
    return torch.from_numpy(g).double()


def _row_spans(rows: int, max_rows: int | None, step: int) -> list[tuple[int, int]]:
    if max_rows is None or rows <= max_rows:
        return [(a, min(rows, a + step)) for a in range(0, rows, step)]
    n_blocks = max(1, -(-max_rows // step))
    per = max(1, max_rows // n_blocks)
    starts = torch.linspace(0, rows - per, n_blocks).round().long().tolist()
    return [(int(s), int(s) + per) for s in starts]


def normalized(g: torch.Tensor) -> torch.Tensor:
    """Scale a Gram so a random unit direction has energy 1 on average: G * d / tr(G)."""
    tr = float(torch.trace(g))
    return g * (g.shape[0] / tr) if tr > 0 else g


def robust_cholesky(m: torch.Tensor, jitter: float) -> torch.Tensor:
    """Cholesky of a symmetric PSD matrix with a diagonal jitter relative to its mean eigenvalue,
    raised until it succeeds (a singular reference or an exact null must not stop the analysis)."""
    d = m.shape[0]
    scale = max(float(torch.diagonal(m).sum()) / d, 1e-300)
    for j in sorted({jitter, 1e-7, 1e-5, 1e-4, 1e-2}):
        if j < jitter:
            continue
        mm = m.clone()
        mm.diagonal().add_(j * scale)
        chol, info = torch.linalg.cholesky_ex(mm)
        if int(info) == 0:
            return torch.as_tensor(chol)
    raise RuntimeError("matrix is not positive definite even with jitter")


@dataclass(frozen=True)
class Eig:
    values: torch.Tensor  # (k,) ascending
    vectors: torch.Tensor  # (d, k), unit norm columns


class Whitener:
    """Bottom eigenpairs of the pencil (A, B) for a fixed reference B: A x = lambda B x.
    Small d: exact, in float64 through B's Cholesky. Larger d: block inverse iteration in float32."""

    def __init__(self, b: torch.Tensor, jitter: float = 1e-9) -> None:
        self.b = b.double()
        self.b32 = b.float()
        self.chol = robust_cholesky(self.b, jitter) if b.shape[0] <= DIRECT_EIG_MAX_D else None

    def bottom(self, a: torch.Tensor, k: int, seed: int = 0) -> Eig:
        d = a.shape[0]
        k = min(k, d)
        if self.chol is None:
            return _inverse_iteration(a.float(), self.b32, k, seed)
        a = a.double()
        c = torch.linalg.solve_triangular(self.chol, a, upper=False)  # L^-1 A
        c = torch.linalg.solve_triangular(self.chol, c.T, upper=False)  # L^-1 A L^-T
        vals, vecs = torch.linalg.eigh((c + c.T) / 2)
        x = torch.linalg.solve_triangular(self.chol.T, vecs[:, :k], upper=True)  # L^-T v
        return Eig(vals[:k].clamp_min(0), x / x.norm(dim=0, keepdim=True))


def _inverse_iteration(a: torch.Tensor, b: torch.Tensor, k: int, seed: int, iters: int = 12) -> Eig:
    """Block inverse iteration with Rayleigh-Ritz: one Cholesky of A, then 4 passes over d^2 per step,
    in float32 (these matrices are streamed from memory; the values agree with the direct solve)."""
    d = a.shape[0]
    p = min(d, k + 6)
    a32, b32 = a, b
    la = robust_cholesky(a32, 1e-7)
    gen = torch.Generator().manual_seed(seed)
    bx = b32 @ torch.randn(d, p, generator=gen)
    vals = torch.zeros(p)
    x = bx
    for _ in range(iters):
        q, _ = torch.linalg.qr(torch.cholesky_solve(bx, la))  # A^-1 B X: smallest lambda amplified
        aq, bq = a32 @ q, b32 @ q
        a_s, b_s = (q.T @ aq).double(), (q.T @ bq).double()
        lb = robust_cholesky(b_s, 1e-12)
        c = torch.linalg.solve_triangular(lb, a_s, upper=False)
        c = torch.linalg.solve_triangular(lb, c.T, upper=False)
        vals, s = torch.linalg.eigh((c + c.T) / 2)
        t = torch.linalg.solve_triangular(lb.T, s, upper=True).float()  # (p, p)
        x, bx = q @ t, bq @ t
    x = x[:, :k].double()
    return Eig(vals[:k].clamp_min(0), x / x.norm(dim=0, keepdim=True))


@dataclass(frozen=True)
class TopSvd:
    s: torch.Tensor  # (k,) descending singular values
    u: torch.Tensor  # (rows, k)
    v: torch.Tensor  # (cols, k)
    fro2: float  # squared Frobenius norm of the whole matrix


def top_svd(m: torch.Tensor, k: int = 16, seed: int = 0) -> TopSvd:
    """Top-k singular triplets: exact for small matrices, randomized (power iterations) otherwise."""
    flat = m.reshape(-1)
    fro2 = 0.0
    for start in range(0, flat.numel(), 1 << 20):
        c = flat[start : start + (1 << 20)].float()
        fro2 += float(c @ c)
    k = min(k, *m.shape)
    if min(m.shape) <= 4 * k:
        u, s, vh = torch.linalg.svd(m.double(), full_matrices=False)
        return TopSvd(s[:k], u[:, :k], vh[:k].T, fro2)
    torch.manual_seed(seed)
    u, s, v = torch.svd_lowrank(m.float(), q=min(k + 10, *m.shape), niter=2)
    return TopSvd(s[:k].double(), u[:, :k].double(), v[:, :k].double(), fro2)
