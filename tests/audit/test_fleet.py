"""Fleet mode: Ray tasks on a local Ray instance, SQLite results, resume."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from warden.audit import load_policy
from warden.audit.fleet import FleetError, Job, read_jobs, run_fleet
from warden.cli import main

POLICY = "version: 1\nstages: {scan: true, forensics: false, eval: false}\n"


def models(tmp_path: Path) -> list[Path]:
    clean = tmp_path / "clean"
    clean.mkdir()
    (clean / "config.json").write_text('{"model_type": "llama"}')
    bad = tmp_path / "bad"
    bad.mkdir()
    # a chat template with an SSTI gadget: the template scanner flags it critical → audit fails
    (bad / "chat_template.jinja").write_text("{{ cycler.__init__.__globals__.os.popen('id').read() }}")
    return [clean, bad]


def test_read_jobs(tmp_path: Path) -> None:
    f = tmp_path / "list.txt"
    f.write_text("# fleet\n./a\n./b ./base  # with base\n./a\n")
    assert read_jobs(f) == [Job("./a"), Job("./b", "./base")]
    f.write_text("a b c\n")
    with pytest.raises(FleetError, match="line 1"):
        read_jobs(f)


def test_local_executor_resumes(tmp_path: Path) -> None:
    pol = tmp_path / "p.yaml"
    pol.write_text(POLICY)
    _, digest = load_policy(pol)
    jobs = [Job(str(m)) for m in models(tmp_path)] + [Job(str(tmp_path / "missing"))]
    db = tmp_path / "fleet.sqlite"
    first = run_fleet(jobs, db=db, policy_text=POLICY, policy_digest=digest, backend=None, executor="local")
    assert {Path(r.job.model).name: (r.status, r.verdict) for r in first} == {
        "clean": ("done", "pass"), "bad": ("done", "fail"), "missing": ("error", None),
    }  # fmt: skip
    second = run_fleet(
        jobs,
        db=db,
        policy_text=POLICY,
        policy_digest=digest,
        backend=None,
        executor="local",
        retry_errors=False,
    )
    assert all(r.skipped for r in second)
    rows = sqlite3.connect(db).execute("SELECT COUNT(*), SUM(report_json IS NOT NULL) FROM audits").fetchone()
    assert rows == (3, 2)


def test_audit_many_on_local_ray(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("ray")
    listing = tmp_path / "models.txt"
    listing.write_text("\n".join(str(m) for m in models(tmp_path)) + "\n")
    pol = tmp_path / "p.yaml"
    pol.write_text(POLICY)
    db = tmp_path / "fleet.sqlite"
    args = [
        "audit-many",
        str(listing),
        "--db",
        str(db),
        "--policy",
        str(pol),
        "--backend",
        "none",
        "--num-cpus",
        "2",
        "--report-dir",
        str(tmp_path / "reports"),
    ]
    rc = main(args)
    rows = sqlite3.connect(db).execute("SELECT model_ref, status, verdict, error FROM audits").fetchall()
    assert rc == 1, (rows, capsys.readouterr())  # one model fails its audit
    capsys.readouterr()
    verdicts = {ref: verdict for ref, _, verdict, _ in rows}
    assert {Path(k).name: v for k, v in verdicts.items()} == {"clean": "pass", "bad": "fail"}
    assert sorted(p.name for p in (tmp_path / "reports").iterdir()) == sorted(
        [
            f"{n}.{e}"
            for n in (
                str(tmp_path / "bad").strip("/").replace("/", "_"),
                str(tmp_path / "clean").strip("/").replace("/", "_"),
            )
            for e in ("html", "json")
        ]
    )
    # resume: the second run finds everything done and starts no Ray task
    assert main([*args[:-2], "--executor", "local"]) == 1
    assert "resumed" in capsys.readouterr().err
