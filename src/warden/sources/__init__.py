"""Model sources: where the files come from. A local directory, a single file, or a Hugging Face hub
repository resolved with huggingface_hub (revision pinning, the shared cache, offline mode).

Resolution never executes anything and, for hub ids, downloads only when allowed (tests use a local
cache with ``offline=True``).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from warden.errors import SourceError

# owner/name, as the hub spells repository ids (optionally hf:// and @revision).
_HUB_RE = re.compile(
    r"^(?:hf://)?(?P<repo>[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*)(?:@(?P<rev>[\w./-]+))?$"
)


@dataclass(frozen=True)
class ResolvedSource:
    ref: str  # what the user named
    path: Path  # a local directory or file holding the model
    kind: str  # "directory" | "file" | "hub"
    revision: str | None = None  # the pinned commit for hub sources
    trust_root: Path | None = None  # symlinks may point anywhere under this (hub cache repo folder)

    @property
    def display(self) -> str:
        return f"{self.ref}@{self.revision}" if self.revision and "@" not in self.ref else self.ref


def resolve(
    ref: str,
    *,
    revision: str | None = None,
    cache_dir: str | Path | None = None,
    offline: bool | None = None,
    allow_patterns: list[str] | None = None,
) -> ResolvedSource:
    """Turn what the user typed into local files. An existing path always wins over a hub id."""
    path = Path(ref).expanduser()
    if path.exists():
        if path.is_dir():
            return ResolvedSource(ref=ref, path=path.resolve(), kind="directory", trust_root=path.resolve())
        if path.is_file():
            return ResolvedSource(ref=ref, path=path.resolve(), kind="file", trust_root=path.resolve().parent)
        raise SourceError("not a regular file or directory", path=ref)
    m = _HUB_RE.match(ref)
    if not m:
        raise SourceError("no such file or directory, and not a hub repository id (owner/name)", path=ref)
    return _resolve_hub(m.group("repo"), revision or m.group("rev"), cache_dir, offline, allow_patterns, ref)


def _resolve_hub(
    repo_id: str,
    revision: str | None,
    cache_dir: str | Path | None,
    offline: bool | None,
    allow_patterns: list[str] | None,
    ref: str,
) -> ResolvedSource:
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HFValidationError, LocalEntryNotFoundError

    if offline is None:
        offline = os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}
    try:
        local = snapshot_download(
            repo_id=repo_id,
            revision=revision,
            cache_dir=str(cache_dir) if cache_dir else None,
            local_files_only=offline,
            allow_patterns=allow_patterns,
        )
    except LocalEntryNotFoundError as exc:
        raise SourceError(
            f"{repo_id}{'@' + revision if revision else ''} is not in the local Hugging Face cache"
            + (" and offline mode is on" if offline else " and could not be downloaded"),
            path=ref,
            hint="download it first (huggingface-cli download) or pass a local directory",
        ) from exc
    except HFValidationError as exc:
        raise SourceError(f"invalid hub repository id or revision: {exc}", path=ref) from exc
    except Exception as exc:  # network, auth, 404 — huggingface_hub raises many types
        raise SourceError(f"could not fetch from the hub: {type(exc).__name__}: {exc}", path=ref) from exc
    snapshot = Path(local)
    pinned = snapshot.name  # snapshots/<commit sha>
    repo_cache = snapshot.parent.parent  # models--owner--name
    return ResolvedSource(
        ref=ref, path=snapshot, kind="hub", revision=pinned, trust_root=repo_cache.resolve()
    )
