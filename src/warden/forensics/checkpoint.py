"""Read-only, streaming access to checkpoint tensors: safetensors (single or sharded) and GGUF.

Nothing here unpickles, imports or executes what it reads. Tensors are memory-mapped and read one at a
time (or a block of rows at a time) and returned as float32 torch tensors; the whole model is never
held. A pickle checkpoint (.bin/.pt/.pth/.ckpt) is refused with a message to convert it.

Why torch: numpy has no bfloat16/float8, and ``safetensors.safe_open(framework="pt")`` gives them to
us memory-mapped. GGUF goes through ``gguf.GGUFReader`` (mmap) and ``gguf.quants.dequantize``.
"""

from __future__ import annotations

import json
import math
import mmap as mmap_mod
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path
from typing import Any

import numpy as np
import torch

from warden.errors import FormatError, UsageError
from warden.formats.safetensors import DTYPE_BITS

MAX_JSON_BYTES = 64 << 20  # config / index / tokenizer files are small; cap what we parse
PICKLE_SUFFIXES = {".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle"}
_PLAIN_FLOATS = frozenset({"F32", "F16", "F64"})  # GGUF float types numpy reads as they are
MAX_ABS_WEIGHT = 1e12  # no trained weight is near this; corrupt bytes often are (and overflow Grams)
FLOAT_DTYPES = {"F64", "F32", "F16", "BF16", "F8_E4M3", "F8_E5M2"}


@dataclass(frozen=True)
class TensorInfo:
    name: str
    shape: tuple[int, ...]
    dtype: str  # safetensors dtype ("BF16", "F32", ...) or GGML type name ("Q8_0", "Q4_K", ...)
    file: str  # relative to the checkpoint root

    @property
    def is_float(self) -> bool:
        return self.dtype not in {"I8", "I16", "I32", "I64", "U8", "U16", "U32", "U64", "BOOL"}

    @property
    def numel(self) -> int:
        return int(np.prod(self.shape)) if self.shape else 1


@dataclass
class Checkpoint:
    """One model's weights. ``read`` returns float32; ``read_rows`` a block of rows along axis 0."""

    ref: str  # what the user named
    root: Path  # directory holding the files
    format: str  # "safetensors" | "gguf"
    tensors: dict[str, TensorInfo] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    model_type: str | None = None
    d_model: int | None = None
    problems: list[tuple[str, str]] = field(default_factory=list)  # (file, message) found while opening
    # GGUF tensors in a GGML type gguf-py cannot dequantize: tensor -> type name (kept in ``tensors``,
    # so pairing with a base still sees them; the layout leaves them out of the analysis)
    unreadable: dict[str, str] = field(default_factory=dict)
    _files: set[str] = field(default_factory=set, repr=False)  # safetensors files whose header parsed
    _gguf: Any = field(default=None, repr=False)
    _gguf_tensors: dict[str, Any] = field(default_factory=dict, repr=False)

    def stored_bytes(self, name: str) -> int:
        """Bytes the tensor occupies in its file (GGUF: the quantised blocks)."""
        if self.format == "gguf":
            return int(self._gguf_tensors[name].n_bytes)
        info = self.tensors[name]
        return info.numel * DTYPE_BITS.get(info.dtype, 32) // 8

    @cached_property
    def largest_stored_bytes(self) -> int:
        return max((self.stored_bytes(n) for n in self.tensors), default=0)

    # -- reading -----------------------------------------------------------------------------------
    def read(self, name: str) -> torch.Tensor:
        info = self.tensors[name]
        return self.read_rows(name, 0, info.shape[0] if info.shape else 1)

    def read_rows(self, name: str, start: int, stop: int) -> torch.Tensor:
        """Rows [start, stop) along axis 0, as float32 (shape (stop-start, *shape[1:]))."""
        info = self.tensors[name]
        try:
            if self.format == "gguf":
                t = self._gguf_rows(name, start, stop)
            else:
                with self._open(info.file) as handle:
                    raw = handle.get_slice(name)[start:stop] if info.shape else handle.get_tensor(name)
                    t = raw.to(torch.float32)
        except Exception as exc:  # noqa: BLE001 - library errors on corrupt data become one FormatError
            raise FormatError(
                f"cannot read tensor {name!r}: {type(exc).__name__}: {exc}"[:400], path=info.file
            ) from exc
        lo, hi = torch.aminmax(t) if t.numel() else (torch.zeros(()), torch.zeros(()))
        peak = max(-float(lo), float(hi))  # one pass, no temporary; NaN compares False below
        if not peak <= MAX_ABS_WEIGHT:
            what = (
                "NaN or infinite" if not math.isfinite(peak) else f"implausibly large (> {MAX_ABS_WEIGHT:g})"
            )
            raise FormatError(f"tensor {name!r} holds {what} values", path=info.file)
        return t

    def read_rows_native(self, name: str, start: int, stop: int) -> torch.Tensor | np.ndarray:
        """Rows [start, stop) exactly as stored (bf16 stays bf16; GGUF blocks stay raw bytes)."""
        info = self.tensors[name]
        try:
            if self.format == "gguf":
                out = np.array(self._gguf_tensors[name].data[start:stop])
                _drop_pages(self._gguf)
                return out
            with self._open(info.file) as handle:
                raw = handle.get_slice(name)[start:stop] if info.shape else handle.get_tensor(name)
                return torch.as_tensor(raw)
        except Exception as exc:  # noqa: BLE001
            raise FormatError(f"cannot read tensor {name!r}: {exc}"[:400], path=info.file) from exc

    def read_native(self, name: str) -> torch.Tensor | np.ndarray:
        """The stored values without conversion (for exact-equality checks)."""
        info = self.tensors[name]
        try:
            if self.format == "gguf":
                return np.asarray(self._gguf_tensors[name].data)
            with self._open(info.file) as handle:
                return torch.as_tensor(handle.get_tensor(name)).clone()
        except Exception as exc:  # noqa: BLE001
            raise FormatError(f"cannot read tensor {name!r}: {exc}"[:400], path=info.file) from exc

    def _open(self, rel: str) -> Any:
        """A fresh memory map per read: dropping it unmaps the pages we touched, so resident memory
        stays at about one tensor instead of growing to the whole checkpoint."""
        from safetensors import safe_open

        return safe_open(str(self.root / rel), framework="pt")

    def _gguf_rows(self, name: str, start: int, stop: int) -> torch.Tensor:
        import gguf

        t = self._gguf_tensors[name]
        info = self.tensors[name]
        qtype = t.tensor_type
        data = t.data[start:stop]
        if qtype.name in _PLAIN_FLOATS:
            arr = np.array(data, dtype=np.float32)  # copy: the mmap is read-only
        else:
            arr = gguf.quants.dequantize(np.asarray(data), qtype).astype(np.float32, copy=False)
        arr = np.ascontiguousarray(arr.reshape((stop - start, *info.shape[1:])))
        _drop_pages(self._gguf)
        return torch.from_numpy(arr)

    # -- metadata ----------------------------------------------------------------------------------
    def vocab(self) -> list[str] | None:
        """Token strings by id, from tokenizer.json / vocab.txt / GGUF metadata (None if absent)."""
        if self.format == "gguf":
            tokens = _gguf_field(self._gguf, "tokenizer.ggml.tokens")
            return [str(t) for t in tokens] if isinstance(tokens, list) else None
        tj = self.root / "tokenizer.json"
        if tj.is_file():
            return _vocab_from_tokenizer_json(tj)
        vt = self.root / "vocab.txt"
        if vt.is_file() and vt.stat().st_size <= MAX_JSON_BYTES:
            return vt.read_text(encoding="utf-8", errors="replace").splitlines()
        return None

    def close(self) -> None:
        self._files.clear()
        self._gguf_tensors.clear()
        self._gguf = None

    def __enter__(self) -> Checkpoint:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_checkpoint(ref: str | Path) -> Checkpoint:
    """Open a directory, a .safetensors file, a sharded index or a .gguf file (raises WardenError)."""
    path = Path(ref)
    if not path.exists():
        raise UsageError(f"no such file or directory: {path}", path=str(path))
    if path.is_file():
        suffix = path.suffix.lower()
        if suffix == ".gguf" or _magic(path) == b"GGUF":
            return _open_gguf(str(ref), path)
        if suffix == ".safetensors":
            return _open_safetensors(str(ref), path.parent, [path.name])
        if path.name.endswith(".safetensors.index.json"):
            return _open_index(str(ref), path)
        if suffix in PICKLE_SUFFIXES:
            raise _pickle_refused(path)
        raise UsageError(
            f"not a safetensors or GGUF file: {path.name}",
            path=str(path),
            hint="point at a model directory, a .safetensors file or a .gguf file",
        )
    index = sorted(path.glob("*.safetensors.index.json"))
    if index:
        return _open_index(str(ref), index[0])
    shards = sorted(p.name for p in path.glob("*.safetensors") if p.is_file())
    if shards:
        return _open_safetensors(str(ref), path, shards)
    ggufs = sorted(p for p in path.glob("*.gguf") if p.is_file())
    if len(ggufs) == 1:
        return _open_gguf(str(ref), ggufs[0])
    if len(ggufs) > 1:
        raise UsageError(
            f"{len(ggufs)} GGUF files in {path}; name one",
            path=str(path),
            hint=", ".join(p.name for p in ggufs[:5]),
        )
    pickles = sorted(p for p in path.iterdir() if p.suffix.lower() in PICKLE_SUFFIXES and p.is_file())
    if pickles:
        raise _pickle_refused(pickles[0])
    raise UsageError(f"no safetensors or GGUF weights in {path}", path=str(path))


def _pickle_refused(path: Path) -> UsageError:
    return UsageError(
        f"{path.name} is a pickle checkpoint; Warden never unpickles untrusted weights, so forensics "
        "cannot read it",
        path=str(path),
        hint="convert it to safetensors in a sandbox (e.g. transformers save_pretrained("
        "safe_serialization=True)) or use the publisher's safetensors release",
    )


def _magic(path: Path) -> bytes:
    with path.open("rb") as fh:
        return fh.read(4)


def _load_json(path: Path) -> Any:
    if path.stat().st_size > MAX_JSON_BYTES:
        raise FormatError(f"{path.name} is larger than {MAX_JSON_BYTES} bytes", path=str(path))
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FormatError(f"invalid JSON: {exc}", path=str(path)) from exc


def _read_config(root: Path) -> dict[str, Any]:
    cfg_path = root / "config.json"
    if not cfg_path.is_file():
        return {}
    try:
        cfg = _load_json(cfg_path)
    except FormatError:
        return {}
    return cfg if isinstance(cfg, dict) else {}


def _model_type(cfg: dict[str, Any]) -> str | None:
    mt = cfg.get("model_type")
    text = cfg.get("text_config")
    if isinstance(text, dict) and isinstance(text.get("model_type"), str) and mt in {"gemma3", "llava"}:
        return str(text["model_type"])
    return mt if isinstance(mt, str) else None


def _cfg_d_model(cfg: dict[str, Any]) -> int | None:
    for src in (cfg, cfg.get("text_config") if isinstance(cfg.get("text_config"), dict) else {}):
        for key in ("hidden_size", "n_embd", "d_model"):
            v = src.get(key) if isinstance(src, dict) else None
            if isinstance(v, int) and v > 0:
                return v
    return None


def _open_index(ref: str, index_path: Path) -> Checkpoint:
    idx = _load_json(index_path)
    weight_map = idx.get("weight_map") if isinstance(idx, dict) else None
    if not isinstance(weight_map, dict) or not all(isinstance(v, str) for v in weight_map.values()):
        raise FormatError("index has no valid weight_map", path=str(index_path))
    root = index_path.parent
    shards = sorted(set(weight_map.values()))
    ck = _open_safetensors(ref, root, [s for s in shards if (root / s).is_file()])
    for s in shards:
        if not (root / s).is_file():
            ck.problems.append((s, "shard named in the index is missing"))
    absent = [
        (shard, name) for name, shard in weight_map.items() if shard in ck._files and name not in ck.tensors
    ]
    for shard, name in absent[:20]:
        ck.problems.append((shard, f"index lists tensor {name!r} but the shard does not hold it"))
    return ck


def _open_safetensors(ref: str, root: Path, files: list[str]) -> Checkpoint:
    from safetensors import safe_open

    cfg = _read_config(root)
    ck = Checkpoint(
        ref=ref,
        root=root,
        format="safetensors",
        config=cfg,
        model_type=_model_type(cfg),
        d_model=_cfg_d_model(cfg),
    )
    for rel in files:
        p = root / rel
        if p.name.startswith("adapter_model") and len(files) > 1:
            continue  # a LoRA adapter next to the full weights is not part of the model
        try:
            handle: Any = safe_open(str(p), framework="pt")  # mmap; validates header and offsets
            names = list(handle.keys())
            infos = []
            for n in names:
                sl = handle.get_slice(n)
                infos.append(TensorInfo(n, tuple(int(x) for x in sl.get_shape()), str(sl.get_dtype()), rel))
        except Exception as exc:  # noqa: BLE001 - SafetensorError, OSError, bad dtype: one problem per file
            ck.problems.append((rel, f"unreadable safetensors file: {type(exc).__name__}: {exc}"[:300]))
            continue
        ck._files.add(rel)
        del handle
        for info in infos:
            if info.name in ck.tensors:
                ck.problems.append((rel, f"tensor {info.name!r} also in {ck.tensors[info.name].file}"))
                continue
            ck.tensors[info.name] = info
    if not ck.tensors and ck.problems:
        raise FormatError("; ".join(m for _, m in ck.problems)[:500], path=str(root / ck.problems[0][0]))
    return ck


def _drop_pages(reader: Any) -> None:
    """Tell the kernel we are done with the GGUF pages we touched (they stay in the page cache but
    leave this process's resident set). Best effort: the attribute is numpy's private mmap handle."""
    mm = getattr(getattr(reader, "data", None), "_mmap", None)
    if mm is not None and hasattr(mm, "madvise") and hasattr(mmap_mod, "MADV_DONTNEED"):
        try:
            mm.madvise(mmap_mod.MADV_DONTNEED)
        except (OSError, ValueError):
            pass


def _gguf_field(reader: Any, key: str) -> Any:
    if reader is None:
        return None
    f = reader.fields.get(key)
    if f is None:
        return None
    try:
        return f.contents()
    except Exception:  # noqa: BLE001 - a malformed field is treated as absent
        return None


def _open_gguf(ref: str, path: Path) -> Checkpoint:
    import gguf

    try:
        reader = gguf.GGUFReader(str(path), "r")
    except ValueError as exc:
        if "GGMLQuantizationType" in str(exc):  # gguf-py reads no tensor of a file holding one such type
            raise FormatError(
                f"a tensor has a GGML type id gguf {gguf_version()} does not know ({exc}); a newer "
                "llama.cpp type or a damaged file: nothing in it can be read for forensics",
                path=str(path),
                hint="run `warden scan` on it (its own parser names the tensor); upgrade gguf",
            ) from exc
        raise FormatError(f"malformed GGUF: {type(exc).__name__}: {exc}"[:400], path=str(path)) from exc
    except Exception as exc:  # noqa: BLE001 - any parse failure of the container
        raise FormatError(f"malformed GGUF: {type(exc).__name__}: {exc}"[:400], path=str(path)) from exc
    arch = _gguf_field(reader, "general.architecture")
    arch = arch if isinstance(arch, str) else None
    d = _gguf_field(reader, f"{arch}.embedding_length") if arch else None
    cfg: dict[str, Any] = {"model_type": arch}
    for key in (
        "block_count",
        "embedding_length",
        "feed_forward_length",
        "attention.head_count",
        "attention.head_count_kv",
        "vocab_size",
        "expert_count",
    ):
        v = _gguf_field(reader, f"{arch}.{key}") if arch else None
        if isinstance(v, (int, np.integer)):
            cfg[key] = int(v)
    ck = Checkpoint(
        ref=ref,
        root=path.parent,
        format="gguf",
        config=cfg,
        model_type=arch,
        d_model=int(d) if isinstance(d, (int, np.integer)) else None,
    )
    ck._gguf = reader
    for t in reader.tensors:
        shape = tuple(int(x) for x in reversed(t.shape.tolist()))  # GGUF ne order -> row-major
        ck.tensors[t.name] = TensorInfo(t.name, shape, t.tensor_type.name, path.name)
        ck._gguf_tensors[t.name] = t
        if ck.tensors[t.name].is_float and not gguf_type_readable(int(t.tensor_type)):
            ck.unreadable[t.name] = t.tensor_type.name
    return ck


@cache
def gguf_type_readable(qtype: int) -> bool:
    """Whether gguf-py dequantizes this GGML type, asked of gguf-py itself: one zero block through
    ``gguf.quants.dequantize`` (its type table is private and changes between releases)."""
    import gguf

    q = gguf.GGMLQuantizationType(qtype)
    if q.name in _PLAIN_FLOATS:
        return True  # read directly as numpy floats, never through dequantize
    size = gguf.GGML_QUANT_SIZES.get(q)
    if size is None:
        return False
    try:
        gguf.quants.dequantize(np.zeros((1, size[1]), dtype=np.uint8), q)
    except Exception:  # noqa: BLE001 - NotImplementedError today; any failure means "cannot read"
        return False
    return True


def unreadable_by_type(ck: Checkpoint) -> dict[str, list[str]]:
    """GGML type -> the tensors stored in it that gguf cannot dequantize, types sorted."""
    by_type: dict[str, list[str]] = {}
    for name, qtype in ck.unreadable.items():
        by_type.setdefault(qtype, []).append(name)
    return dict(sorted(by_type.items()))


def gguf_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("gguf")
    except PackageNotFoundError:
        return "(unknown version)"


def _vocab_from_tokenizer_json(path: Path) -> list[str] | None:
    try:
        tj = _load_json(path)
    except FormatError:
        return None
    model = tj.get("model") if isinstance(tj, dict) else None
    vocab = model.get("vocab") if isinstance(model, dict) else None
    by_id: dict[int, str] = {}
    if isinstance(vocab, dict):
        by_id = {int(i): str(t) for t, i in vocab.items() if isinstance(i, int)}
    elif isinstance(vocab, list):  # Unigram: [[piece, score], ...]
        by_id = {i: str(p[0]) for i, p in enumerate(vocab) if isinstance(p, list) and p}
    for tok in tj.get("added_tokens", []) if isinstance(tj, dict) else []:
        if isinstance(tok, dict) and isinstance(tok.get("id"), int) and isinstance(tok.get("content"), str):
            by_id[tok["id"]] = tok["content"]
    if not by_id:
        return None
    n = max(by_id) + 1
    return [by_id.get(i, "") for i in range(n)]
