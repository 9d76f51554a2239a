"""Model sources: where the files come from. One resolver for every command and every model argument
(``MODEL``, ``--base``, ``--claimed-base``, ``serve --model``):

- a local Hugging Face directory (``config.json`` + weights);
- a single GGUF file, or a folder holding exactly one (the way GGUF quants are downloaded);
- any other local file or directory (the scanner takes anything);
- a Hugging Face hub repository resolved with huggingface_hub (revision pinning, the shared cache,
  offline mode): ``owner/name``, a bare id such as ``gpt2``, optionally ``hf://``, ``@revision`` and,
  for repositories of GGUF quants, ``:TAG`` to fetch only the quant whose file name holds TAG
  (``owner/name-GGUF:Q4_K_M``, as llama.cpp's ``-hf`` takes it).

An existing local path always wins over a hub id. Resolution never executes anything and, for hub ids,
downloads only when allowed (tests use a local cache with ``offline=True``).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from warden.errors import SourceError

_NAME = r"[A-Za-z0-9][A-Za-z0-9_.-]*"
# [hf://](owner/name | bare-name)[:TAG][@revision], as the hub spells repository ids.
_HUB_RE = re.compile(
    rf"^(?:hf://)?(?P<repo>(?:{_NAME}/)?{_NAME})(?::(?P<tag>[A-Za-z0-9_.-]+))?(?:@(?P<rev>[\w./-]+))?$"
)
# A ref that ends like a weights file is a path the user meant, not a hub id.
_FILE_SUFFIXES = (".gguf", ".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".json", ".onnx", ".h5")
GGUF_MAGIC = b"GGUF"
# Files a GGUF-only hub fetch brings besides the chosen quant (small metadata, never other weights).
_GGUF_SIDE_FILES = ["*.json", "*.md", "*.txt", "*.jinja", "LICENSE*"]


def is_gguf_file(path: Path) -> bool:
    """By magic bytes, not by name (a renamed GGUF is still one)."""
    try:
        with path.open("rb") as f:
            return f.read(4) == GGUF_MAGIC
    except OSError:
        return False


def _ggufs_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() == ".gguf")


@dataclass(frozen=True)
class ResolvedSource:
    ref: str  # what the user named
    path: Path  # a local directory or file holding the model
    kind: str  # "directory" | "file" | "hub"
    revision: str | None = None  # the pinned commit for hub sources
    trust_root: Path | None = None  # symlinks may point anywhere under this (hub cache repo folder)
    gguf_tag: str | None = None  # hub ``:TAG``: which GGUF quant of the repository was asked for

    @property
    def display(self) -> str:
        return f"{self.ref}@{self.revision}" if self.revision and "@" not in self.ref else self.ref

    @property
    def hf_dir(self) -> Path | None:
        """The Hugging Face model directory (it has config.json), or None."""
        return self.path if self.path.is_dir() and (self.path / "config.json").is_file() else None

    @property
    def gguf(self) -> Path | None:
        """The one GGUF file this source is (a file, or a folder holding exactly one, or the quant a
        hub ``:TAG`` chose); None when it is not a GGUF source. A Hugging Face directory with
        safetensors weights is an HF source even if a GGUF lies beside them.

        Raises ``SourceError`` when a folder holds several GGUF files and nothing says which."""
        if self.path.is_file():
            return self.path if is_gguf_file(self.path) else None
        if not self.path.is_dir():
            return None
        found = _ggufs_in(self.path)
        if self.gguf_tag:
            tag = self.gguf_tag.lower()
            found = [p for p in found if tag in p.name.lower()]
        if not found:
            return None
        if self.hf_dir is not None and any(self.path.glob("*.safetensors")):
            return None
        if len(found) > 1:
            raise SourceError(
                f"{len(found)} GGUF files here; name one",
                path=str(self.path),
                hint="pass the file itself, or owner/name:TAG for a hub repository ("
                + ", ".join(p.name for p in found[:6])
                + ")",
            )
        return found[0]

    @property
    def weights(self) -> Path:
        """What the weight readers open: the GGUF file for GGUF sources, else the path itself."""
        return self.gguf or self.path

    @property
    def generation_format(self) -> str | None:
        """How a model from this source can be run locally: "hf", "gguf" or None (neither)."""
        if self.hf_dir is not None and any(self.path.glob("*.safetensors")):
            return "hf"
        if self.gguf is not None:
            return "gguf"
        return "hf" if self.hf_dir is not None else None


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
    looks_like_path = ref.startswith((".", "~", "/")) or ref.lower().endswith(_FILE_SUFFIXES)
    if not m or looks_like_path:
        raise SourceError(
            "no such file or directory, and not a hub repository id (owner/name or a bare name)", path=ref
        )
    tag = m.group("tag")
    if tag and allow_patterns is None:
        allow_patterns = [
            *_GGUF_SIDE_FILES,
            f"*{tag}*.gguf",
            f"*{tag.lower()}*.gguf",
            f"*{tag.upper()}*.gguf",
        ]
    src = _resolve_hub(m.group("repo"), revision or m.group("rev"), cache_dir, offline, allow_patterns, ref)
    return ResolvedSource(
        ref=src.ref, path=src.path, kind=src.kind, revision=src.revision, trust_root=src.trust_root,
        gguf_tag=tag,
    )  # fmt: skip


def resolve_arg(
    ref: str | Path,
    option: str = "MODEL",
    *,
    revision: str | None = None,
    cache_dir: str | Path | None = None,
    offline: bool | None = None,
) -> ResolvedSource:
    """``resolve`` for a command-line model argument: the error names the argument (``--base: ...``)
    and a GGUF folder that holds several quants fails here, before any stage starts."""
    try:
        src = resolve(str(ref), revision=revision, cache_dir=cache_dir, offline=offline)
        _ = src.gguf  # several GGUF files and nothing saying which: say so now
    except SourceError as exc:
        raise SourceError(f"{option}: {exc.message}", path=exc.path, hint=exc.hint) from exc
    return src


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
            f"no local file or directory of that name, and hub repository {repo_id}"
            f"{'@' + revision if revision else ''} is not in the local Hugging Face cache"
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


def name_in_report(report: Any, src: ResolvedSource) -> None:
    """After a stage ran on ``src``'s local files, name the model in ``report`` as the user did (the
    hub id or path they typed, the pinned revision), keeping the digest the stage computed."""
    from warden.report.model import ModelRef

    old = report.model
    report.model = ModelRef(
        ref=src.ref,
        root_digest=old.root_digest,
        resolved_path=str(src.weights),
        revision=src.revision or old.revision,
    )
