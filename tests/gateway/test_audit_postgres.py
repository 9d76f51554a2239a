"""The audit log on PostgreSQL, against a real throwaway server: the ``pgserver`` wheel (a dev extra)
ships PostgreSQL's binaries; we run its ``initdb``/``pg_ctl`` ourselves on a unix socket in a temp dir
(no TCP listener), with fsync off. Tool calls go through the real gateway into the log, ``warden log
verify`` checks the chain by URL, and rows edited or deleted with SQL are named by verify.

Skipped only when ``pgserver`` is not importable. As root (PostgreSQL refuses to run as root) the server
runs as ``nobody``; pgserver's own ``get_server`` is not used because as root it adds a system user and
chmods every parent of its data directory."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import tempfile
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.gateway.conftest import USER, FakeBackend, call, chat, gateway, reply
from warden.cli import main
from warden.gateway.audit import AuditLog, open_store, verify_rows
from warden.gateway.audit.chain import record_hash
from warden.gateway.errors import AuditError

pgserver = pytest.importorskip(
    "pgserver", reason="pgserver (PostgreSQL server wheel, in the dev extra) is not installed"
)

PAY_ARGS = {"iban": "DE89370400440532013000", "amount": 60, "reference": "x"}
PAY_MSG = "pay 60 to DE89370400440532013000 reference x"
TOOLS = [{"type": "function", "function": {"name": n}} for n in ("read_inbox", "send_email", "send_payment")]


class Postgres:
    """A throwaway PostgreSQL cluster on a unix socket in ``root``."""

    def __init__(self) -> None:
        try:
            import psycopg  # noqa: F401
        except ImportError:
            pytest.fail("pgserver is installed but psycopg is not: pip install 'psycopg[binary]'")
        self.bin = Path(pgserver.__file__).parent / "pginstall" / "bin"
        # short path: a unix socket path is limited to ~107 bytes
        self.root = Path(tempfile.mkdtemp(prefix="wpg-", dir="/tmp" if os.path.isdir("/tmp") else None))
        self.data = self.root / "data"
        self.as_user: dict[str, Any] = {}
        if os.geteuid() == 0:
            try:
                nobody = pwd.getpwnam("nobody")
            except KeyError:
                pytest.fail("running as root and there is no 'nobody' user to run PostgreSQL as")
            os.chown(self.root, nobody.pw_uid, nobody.pw_gid)
            self.as_user = {"user": nobody.pw_uid, "group": nobody.pw_gid, "extra_groups": []}
        try:
            self._pg(
                "initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C",
                "--no-sync", "--no-instructions",
            )  # fmt: skip
            opts = f"-F -k {self.root} -c listen_addresses='' -c max_connections=40 -c shared_buffers=16MB"
            self._pg(
                "pg_ctl",
                "-D",
                str(self.data),
                "-l",
                str(self.root / "log"),
                "-o",
                opts,
                "-w",
                "-t",
                "30",
                "start",
            )
        except BaseException:
            shutil.rmtree(self.root, ignore_errors=True)
            raise

    def _pg(self, exe: str, *args: str) -> None:
        proc = subprocess.run(
            [str(self.bin / exe), *args],
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=60,
            **self.as_user,
        )
        if proc.returncode != 0:
            log = self.root / "log"
            server_log = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            pytest.fail(f"{exe} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}\n{server_log}")

    def url(self, db: str = "postgres") -> str:
        return f"postgresql://postgres@/{db}?host={self.root}"

    def sql(self, statement: str, args: tuple[Any, ...] = (), db: str = "postgres") -> list[tuple[Any, ...]]:
        import psycopg

        with psycopg.connect(self.url(db), autocommit=True) as conn:
            cur = conn.execute(statement, args)  # type: ignore[arg-type]
            return cur.fetchall() if cur.description else []

    def stop(self) -> None:
        try:
            self._pg("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="module")
def pg() -> Iterator[Postgres]:
    server = Postgres()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def db(pg: Postgres) -> str:
    """A fresh, empty database for one test."""
    name = "t_" + uuid.uuid4().hex[:12]
    pg.sql(f"CREATE DATABASE {name}")
    return name


def _verify_json(url: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any]]:
    capsys.readouterr()
    rc = main(["log", "verify", "--log", url, "--json"])
    return rc, json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def _payments_backend() -> FakeBackend:
    def respond(body: dict[str, Any]) -> dict[str, Any]:
        last = body["messages"][-1]
        if last["role"] == "tool" and "blocked by Warden" in last["content"]:
            return reply("I could not do that.")
        return reply(None, [call("send_payment", PAY_ARGS)])

    return FakeBackend(respond)


def test_gateway_tool_calls_on_postgres_verify_and_tamper(
    pg: Postgres, db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = pg.url(db)
    with gateway(tmp_path, backend=_payments_backend(), audit_url=url) as (client, gw):
        assert type(gw.audit.store).__name__ == "PostgresStore"
        ok = chat(client, PAY_MSG, headers={**USER, "X-Warden-Task": "payments-assistant"}, tools=TOOLS)
        assert ok.status_code == 200 and ok.json()["warden"]["tool_calls"][0]["action"] == "allow"
        blocked = chat(client, PAY_MSG, tools=TOOLS)  # email-assistant may not pay
        assert blocked.status_code == 200 and blocked.json()["warden"]["tool_calls"][0]["action"] == "block"
        # committed before the response left
        assert [r.record()["request_id"] for r in gw.audit.store.rows()][-1] == blocked.json()["warden"][
            "request_id"
        ]
    assert not (tmp_path / "audit.db").exists()  # nothing went to SQLite

    rows = pg.sql("SELECT seq, body FROM audit ORDER BY seq", db=db)
    recs = [json.loads(body) for _, body in rows]
    assert [r["kind"] for r in recs] == ["startup", "request", "request", "shutdown"]
    assert [r["seq"] for r in recs] == [1, 2, 3, 4]
    paid, refused = recs[1]["tool_calls"][0], recs[2]["tool_calls"][0]
    assert paid["name"] == "send_payment" and paid["action"] == "allow"
    assert json.loads(paid["arguments"]) == PAY_ARGS
    assert refused["action"] == "block" and refused["rules"] == ["allowlist"]

    rc, out = _verify_json(url, capsys)
    assert rc == 0 and out["ok"] and out["records"] == 4 and out["head_seq"] == 4
    anchor = f"{out['head_seq']}:{out['head_hash']}"
    assert main(["log", "verify", "--log", url, "--expect-head", anchor]) == 0
    capsys.readouterr()
    assert main(["log", "show", "--log", url, "--json", "--tool", "send_payment", "--since", "1h"]) == 0
    shown = [json.loads(x) for x in capsys.readouterr().out.strip().splitlines()]
    assert [r["seq"] for r in shown] == [2, 3]
    assert main(["log", "show", "--log", url, "--json", "--principal", "demo-user", "--kind", "request"]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 2

    # tamper: raise the paid amount in record 2, straight in the database
    body = recs[1]
    body["tool_calls"][0]["arguments"] = json.dumps({**PAY_ARGS, "amount": 6000}, separators=(",", ":"))
    pg.sql("UPDATE audit SET body = %s WHERE seq = 2", (json.dumps(body),), db=db)
    rc, out = _verify_json(url, capsys)
    assert rc == 1 and not out["ok"]
    assert {(p["seq"], p["kind"]) for p in out["problems"]} == {(2, "edited")}
    capsys.readouterr()
    assert main(["log", "verify", "--log", url]) == 1
    assert "record 2: edited" in capsys.readouterr().err

    # covering tracks (recomputed hash) breaks the next link instead
    body["hash"] = record_hash(body)
    pg.sql("UPDATE audit SET body = %s, hash = %s WHERE seq = 2", (json.dumps(body), body["hash"]), db=db)
    rc, out = _verify_json(url, capsys)
    assert rc == 1 and [(p["seq"], p["kind"]) for p in out["problems"]] == [(3, "link")]

    # and a deleted row is named too
    pg.sql("DELETE FROM audit WHERE seq = 3", db=db)
    rc, out = _verify_json(url, capsys)
    assert rc == 1 and {(4, "deleted"), (4, "link")} <= {(p["seq"], p["kind"]) for p in out["problems"]}


@pytest.mark.parametrize("isolation", ["read committed", "serializable"])
def test_concurrent_writers_never_fork_the_chain(pg: Postgres, db: str, isolation: str) -> None:
    # the store pins READ COMMITTED, so a server default of SERIALIZABLE cannot give it a stale head
    pg.sql(f"ALTER DATABASE {db} SET default_transaction_isolation = '{isolation}'")
    url = pg.url(db)
    logs = [AuditLog(open_store(url)) for _ in range(3)]  # three connections, like three replicas

    def work(log: AuditLog, k: int) -> None:
        futs = [log.submit({"kind": "request", "w": k, "i": i}) for i in range(40)]
        for f in futs:
            f.result(timeout=30)

    threads = [threading.Thread(target=work, args=(log, k)) for k, log in enumerate(logs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for log in logs:
        log.close()
    store = open_store(url, readonly=True)
    try:
        res = verify_rows((r.seq, r.hash, r.body) for r in store.rows())
    finally:
        store.close()
    assert res.ok and res.records == 120 and res.head_seq == 120


def test_restart_and_lost_connection_continue_the_chain(pg: Postgres, db: str) -> None:
    url = pg.url(db)
    log = AuditLog(open_store(url))
    for i in range(2):
        log.append_sync({"kind": "request", "i": i})
    pg.sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (db,))
    with pytest.raises(AuditError):  # the batch in flight fails (the caller withholds its response) ...
        log.append_sync({"kind": "request", "i": "lost"})
    log.append_sync({"kind": "request", "i": 2})  # ... and the next one reconnects
    log.close()
    log = AuditLog(open_store(url))  # a restart continues the chain
    log.append_sync({"kind": "request", "i": 3})
    log.close()
    recs = [json.loads(b) for (b,) in pg.sql("SELECT body FROM audit ORDER BY seq", db=db)]
    assert [r["i"] for r in recs] == [0, 1, 2, 3] and [r["seq"] for r in recs] == [1, 2, 3, 4]
    assert main(["log", "verify", "--log", url]) == 0


def test_verify_never_creates_the_table_and_unreachable_is_an_error(
    pg: Postgres, db: str, tmp_path: Path
) -> None:
    url = pg.url(db)
    assert main(["log", "verify", "--log", url]) == 2  # no audit table: unreadable, not "0 records, ok"
    assert pg.sql("SELECT to_regclass('audit')", db=db) == [(None,)]
    with pytest.raises(AuditError, match="does not exist"):
        open_store(url, readonly=True)
    nowhere = f"postgresql://postgres@/{db}?host={tmp_path}&connect_timeout=2"
    assert main(["log", "verify", "--log", nowhere]) == 2
    with pytest.raises(AuditError, match="cannot open audit log"):
        open_store(nowhere)
    store = open_store(url)  # a writer creates it
    store.close()
    assert main(["log", "verify", "--log", url]) == 0
