"""``scan_model``: the scan stage as one call. Resolve the source, hash every file (in background
threads) while the format scanners walk them, and return a ``Report``."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from warden.formats import default_scanners
from warden.formats.interface import Limits
from warden.report.model import Location, ModelRef, Report, Severity, StageResult, StageStatus
from warden.rules import rule
from warden.scan.core import FileOutcome, Scanner, iter_files
from warden.scan.manifest import build_manifest
from warden.sources import ResolvedSource, resolve

SYMLINK_ESCAPE = rule(
    "SOURCE-SYMLINK-ESCAPE",
    Severity.HIGH,
    "Symlink points outside the model directory",
    "A file in the model is a symbolic link to a path outside the model (or outside its hub cache "
    "entry). A loader would read that file instead, e.g. a local secret or a file planted elsewhere.",
    "Replace the link with the real file, or remove it.",
)
EMPTY_SOURCE = rule(
    "SOURCE-EMPTY",
    Severity.INFO,
    "The model has no files",
    "Nothing was found to scan.",
    "Check the path or repository id.",
)

ProgressFn = Callable[[str, int, int], None]  # (description, advance, total)


def scan_model(
    ref: str | Path,
    *,
    revision: str | None = None,
    cache_dir: str | Path | None = None,
    offline: bool | None = None,
    limits: Limits | None = None,
    manifest: bool = True,
    progress: ProgressFn | None = None,
) -> Report:
    started = time.perf_counter()
    source = resolve(str(ref), revision=revision, cache_dir=cache_dir, offline=offline)
    report = Report(model=ModelRef(ref=str(ref), resolved_path=str(source.path), revision=source.revision))
    scanner = Scanner(default_scanners(), limits)
    files = iter_files(source.path)
    total = sum(_size(p) for p, _ in files)
    if progress:
        progress("scan", 0, total)

    with ThreadPoolExecutor(max_workers=1) as pool:
        fut = pool.submit(build_manifest, source.path) if manifest else None
        root = source.path if source.kind != "file" else None
        report.add(_symlink_findings(source, files))
        for path, rel in files:
            report.add(scanner.scan_file(path, rel, root))
            if progress:
                progress("scan", _size(path), total)
        if fut is not None:
            report.manifest = fut.result()
            report.model = ModelRef(
                ref=str(ref),
                root_digest=report.manifest.root_digest,
                resolved_path=str(source.path),
                revision=source.revision,
            )
    if not files:
        report.add([EMPTY_SOURCE(Location(file="."))])
    checked = [o for o in scanner.outcomes if o.status in {"scanned", "malformed"}]
    report.stages["scan"] = StageResult(
        "scan",
        StageStatus.RAN if checked or not files else StageStatus.FAILED,
        "" if checked else ("no files" if not files else "no file could be checked"),
        seconds=time.perf_counter() - started,
    )
    report.data["scan"] = {
        "source": {"kind": source.kind, "path": str(source.path), "revision": source.revision},
        "files": [_outcome_dict(o) for o in scanner.outcomes],
        "checked_files": len(checked),
    }
    return report


def checked_anything(report: Report) -> bool:
    scan = report.data.get("scan", {})
    return bool(scan.get("checked_files")) or not scan.get("files")


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _outcome_dict(o: FileOutcome) -> dict[str, str | None]:
    return {"path": o.path, "format": o.format, "status": o.status, "reason": o.reason}


def _symlink_findings(source: ResolvedSource, files: list[tuple[Path, str]]) -> list:  # type: ignore[type-arg]
    out = []
    trust = source.trust_root
    for path, rel in files:
        if not path.is_symlink() or trust is None:
            continue
        target = Path(os.path.realpath(path))
        if not target.is_relative_to(trust):
            out.append(SYMLINK_ESCAPE(Location(file=rel), {"target": str(target)}))
    return out
