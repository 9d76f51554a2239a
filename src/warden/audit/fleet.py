"""Fleet mode: ``warden audit-many LIST`` runs many audits as Ray tasks (local Ray by default, or a
cluster via ``--ray-address``), keeps every result in SQLite, and resumes: a model already audited
under the same policy digest is not audited again.

The driver owns the database (one writer, WAL mode); workers only compute and return report JSON.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from warden.errors import WardenError

SCHEMA = """
CREATE TABLE IF NOT EXISTS audits (
  model_ref     TEXT NOT NULL,
  base          TEXT NOT NULL DEFAULT '',
  policy_digest TEXT NOT NULL,
  status        TEXT NOT NULL,            -- pending | done | error
  verdict       TEXT,
  root_digest   TEXT,
  report_json   TEXT,
  error         TEXT,
  started_at    REAL,
  finished_at   REAL,
  PRIMARY KEY (model_ref, base, policy_digest)
);
"""


class FleetError(WardenError):
    """The fleet list, database or Ray cluster could not be used."""


@dataclass(frozen=True)
class Job:
    model: str
    base: str = ""


@dataclass(frozen=True)
class JobResult:
    job: Job
    status: str
    verdict: str | None
    root_digest: str | None
    error: str | None
    seconds: float
    skipped: bool = False  # already done in the database (resume)


def read_jobs(path: Path) -> list[Job]:
    """One model per line: ``MODEL`` or ``MODEL<whitespace>BASE``; ``#`` starts a comment."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise FleetError("model list not found", path=str(path)) from None
    jobs: list[Job] = []
    seen: set[Job] = set()
    for i, line in enumerate(lines, 1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        parts = text.split()
        if len(parts) > 2:
            raise FleetError(f"line {i}: expected 'MODEL [BASE]', got {len(parts)} fields", path=str(path))
        job = Job(parts[0], parts[1] if len(parts) == 2 else "")
        if job not in seen:
            jobs.append(job)
            seen.add(job)
    if not jobs:
        raise FleetError("model list is empty", path=str(path))
    return jobs


@contextmanager
def open_db(path: Path) -> Iterator[sqlite3.Connection]:
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path, timeout=30)
    try:
        con.execute("PRAGMA journal_mode=WAL")
        con.executescript(SCHEMA)
        yield con
    finally:
        con.close()


def _audit_one(
    model: str, base: str, policy_text: str, policy_digest: str, backend: str | None
) -> dict[str, Any]:
    """Runs in a worker (a Ray task or in-process). Returns a plain dict: report JSON or the error."""
    import yaml

    from warden.audit.orchestrate import run_audit
    from warden.audit.policy import Policy

    started = time.time()
    try:
        policy = Policy.model_validate(yaml.safe_load(policy_text) or {})
        report = run_audit(
            model, policy=policy, policy_digest=policy_digest, base=base or None, backend=backend
        )
        return {"ok": True, "report": report.to_dict(), "seconds": time.time() - started}
    except WardenError as exc:
        return {"ok": False, "error": exc.diagnostics(), "seconds": time.time() - started}
    except Exception as exc:  # noqa: BLE001 - one model's failure must not stop the fleet
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}", "seconds": time.time() - started}


def run_fleet(
    jobs: list[Job],
    *,
    db: Path,
    policy_text: str,
    policy_digest: str,
    backend: str | None,
    executor: str = "ray",
    ray_address: str | None = None,
    num_cpus: int | None = None,
    retry_errors: bool = True,
    on_result: Callable[[JobResult], None] | None = None,
) -> list[JobResult]:
    results: list[JobResult] = []
    with open_db(db) as con:
        todo: list[Job] = []
        for job in jobs:
            row = con.execute(
                "SELECT status, verdict, root_digest, error FROM audits WHERE model_ref=? AND base=? AND policy_digest=?",
                (job.model, job.base, policy_digest),
            ).fetchone()
            if row and (row[0] == "done" or (row[0] == "error" and not retry_errors)):
                r = JobResult(job, row[0], row[1], row[2], row[3], 0.0, skipped=True)
                results.append(r)
                if on_result:
                    on_result(r)
                continue
            con.execute(
                "INSERT OR REPLACE INTO audits (model_ref, base, policy_digest, status, started_at) VALUES (?,?,?,?,?)",
                (job.model, job.base, policy_digest, "pending", time.time()),
            )
            todo.append(job)
        con.commit()

        def record(job: Job, out: dict[str, Any]) -> None:
            if out.get("ok"):
                rep = out["report"]
                verdict, root = rep.get("verdict"), (rep.get("model") or {}).get("root_digest")
                con.execute(
                    "UPDATE audits SET status='done', verdict=?, root_digest=?, report_json=?, error=NULL, finished_at=? "
                    "WHERE model_ref=? AND base=? AND policy_digest=?",
                    (verdict, root, json.dumps(rep), time.time(), job.model, job.base, policy_digest),
                )
                r = JobResult(job, "done", verdict, root, None, out["seconds"])
            else:
                con.execute(
                    "UPDATE audits SET status='error', error=?, finished_at=? WHERE model_ref=? AND base=? AND policy_digest=?",
                    (out.get("error", "unknown error"), time.time(), job.model, job.base, policy_digest),
                )
                r = JobResult(job, "error", None, None, out.get("error"), out.get("seconds", 0.0))
            con.commit()  # each result is durable as soon as it arrives: a crash loses no finished audit
            results.append(r)
            if on_result:
                on_result(r)

        if executor == "local":
            for job in todo:
                record(job, _audit_one(job.model, job.base, policy_text, policy_digest, backend))
        elif executor == "ray":
            _run_on_ray(todo, record, policy_text, policy_digest, backend, ray_address, num_cpus)
        else:
            raise FleetError(f"unknown executor {executor!r} (ray or local)")
    return results


def _run_on_ray(
    todo: list[Job],
    record: Callable[[Job, dict[str, Any]], None],
    policy_text: str,
    policy_digest: str,
    backend: str | None,
    ray_address: str | None,
    num_cpus: int | None,
) -> None:
    if not todo:
        return
    try:
        import ray
    except ImportError as exc:
        from warden.extras import MissingExtra

        raise MissingExtra("ray", "fleet", "fleet mode (--executor ray; or use --executor local)") from exc
    started_here = False
    if not ray.is_initialized():
        try:
            if ray_address:
                ray.init(address=ray_address, log_to_driver=False)
            else:
                ray.init(
                    num_cpus=num_cpus, include_dashboard=False, log_to_driver=False, configure_logging=False
                )
            started_here = True
        except Exception as exc:  # noqa: BLE001 - ray raises ConnectionError and others
            raise FleetError(f"could not start or join Ray ({ray_address or 'local'}): {exc}") from None
    try:
        task = ray.remote(num_cpus=1)(_audit_one)
        pending = {task.remote(j.model, j.base, policy_text, policy_digest, backend): j for j in todo}
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                job = pending.pop(ref)
                try:
                    out = ray.get(ref)
                except Exception as exc:  # noqa: BLE001 - a worker crash is recorded, not raised
                    out = {"ok": False, "error": f"ray task failed: {type(exc).__name__}: {exc}"}
                record(job, out)
    finally:
        if started_here:
            ray.shutdown()
