"""PostgreSQL audit store for several stateless gateway replicas sharing one chain.

psycopg (v3) is optional and import-guarded. Each batch runs in one transaction holding a
transaction-scoped advisory lock, so concurrent replicas append one after another and never fork the
chain. The session is pinned to READ COMMITTED: the head is read *after* the lock is granted, so a
server whose default isolation is REPEATABLE READ or SERIALIZABLE cannot hand us a stale head.

One connection per store, used by the writer thread and by readers (replay at start-up) under a lock, so
their transactions never interleave. A connection that breaks fails the batch in flight (never retried:
its commit may or may not have happened) and is re-opened on the next use. ``readonly`` stores
(``warden log verify/show``) open a read-only session and never create the table.

Tested against a throwaway server (``pgserver`` wheel) in ``tests/gateway/test_audit_postgres.py``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from warden.gateway.audit.chain import GENESIS, seal
from warden.gateway.audit.store import INDEXED, AuditStore, Filters, StoredRecord, _text
from warden.gateway.canonical import canonical_json
from warden.gateway.errors import AuditError

_LOCK_ID = 0x57415244  # "WARD"

# ``time`` compares as text (UTC ISO-8601); COLLATE "C" makes that a byte order whatever the database locale.
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS audit (seq BIGINT PRIMARY KEY, hash TEXT NOT NULL,"
    ' time TEXT COLLATE "C", kind TEXT, request_id TEXT, principal TEXT, body TEXT NOT NULL)',
    "CREATE INDEX IF NOT EXISTS audit_principal ON audit (principal)",
    "CREATE INDEX IF NOT EXISTS audit_time ON audit (time)",
)


def describe(url: str) -> str:
    """The database a URL names, without credentials, for messages."""
    try:
        from psycopg.conninfo import conninfo_to_dict

        info = conninfo_to_dict(url)
    except Exception:  # noqa: BLE001 - only used for a message
        return "postgresql database"
    return f"postgresql database {info.get('dbname') or '?'} on {info.get('host') or 'localhost'}"


def _column(value: Any) -> str | None:
    # PostgreSQL text cannot hold NUL; the filter columns are copies, the body (JSON-escaped) is the record.
    text = _text(value)
    return None if text is None else text.replace("\x00", "")


class PostgresStore(AuditStore):
    def __init__(self, url: str, *, readonly: bool = False) -> None:
        try:
            import psycopg
        except ImportError:
            raise AuditError(
                "a postgresql:// audit log needs psycopg: pip install 'psycopg[binary]'",
                code="audit_driver_missing",
            ) from None
        self._psycopg = psycopg
        self._url = url
        self._where = describe(url)
        self._readonly = readonly
        self._lock = threading.Lock()
        self._conn: Any = None
        with self._lock:
            self._connection(opening=True)

    def _connection(self, *, opening: bool = False) -> Any:
        """The open connection, (re)connecting if needed. Call with ``self._lock`` held."""
        if self._conn is not None and not (self._conn.closed or self._conn.broken):
            return self._conn
        psycopg = self._psycopg
        conn: Any = None
        try:
            conn = psycopg.connect(self._url, autocommit=True)
            conn.isolation_level = psycopg.IsolationLevel.READ_COMMITTED
            if self._readonly:
                conn.read_only = True
                (table,) = conn.execute("SELECT to_regclass('audit')").fetchone() or (None,)
                if table is None:
                    raise AuditError(f"audit log does not exist (no table audit in the {self._where})")
            elif opening:
                with conn.transaction():
                    conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_ID,))  # replicas start together
                    for statement in _SCHEMA:
                        conn.execute(statement)
        except psycopg.Error as exc:
            if conn is not None:
                conn.close()
            raise AuditError(f"cannot open audit log ({self._where}): {exc}") from None
        except AuditError:
            conn.close()
            raise
        self._conn = conn
        return conn

    def append_batch(self, bodies: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        if self._readonly:
            raise AuditError("audit log was opened read-only")
        with self._lock:
            conn = self._connection()
            try:
                with conn.transaction():
                    conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_ID,))
                    row = conn.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
                    seq, prev = (int(row[0]), str(row[1])) if row else (0, GENESIS)
                    sealed = []
                    for body in bodies:
                        seq += 1
                        rec = seal(body, seq=seq, prev_hash=prev)
                        prev = rec["hash"]
                        sealed.append(rec)
                    with conn.cursor() as cur:
                        cur.executemany(
                            "INSERT INTO audit (seq, hash, time, kind, request_id, principal, body)"
                            " VALUES (%s,%s,%s,%s,%s,%s,%s)",
                            [
                                (
                                    r["seq"],
                                    r["hash"],
                                    *(_column(r.get(c)) for c in INDEXED),
                                    canonical_json(r),
                                )
                                for r in sealed
                            ],
                        )
                return sealed
            except self._psycopg.Error as exc:
                raise AuditError(f"audit append failed ({self._where}): {exc}") from None

    def rows(self, filters: Filters | None = None) -> Iterator[StoredRecord]:
        sql, args, where = "SELECT seq, hash, body, time, kind, request_id, principal FROM audit", [], []
        if filters:
            for col, val in (
                ("principal", filters.principal),
                ("kind", filters.kind),
                ("request_id", filters.request_id),
            ):
                if val is not None:
                    where.append(f"{col} = %s")
                    args.append(val)
            if filters.since:
                where.append("time >= %s")
                args.append(filters.since)
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY seq"
        if filters and filters.limit:
            sql += f" LIMIT {int(filters.limit)}"
        with self._lock:
            try:
                conn = self._connection()
                with conn.transaction():
                    rows = conn.execute(sql, args).fetchall()
            except self._psycopg.Error as exc:
                raise AuditError(f"cannot read audit log ({self._where}): {exc}") from None
        for seq, h, body, *cols in rows:
            yield StoredRecord(
                int(seq), str(h), str(body), tuple(None if c is None else str(c) for c in cols)
            )

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
