"""PostgreSQL audit store for several stateless gateway replicas sharing one chain.

psycopg (v3) is optional and import-guarded. Each batch runs in one transaction holding a
transaction-scoped advisory lock, so concurrent replicas append one after another and never fork the
chain. Not exercised in this repository's tests (no PostgreSQL server here); the SQL is deliberately the
same shape as the SQLite store's.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from warden.gateway.audit.chain import GENESIS, seal
from warden.gateway.audit.store import INDEXED, AuditStore, Filters, StoredRecord, _text
from warden.gateway.canonical import canonical_json
from warden.gateway.errors import AuditError

_LOCK_ID = 0x57415244  # "WARD"


class PostgresStore(AuditStore):
    def __init__(self, url: str) -> None:
        try:
            import psycopg
        except ImportError:
            raise AuditError(
                "a postgresql:// audit log needs psycopg: pip install 'psycopg[binary]'",
                code="audit_driver_missing",
            ) from None
        try:
            self._conn = psycopg.connect(url, autocommit=False)
            with self._conn.transaction():
                self._conn.execute(
                    "CREATE TABLE IF NOT EXISTS audit (seq BIGINT PRIMARY KEY, hash TEXT NOT NULL, time TEXT,"
                    " kind TEXT, request_id TEXT, principal TEXT, body TEXT NOT NULL)"
                )
        except psycopg.Error as exc:
            raise AuditError(f"cannot open audit log: {exc}") from None
        self._psycopg = psycopg

    def append_batch(self, bodies: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        try:
            with self._conn.transaction():
                self._conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_ID,))
                row = self._conn.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
                seq, prev = (int(row[0]), str(row[1])) if row else (0, GENESIS)
                sealed = []
                for body in bodies:
                    seq += 1
                    rec = seal(body, seq=seq, prev_hash=prev)
                    prev = rec["hash"]
                    sealed.append(rec)
                with self._conn.cursor() as cur:
                    cur.executemany(
                        "INSERT INTO audit (seq, hash, time, kind, request_id, principal, body)"
                        " VALUES (%s,%s,%s,%s,%s,%s,%s)",
                        [
                            (r["seq"], r["hash"], *(_text(r.get(c)) for c in INDEXED), canonical_json(r))
                            for r in sealed
                        ],
                    )
                return sealed
        except self._psycopg.Error as exc:
            raise AuditError(f"audit append failed: {exc}") from None

    def rows(self, filters: Filters | None = None) -> Iterator[StoredRecord]:
        sql, args, where = "SELECT seq, hash, body FROM audit", [], []
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
        with self._conn.transaction():
            rows = self._conn.execute(sql, args).fetchall()
        for seq, h, body in rows:
            yield StoredRecord(int(seq), str(h), str(body))

    def close(self) -> None:
        self._conn.close()
