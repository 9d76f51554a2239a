"""``warden serve``: run the gateway (OpenAI-compatible API with rails, tool policy and an audit log)."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from warden.commands.common import EXIT_OK
from warden.errors import UsageError

EXAMPLES = (
    "Examples:  \n"
    "warden serve --policy gateway.yaml --model ./model   (start from: warden policy show gateway)  \n"
    "warden serve --policy gateway.yaml --upstream http://127.0.0.1:8000/v1"
)


def serve(
    policy: Path = typer.Option(
        None, "--policy", "-p", help="Gateway policy (YAML); start from `warden policy show gateway`."
    ),
    upstream: str = typer.Option(
        None, "--upstream", help="OpenAI-compatible base URL, e.g. http://127.0.0.1:8001/v1."
    ),
    model: str = typer.Option(
        None,
        "--model",
        help="Serve a model in-process instead: HF directory, .gguf file (or a folder holding one), or hub id.",
    ),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", help="Port to listen on."),
    audit_log: str = typer.Option(
        None, "--audit-log", help="Override the policy's audit.url (sqlite path or postgresql:// URL)."
    ),
    upstream_key_env: str = typer.Option(
        None, "--upstream-key-env", help="Environment variable holding the upstream's API key."
    ),
    new_key: str = typer.Option(
        None, "--new-key", metavar="KEY_ID", help="Print a fresh API key and its policy entry, then exit."
    ),
    log_level: str = typer.Option("info", "--log-level"),
) -> int:
    """Serve a model behind Warden's controls: verified weights, API keys, rails, tool policy, audit log."""
    if new_key:
        from warden.gateway.keys import hash_key
        from warden.gateway.keys import new_key as make_key

        key = make_key()
        typer.echo(f"API key (shown once, store it safely): {key}")
        typer.echo(f"policy entry:\n  - id: {new_key}\n    sha256: {hash_key(key)}\n    scopes: [chat]")
        return EXIT_OK
    if policy is None:
        raise UsageError(
            "--policy is required",
            hint="start from the shipped one: warden policy show gateway > gateway.yaml",
        )
    if (upstream is None) == (model is None):
        raise UsageError("give exactly one of --upstream URL or --model DIR")
    from warden.gateway.policy import load_policy
    from warden.gateway.server import build_gateway
    from warden.gateway.server import serve as run
    from warden.sources import resolve_arg

    pol = load_policy(policy)
    model_dir: Path | None = None
    if model is not None:
        src = resolve_arg(model, "--model")
        model_dir = src.gguf or src.path
    api_key = os.environ.get(upstream_key_env) if upstream_key_env else None
    gw = build_gateway(
        pol, upstream=upstream, model_dir=model_dir, audit_url=audit_log, upstream_api_key=api_key
    )
    run(gw, host=host, port=port, log_level=log_level)
    return EXIT_OK


def register(app: typer.Typer) -> None:
    app.command("serve", epilog=EXAMPLES)(serve)
