"""A generation cache: a rerun of the same eval is free.

SQLite, keyed by SHA-256 of (model digest, conversation, generation parameters). The model digest
is over the weight files (local) or the server URL + model name (remote), so a changed model never
hits stale answers.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from warden.behavior.backends.interface import (
    Backend,
    BackendError,
    Conversation,
    GenerationParams,
    ProgressFn,
    conversation_key,
    digest_text,
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS generations (
    key TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    params TEXT NOT NULL,
    response TEXT NOT NULL,
    created REAL NOT NULL DEFAULT (julianday('now'))
)
"""


class GenerationCache:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(self.path), check_same_thread=False)
            self._db.execute(_SCHEMA)
            self._db.commit()
        except (OSError, sqlite3.Error) as exc:
            raise BackendError(f"cannot open the generation cache: {exc}", path=str(path)) from exc
        self._lock = threading.Lock()

    @staticmethod
    def key(model: str, conv: Conversation, params: GenerationParams) -> str:
        return digest_text(model, conversation_key(conv), params.key())

    def get_many(self, keys: Sequence[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        with self._lock:
            for s in range(0, len(keys), 500):
                chunk = list(keys[s : s + 500])
                q = f"SELECT key, response FROM generations WHERE key IN ({','.join('?' * len(chunk))})"  # noqa: S608 - placeholders only
                found.update(dict(self._db.execute(q, chunk).fetchall()))
        return found

    def put_many(self, rows: Sequence[tuple[str, str, str, str]]) -> None:
        with self._lock:
            self._db.executemany(
                "INSERT OR REPLACE INTO generations (key, model, params, response) VALUES (?, ?, ?, ?)", rows
            )
            self._db.commit()

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM generations").fetchone()[0])

    def close(self) -> None:
        self._db.close()


class CachedBackend(Backend):
    """Wraps a backend: answers from the cache, generates only the misses (in one batched call)."""

    def __init__(self, inner: Backend, cache: GenerationCache) -> None:
        self.inner = inner
        self.cache = cache
        self.name = inner.name
        self.whitebox = inner.whitebox
        self.hits = 0
        self.misses = 0

    def model_digest(self) -> str:
        return self.inner.model_digest()

    def describe(self) -> dict[str, Any]:
        return {**self.inner.describe(), "cache": str(self.cache.path)}

    def generate(
        self,
        conversations: Sequence[Conversation],
        params: GenerationParams,
        progress: ProgressFn | None = None,
    ) -> list[str]:
        model = self.model_digest()
        keys = [GenerationCache.key(model, c, params) for c in conversations]
        found = self.cache.get_many(keys)
        todo = [i for i, k in enumerate(keys) if k not in found]
        self.hits += len(conversations) - len(todo)
        self.misses += len(todo)
        if progress is not None and len(todo) < len(conversations):
            progress(len(conversations) - len(todo))
        if todo:
            # Deduplicate identical conversations within the call.
            uniq: dict[str, int] = {}
            for i in todo:
                uniq.setdefault(keys[i], i)
            idx = list(uniq.values())
            new = self.inner.generate([conversations[i] for i in idx], params, progress)
            self.cache.put_many([(keys[i], model, params.key(), r) for i, r in zip(idx, new, strict=True)])
            found.update({keys[i]: r for i, r in zip(idx, new, strict=True)})
        return [found[k] for k in keys]

    def __getattr__(self, item: str) -> Any:  # white-box methods pass through
        return getattr(self.inner, item)

    def close(self) -> None:
        self.inner.close()
