"""``warden keygen`` / ``attest`` / ``verify``."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import typer
from rich.markup import escape

from warden.attest.api import VerifyPolicy
from warden.commands.common import EXIT_ERROR, stderr_console
from warden.errors import WardenError

KEYGEN_EXAMPLES = "Example:  \nwarden keygen --private-key key.pem --public-key key.pub.pem"
ATTEST_EXAMPLES = (
    "Example:  \nwarden audit ./model -f json -o report.json && "
    "warden attest ./model --report report.json --key key.pem -o model.intoto.json"
)
VERIFY_EXAMPLES = (
    "Example:  \nwarden verify ./model --attestation model.intoto.json --key key.pub.pem --policy policy.yaml"
)


def _verify_policy(path: Path | None) -> VerifyPolicy:
    """The ``verify`` section of the policy — read by the same loader (and schema) as ``audit``'s."""
    from warden.audit.policy import load_policy

    return load_policy(path)[0].verify


def keygen_command(
    private_key: Path = typer.Option(
        Path("warden-key.pem"), "--private-key", help="Where to write the private key."
    ),
    public_key: Path = typer.Option(
        Path("warden-key.pub.pem"), "--public-key", help="Where to write the public key."
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite existing key files."),
) -> None:
    """Generate an ECDSA P-256 key pair (PEM) for attestations and OpenSSF model signatures."""
    from warden.attest import keygen

    kid = keygen(private_key, public_key, overwrite=force)
    stderr_console().print(f"wrote {private_key} and {public_key} (key id {kid[:16]}…)", highlight=False)


def attest_command(
    model: Path = typer.Argument(..., help="The model directory (or file) the report was produced for."),
    report: Path = typer.Option(..., "--report", help="The JSON report (warden audit/scan --format json)."),
    key: Path = typer.Option(..., "--key", help="ECDSA P-256 private key (warden keygen)."),
    output: Path = typer.Option(
        Path("warden-attestation.intoto.json"), "--output", "-o", help="Attestation file."
    ),
    valid_days: float | None = typer.Option(
        None, "--valid-days", help="Expire the attestation after this many days."
    ),
    policy: Path | None = typer.Option(None, "--policy", help="Policy file whose digest is recorded."),
    openssf: Path | None = typer.Option(
        None, "--openssf-signature", help="Also write an OpenSSF model signature here (e.g. MODEL/model.sig)."
    ),
    quiet: bool = typer.Option(
        False,
        "--quiet",
        "-q",
        help="No status lines on stderr.",
    ),
) -> None:
    """Sign an in-toto statement binding the report's verdict to the exact files."""
    from warden.attest import attest
    from warden.audit.policy import load_policy

    policy_digest = load_policy(policy)[1] if policy else None
    result = attest(
        model,
        report,
        key,
        output,
        policy_digest=policy_digest,
        valid_for=timedelta(days=valid_days) if valid_days else None,
        openssf_signature=openssf,
    )
    if not quiet:
        msg = f"attested {result.files} file(s), root sha256 {result.root_digest} → {result.attestation}"
        if result.openssf_signature:
            msg += f"; OpenSSF signature → {result.openssf_signature}"
        stderr_console().print(msg, highlight=False)


def verify_command(
    model: Path = typer.Argument(..., help="The model directory (or file) to check."),
    attestation: Path = typer.Option(..., "--attestation", "-a", help="The attestation file."),
    key: Path = typer.Option(..., "--key", help="The signer's public key (PEM)."),
    policy: Path | None = typer.Option(None, "--policy", help="Policy file (its 'verify' section)."),
    quiet: bool = typer.Option(
        False,
        "--quiet",
        "-q",
        help="No status lines on stderr.",
    ),
) -> None:
    """Verify signature, every digest, no unsigned extra file, verdict and age. Exit 0 if it holds."""
    from warden.attest import VerificationError, verify_attestation
    from warden.attest.dsse import EnvelopeError

    try:
        res = verify_attestation(model, attestation, key, _verify_policy(policy))
    except (VerificationError, EnvelopeError) as exc:  # the model or attestation failed a check: exit 1
        stderr_console().print(f"[bold red]REJECTED[/] {escape(exc.diagnostics())}", highlight=False)
        raise typer.Exit(1) from None
    except WardenError as exc:  # could not check at all (missing key, bad policy): exit 2
        stderr_console().print(f"[bold red]error:[/] {escape(exc.diagnostics())}", highlight=False)
        raise typer.Exit(EXIT_ERROR) from None
    if not quiet:
        stderr_console().print(
            f"[bold green]VERIFIED[/] {res.files} file(s), root sha256 {res.root_digest}, verdict {res.verdict}, "
            f"issued {res.issued_at}, key {res.key_id[:16]}…",
            highlight=False,
        )


def register(app: typer.Typer) -> None:
    app.command("keygen", epilog=KEYGEN_EXAMPLES)(keygen_command)
    app.command("attest", epilog=ATTEST_EXAMPLES)(attest_command)
    app.command("verify", epilog=VERIFY_EXAMPLES)(verify_command)
