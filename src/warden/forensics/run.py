"""``run_forensics``: open the checkpoints, run base-free / diff / lineage, return one Report."""

from __future__ import annotations

import ctypes
import os
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

import torch

from warden.forensics import findings as F
from warden.forensics.activation import ActivationResult, Combined, combine, run_activation
from warden.forensics.basefree import BaseFreeResult, run_basefree
from warden.forensics.checkpoint import open_checkpoint
from warden.forensics.config import ForensicsConfig
from warden.forensics.diff import DiffResult, run_diff
from warden.forensics.layout import build_layout
from warden.forensics.lineage import LineageResult, run_lineage
from warden.report.model import ModelRef, Report, StageResult, StageStatus

Progress = Callable[[str], None]

M_MMAP_THRESHOLD = -3  # glibc mallopt parameter
_heap_pinned = False


def _free_large_buffers_promptly() -> None:
    """Forensics streams tensor blocks of 1-64 MiB and d x d matrices. glibc serves blocks below its
    *dynamic* mmap threshold (it grows up to 32 MiB after the first large free) from the heap, where
    fragmentation keeps freed blocks resident, so the peak resident set grows to several tensors.
    Pinning the threshold at 1 MiB (glibc's documented ``mallopt(M_MMAP_THRESHOLD)``) returns every
    large buffer to the OS when it is freed: on the ~1B benchmark the peak RSS of a diff run fell from
    1.00-1.11 to 0.78 GiB for ~5-10% more time (benchmarks/forensics_bench.py). Process-wide, once, best
    effort: nothing happens off glibc or when the user set MALLOC_MMAP_THRESHOLD_ themselves."""
    global _heap_pinned
    if _heap_pinned or not sys.platform.startswith("linux") or "MALLOC_MMAP_THRESHOLD_" in os.environ:
        return
    _heap_pinned = True
    try:
        ctypes.CDLL(None).mallopt(M_MMAP_THRESHOLD, 1 << 20)
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        pass


def run_forensics(
    model: str | Path,
    base: str | Path | None = None,
    claimed_base: str | Path | None = None,
    *,
    config: ForensicsConfig | None = None,
    progress: Progress | None = None,
) -> Report:
    """Weight forensics of ``model`` (directory, .safetensors, sharded index or .gguf).

    Raises ``WardenError`` (UsageError / FormatError) when a checkpoint cannot be opened at all;
    partial damage (a broken shard, an unreadable tensor) becomes FORENSICS-UNREADABLE findings.
    """
    cfg = config or ForensicsConfig()
    started = time.perf_counter()
    _free_large_buffers_promptly()
    prev_threads = torch.get_num_threads()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    try:
        with ExitStack() as stack, torch.no_grad():
            ck = stack.enter_context(open_checkpoint(model))
            layout = build_layout(ck)
            report = Report(model=ModelRef(ref=str(model), resolved_path=str(Path(model).resolve())))
            report.add(F.layout_findings(ck, layout))
            bf: BaseFreeResult | None = run_basefree(ck, layout, cfg.basefree, progress)
            assert bf is not None
            report.add(F.read_problems(bf.problems))
            if progress is not None:
                progress("activation signal (running the model on suite prompts)")
            act: ActivationResult = run_activation(
                model, sum(i.numel for i in ck.tensors.values()), cfg.activation
            )
            comb: Combined = combine(bf.ran, bf.score, bf.threshold, act, cfg.activation)
            report.add(F.basefree_findings(ck, layout, bf, act, comb))
            diff: DiffResult | None = None
            lin: LineageResult | None = None
            if base is not None:
                bck = stack.enter_context(open_checkpoint(base))
                blayout = build_layout(bck)
                # per-tensor read failures come back as TensorDiff(status="unreadable") findings
                diff, _ = run_diff(ck, layout, bck, blayout, cfg.diff, progress)
                report.add(F.diff_findings(ck, bck, diff, bf))
                report.add(F.side_problems(bck, "base"))
            if claimed_base is not None:
                cck = stack.enter_context(open_checkpoint(claimed_base))
                clayout = build_layout(cck)
                lin = run_lineage(ck, layout, cck, clayout, cfg.lineage, cfg.diff, progress)
                report.add(F.side_problems(cck, "claimed_base"))
                report.add(F.lineage_findings(ck, str(claimed_base), lin))
            for m in F.metrics(bf, diff, lin, act):
                report.add_metric(m)
            report.data["forensics"] = F.data(ck, layout, bf, diff, lin, act, comb)
            ran = bool(bf and bf.ran) or diff is not None or lin is not None
            reason = "" if ran else (bf.reason if bf else "nothing to analyse")
            report.stages["forensics"] = StageResult(
                "forensics",
                StageStatus.RAN if ran else StageStatus.SKIPPED,
                reason,
                time.perf_counter() - started,
            )
            return report
    finally:
        torch.set_num_threads(prev_threads)
