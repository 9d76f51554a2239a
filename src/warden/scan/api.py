"""``scan_model``: the scan stage as one call. Resolve the source, hash every file (in background
threads) while the format scanners walk them, and return a ``Report``."""

from __future__ import annotations

import errno
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

SYMLINK_BROKEN = rule(
    "SOURCE-SYMLINK-BROKEN",
    Severity.MEDIUM,
    "Symlink that loops or points nowhere",
    "A file in the model is a symbolic link that cannot be resolved (a loop, or a missing target). "
    "Nothing behind it could be checked; a loader that follows it fails, or reads whatever appears "
    "at the target later.",
    "Remove the link, or replace it with the real file.",
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
    # A model file no parser could finish (unrecognised, unreadable, over its time/memory budget)
    # leaves the scan incomplete: the verdict must say "could not check", not clean.
    unchecked = [o for o in scanner.outcomes if o.status in {"unrecognised", "error", "budget"}]
    if checked and unchecked:
        status = StageStatus.FAILED
        reason = f"{len(unchecked)} file(s) could not be checked: " + _unchecked(unchecked)
    elif checked:
        status, reason = StageStatus.RAN, ""
    elif not files:
        status, reason = StageStatus.SKIPPED, f"nothing to check: no files in {source.path}"
    else:
        status, reason = StageStatus.FAILED, "no file could be checked: " + _unchecked(scanner.outcomes)
    report.stages["scan"] = StageResult("scan", status, reason, seconds=time.perf_counter() - started)
    report.data["scan"] = {
        "source": {"kind": source.kind, "path": str(source.path), "revision": source.revision},
        "files": [_outcome_dict(o) for o in scanner.outcomes],
        "checked_files": len(checked),
    }
    return report


def checked_anything(report: Report) -> bool:
    return bool(report.data.get("scan", {}).get("checked_files"))


def _unchecked(outcomes: list[FileOutcome], show: int = 5) -> str:
    """``a.bin (empty file (0 bytes)), b.dat (no parser for this content), … and 3 more``."""
    parts = [f"{o.path} ({o.reason})" if o.reason else o.path for o in outcomes[:show]]
    more = f", … and {len(outcomes) - show} more" if len(outcomes) > show else ""
    return ", ".join(parts) + more


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
        if not path.is_symlink():
            continue
        try:
            path.stat()
        except OSError as exc:
            why = "symlink loop" if exc.errno == errno.ELOOP else (exc.strerror or str(exc))
            out.append(SYMLINK_BROKEN(Location(file=rel), {"link": os.readlink(path), "problem": why}))
            continue
        if trust is None:
            continue
        target = Path(os.path.realpath(path))
        if not target.is_relative_to(trust):
            out.append(SYMLINK_ESCAPE(Location(file=rel), {"target": str(target)}))
    return out
