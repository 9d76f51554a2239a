"""Where sealed records live. A store seals a batch *under its own write lock* (reads the head, chains,
inserts, commits in one transaction), so several writers — threads, processes, replicas — never fork the
chain."""

from __future__ import annotations

import json
import sqlite3
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from warden.gateway.audit.chain import GENESIS, seal
from warden.gateway.canonical import canonical_json
from warden.gateway.errors import AuditError

# Columns copied out of the record for filtering (``log show --principal``); verify checks that each one
# equals the hashed body's field, so editing only a column (to hide a record from a filter) is tampering.
INDEXED = ("time", "kind", "request_id", "principal")


@dataclass(frozen=True)
class StoredRecord:
    seq: int
    hash: str
    body: str  # canonical JSON of the sealed record
    columns: tuple[str | None, ...] | None = None  # the INDEXED columns as stored (None: not read)

    def row(self) -> tuple[Any, ...]:
        """What ``verify_rows`` checks: seq, hash, body and, when read, the indexed columns."""
        if self.columns is None:
            return (self.seq, self.hash, self.body)
        return (self.seq, self.hash, self.body, dict(zip(INDEXED, self.columns, strict=True)))

    def record(self) -> dict[str, Any]:
        value = json.loads(self.body)
        return value if isinstance(value, dict) else {}


@dataclass(frozen=True)
class Filters:
    since: str | None = None  # ISO time, compared as text (records use UTC ISO-8601)
    principal: str | None = None
    kind: str | None = None
    request_id: str | None = None
    limit: int | None = None


class AuditStore(ABC):
    @abstractmethod
    def append_batch(self, bodies: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Seal and durably store ``bodies`` in order; return the sealed records."""

    def try_append_batch(self, bodies: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]] | None:
        """Append without waiting for another writer, or return None. Stores that cannot tell return None."""
        return None

    def maintain(self) -> None:  # noqa: B027 - optional hook
        """Housekeeping the writer thread runs between batches (never on the serving event loop)."""

    @abstractmethod
    def rows(self, filters: Filters | None = None) -> Iterator[StoredRecord]:
        """Stored records in seq order (all of them when ``filters`` is None)."""

    @abstractmethod
    def close(self) -> None: ...


class SQLiteStore(AuditStore):
    def __init__(self, path: Path, *, synchronous: str = "NORMAL", readonly: bool = False) -> None:
        self.path = path
        try:
            if readonly:
                self._db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
                self._db.execute("PRAGMA journal_mode=WAL")
                # No automatic checkpoints: SQLite runs them inside whichever commit crosses 1000 WAL
                # pages, and the gateway commits on its event loop (the fast path), so every few hundred
                # requests one commit took 2-9 ms (p99.9 4.6 ms) and stalled every request in flight.
                # The writer thread checkpoints instead (``maintain``) on a connection of its own: in WAL
                # mode a checkpoint runs concurrently with commits, so nobody waits for it.
                self._db.execute("PRAGMA wal_autocheckpoint=0")
                self._db.execute(f"PRAGMA synchronous={'FULL' if synchronous == 'FULL' else 'NORMAL'}")
                self._db.execute(
                    "CREATE TABLE IF NOT EXISTS audit (seq INTEGER PRIMARY KEY, hash TEXT NOT NULL,"
                    " time TEXT, kind TEXT, request_id TEXT, principal TEXT, body TEXT NOT NULL)"
                )
                self._db.execute("CREATE INDEX IF NOT EXISTS audit_principal ON audit(principal)")
                self._db.execute("CREATE INDEX IF NOT EXISTS audit_time ON audit(time)")
        except sqlite3.Error as exc:
            raise AuditError(f"cannot open audit log: {exc}", path=str(path)) from None
        self._lock = threading.Lock()
        self._readonly = readonly
        self._checkpointer: sqlite3.Connection | None = None  # the writer thread's own connection

    def try_append_batch(self, bodies: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]] | None:
        """``append_batch`` if no other writer holds the store right now, else None (never waits)."""
        if not self._lock.acquire(blocking=False):
            return None
        try:
            return self._append_locked(bodies)
        finally:
            self._lock.release()

    def append_batch(self, bodies: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        with self._lock:
            return self._append_locked(bodies)

    def _append_locked(self, bodies: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        try:
            self._db.execute("BEGIN IMMEDIATE")  # the write lock, across processes too
            row = self._db.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
            seq, prev = (int(row[0]), str(row[1])) if row else (0, GENESIS)
            sealed = []
            for body in bodies:
                seq += 1
                rec = seal(body, seq=seq, prev_hash=prev)
                prev = rec["hash"]
                sealed.append(rec)
            self._db.executemany(
                "INSERT INTO audit (seq, hash, time, kind, request_id, principal, body) VALUES (?,?,?,?,?,?,?)",
                [
                    (r["seq"], r["hash"], *(_text(r.get(c)) for c in INDEXED), canonical_json(r))
                    for r in sealed
                ],
            )
            self._db.execute("COMMIT")
            return sealed
        except sqlite3.Error as exc:
            try:
                self._db.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            raise AuditError(f"audit append failed: {exc}", path=str(self.path)) from None

    def maintain(self) -> None:
        """Move committed WAL pages into the database (PASSIVE: never waits for readers or writers).
        Called from one thread only (the audit writer)."""
        if self._readonly:
            return
        try:
            if self._checkpointer is None:
                self._checkpointer = sqlite3.connect(str(self.path), check_same_thread=False)
            self._checkpointer.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except sqlite3.Error:
            pass  # a busy or vanished database is checkpointed next time

    def rows(self, filters: Filters | None = None) -> Iterator[StoredRecord]:
        sql, args = "SELECT seq, hash, body, time, kind, request_id, principal FROM audit", []
        where = []
        if filters:
            for col, val in (
                ("principal", filters.principal),
                ("kind", filters.kind),
                ("request_id", filters.request_id),
            ):
                if val is not None:
                    where.append(f"{col} = ?")
                    args.append(val)
            if filters.since:
                where.append("time >= ?")
                args.append(filters.since)
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY seq"
        if filters and filters.limit:
            sql += f" LIMIT {int(filters.limit)}"
        with self._lock:
            try:
                rows = self._db.execute(sql, args).fetchall()
            except sqlite3.Error as exc:
                raise AuditError(f"cannot read audit log: {exc}", path=str(self.path)) from None
        for seq, h, body, *cols in rows:
            yield StoredRecord(
                int(seq), str(h), str(body), tuple(None if c is None else str(c) for c in cols)
            )

    def close(self) -> None:
        with self._lock:
            if self._checkpointer is not None:
                self._checkpointer.close()
            self._db.close()


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def open_store(url: str, *, synchronous: str = "NORMAL", readonly: bool = False) -> AuditStore:
    """``sqlite:///relative.db``, ``sqlite:////abs/path.db``, a plain path, or ``postgresql://...``."""
    if url.startswith(("postgresql://", "postgres://")):
        from warden.gateway.audit.postgres import PostgresStore

        return PostgresStore(url, readonly=readonly)
    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///") :])
    elif "://" in url:
        raise AuditError(f"unsupported audit log URL {url!r} (sqlite:/// or postgresql://)")
    else:
        path = Path(url)
    if readonly and not path.exists():
        raise AuditError("audit log does not exist", path=str(path))
    return SQLiteStore(path, synchronous=synchronous, readonly=readonly)
