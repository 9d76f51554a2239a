"""attest / verify: every tampering the issue names is rejected with a clear message; a clean model
verifies; the OpenSSF verifier accepts the companion signature."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from warden.attest import VerificationError, attest, keygen, verify_attestation
from warden.attest.dsse import EnvelopeError
from warden.cli import main
from warden.report.model import StageResult, StageStatus, Verdict
from warden.report.renderers import get_renderer
from warden.scan import scan_model


@pytest.fixture
def setup(tmp_path: Path) -> dict[str, Path]:
    model = tmp_path / "model"
    (model / "sub").mkdir(parents=True)
    (model / "config.json").write_text('{"model_type": "llama"}')
    (model / "sub" / "weights.bin").write_bytes(bytes(range(256)) * 10)
    report = scan_model(model)
    for stage in ("scan", "forensics", "eval"):  # an attested audit ran every required stage
        report.stages[stage] = StageResult(stage, StageStatus.RAN)
    report.verdict = Verdict.PASS
    rpath = tmp_path / "report.json"
    rpath.write_text(get_renderer("json").render(report))
    keygen(tmp_path / "k.pem", tmp_path / "k.pub")
    keygen(tmp_path / "other.pem", tmp_path / "other.pub")
    att = tmp_path / "att.json"
    attest(model, rpath, tmp_path / "k.pem", att, valid_for=timedelta(days=10))
    return {
        "model": model,
        "report": rpath,
        "att": att,
        "key": tmp_path / "k.pem",
        "pub": tmp_path / "k.pub",
        "other": tmp_path / "other.pub",
        "tmp": tmp_path,
    }


def problems(s: dict[str, Path], **kw: object) -> list[str]:
    with pytest.raises(VerificationError) as exc:
        verify_attestation(s["model"], s["att"], s["pub"], **kw)  # type: ignore[arg-type]
    return exc.value.problems


def test_clean_model_verifies(setup: dict[str, Path]) -> None:
    res = verify_attestation(setup["model"], setup["att"], setup["pub"])
    assert res.files == 2 and res.verdict == "pass"


def test_statement_whose_audit_skipped_a_required_stage_is_rejected(setup: dict[str, Path]) -> None:
    report = scan_model(setup["model"])
    report.stages["scan"] = StageResult("scan", StageStatus.RAN)
    report.stages["forensics"] = StageResult("forensics", StageStatus.RAN)
    report.stages["eval"] = StageResult("eval", StageStatus.SKIPPED, "no backend chosen (--backend none)")
    report.verdict = Verdict.PASS  # even a report that (wrongly) says pass
    setup["report"].write_text(get_renderer("json").render(report))
    attest(setup["model"], setup["report"], setup["key"], setup["att"])
    found = problems(setup)
    assert "required stage eval was skipped in the signed audit: no backend chosen (--backend none)" in found
    # a policy that asks only for the scan accepts it
    verify_attestation(setup["model"], setup["att"], setup["pub"], {"required_stages": ["scan"]})


def test_incomplete_verdict_is_never_accepted(setup: dict[str, Path]) -> None:
    report = scan_model(setup["model"])
    report.verdict = Verdict.INCOMPLETE
    setup["report"].write_text(get_renderer("json").render(report))
    attest(setup["model"], setup["report"], setup["key"], setup["att"])
    found = problems(setup, policy={"required_stages": []})
    assert any(x.startswith("verdict 'incomplete' is not allowed") for x in found)


def test_changed_byte_rejected(setup: dict[str, Path]) -> None:
    p = setup["model"] / "sub" / "weights.bin"
    data = bytearray(p.read_bytes())
    data[100] ^= 1
    p.write_bytes(bytes(data))
    assert any(x.startswith("changed file: sub/weights.bin") for x in problems(setup))


def test_added_file_rejected_unless_allowed(setup: dict[str, Path]) -> None:
    (setup["model"] / "extra.py").write_text("print('hi')")
    assert any("unsigned file: extra.py" in x for x in problems(setup))
    verify_attestation(setup["model"], setup["att"], setup["pub"], {"allow_extra_files": ["*.py"]})


def test_removed_file_rejected(setup: dict[str, Path]) -> None:
    (setup["model"] / "config.json").unlink()
    assert any("missing file: config.json" in x for x in problems(setup))


def test_wrong_key_rejected(setup: dict[str, Path]) -> None:
    with pytest.raises(EnvelopeError, match="does not verify"):
        verify_attestation(setup["model"], setup["att"], setup["other"])


def test_expired_and_too_old_rejected(setup: dict[str, Path]) -> None:
    later = datetime.now(timezone.utc) + timedelta(days=11)
    assert any("expired" in x for x in problems(setup, now=later))
    assert any(
        "older than 5 days" in x
        for x in problems(
            setup, policy={"max_age_days": 5}, now=datetime.now(timezone.utc) + timedelta(days=6)
        )
    )


def test_tampered_predicate_rejected(setup: dict[str, Path]) -> None:
    env = json.loads(setup["att"].read_text())
    st = json.loads(base64.b64decode(env["payload"]))
    st["predicate"]["verdict"] = "pass"
    st["predicate"]["findings"]["total"] = 0
    st["predicate"]["metrics"] = {}
    env["payload"] = base64.b64encode(json.dumps(st).encode()).decode()
    setup["att"].write_text(json.dumps(env))
    with pytest.raises(EnvelopeError, match="does not verify"):
        verify_attestation(setup["model"], setup["att"], setup["pub"])


def test_disallowed_verdict_rejected(setup: dict[str, Path]) -> None:
    assert any(
        "verdict 'pass' is not allowed" in x
        for x in problems(setup, policy={"allowed_verdicts": ["none-ok"]})
    )


def test_path_traversal_subject_rejected_even_when_signed(setup: dict[str, Path]) -> None:
    """A validly signed statement naming ../ paths is still refused (the signer could be careless)."""
    from warden.attest import dsse, keys

    env = json.loads(setup["att"].read_text())
    st = json.loads(base64.b64decode(env["payload"]))
    st["subject"].append({"name": "../../etc/passwd", "digest": {"sha256": "00" * 32}})
    setup["att"].write_text(json.dumps(dsse.sign(json.dumps(st).encode(), keys.load_private(setup["key"]))))
    assert any("path traversal" in x for x in problems(setup))


def test_report_for_other_files_cannot_be_attested(setup: dict[str, Path]) -> None:
    from warden.attest import AttestError

    (setup["model"] / "config.json").write_text("{}")
    with pytest.raises(AttestError, match="different files"):
        attest(setup["model"], setup["report"], setup["key"], setup["tmp"] / "a2.json")


def test_cli_exit_codes(setup: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    s = setup
    assert main(["verify", str(s["model"]), "-a", str(s["att"]), "--key", str(s["pub"]), "-q"]) == 0
    assert main(["verify", str(s["model"]), "-a", str(s["att"]), "--key", str(s["other"])]) == 1
    assert main(["verify", str(s["model"]), "-a", str(s["att"]), "--key", str(s["tmp"] / "nokey.pem")]) == 2
    err = capsys.readouterr().err
    assert "REJECTED" in err and "Traceback" not in err


def test_openssf_signature_accepted_by_model_signing(setup: dict[str, Path]) -> None:
    pytest.importorskip("model_signing")
    from warden.attest.openssf import verify_model

    sig = setup["model"] / "model.sig"
    attest(setup["model"], setup["report"], setup["key"], setup["tmp"] / "a3.json", openssf_signature=sig)
    verify_model(setup["model"], setup["pub"], sig)  # the standard verifier accepts it
    # and Warden's own attestation still verifies with the signature file present (it is ignored)
    verify_attestation(setup["model"], setup["tmp"] / "a3.json", setup["pub"])
    (setup["model"] / "config.json").write_text('{"model_type": "evil"}')
    with pytest.raises(Exception):
        verify_model(setup["model"], setup["pub"], sig)


def test_predicate_names_the_backends_that_ran_the_model(setup: dict[str, Path]) -> None:
    """The statement's `predicate.backends` was read from a field that does not exist (always null)."""
    from warden.attest.statement import build_statement
    from warden.scan.manifest import build_manifest

    report = scan_model(setup["model"])
    report.data["behavior"] = {
        "config": {"seed": 3},
        "backend": {"kind": "transformers", "path": "/m"},
        "base": {"ref": None},
    }
    st = build_statement(report, build_manifest(setup["model"]))
    assert st["predicate"]["backends"] == {
        "model": {"kind": "transformers", "path": "/m"},
        "base": {"ref": None},
    }
    assert st["predicate"]["seeds"] == 3
