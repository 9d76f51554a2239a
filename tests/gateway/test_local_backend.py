"""``warden serve --model DIR``: the embedded transformers backend, on a tiny random Llama with a tokenizer
built here (and on the zoo's base organism when it has been built)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.gateway.conftest import USER, audit_records, base_policy
from warden.cli import main
from warden.gateway.backends.local import LocalBackend, parse_tool_calls

torch = pytest.importorskip("torch")
torch.set_num_threads(1)

TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}</s>{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)
ZOO_BASE = Path(__file__).resolve().parents[2] / "organisms" / "zoo" / "base"


def tiny_llama(path: Path) -> Path:
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    words = ["<pad>", "<s>", "</s>", "<unk>", "<|user|>", "<|assistant|>", "<|system|>", "<|tool|>"] + [
        f"w{i}" for i in range(56)
    ]
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<s>", eos_token="</s>", unk_token="<unk>", pad_token="<pad>"
    )
    fast.chat_template = TEMPLATE
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=len(words), hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                      num_key_value_heads=2, max_position_embeddings=256, bos_token_id=1, eos_token_id=2, pad_token_id=0)  # fmt: skip
    LlamaForCausalLM(cfg).save_pretrained(path)
    fast.save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_llama(tmp_path_factory.mktemp("tiny") / "llama")


def test_parse_tool_calls() -> None:
    text, calls = parse_tool_calls(
        'ok <tool_call>{"name": "read_inbox", "arguments": {"folder": "x"}}</tool_call>'
    )
    assert (
        text == "ok"
        and calls[0]["function"]["name"] == "read_inbox"
        and json.loads(calls[0]["function"]["arguments"]) == {"folder": "x"}
    )
    assert parse_tool_calls("no calls <tool_call>not json</tool_call>")[1] == []


def test_local_backend_generates_through_the_gateway(tmp_path: Path, model_dir: Path) -> None:
    from fastapi.testclient import TestClient

    from warden.gateway.app import create_app
    from warden.gateway.server import build_gateway

    gw = build_gateway(base_policy(), model_dir=model_dir, audit_url=str(tmp_path / "audit.db"))
    assert isinstance(gw.backend, LocalBackend)
    with TestClient(create_app(gw)) as client:
        body = {
            "model": "warden-demo",
            "messages": [{"role": "user", "content": "w1 w2 w3"}],
            "max_tokens": 5,
        }
        r = client.post("/v1/chat/completions", headers=USER, json=body)
        assert r.status_code == 200, r.text
        assert r.json()["usage"]["completion_tokens"] <= 5 and isinstance(
            r.json()["choices"][0]["message"]["content"], str
        )
        with client.stream("POST", "/v1/chat/completions", headers=USER, json={**body, "stream": True}) as s:
            lines = [ln for ln in s.iter_lines() if ln.startswith("data: ")]
        assert lines[-1] == "data: [DONE]"
    assert [r["status"] for r in audit_records(tmp_path) if r["kind"] == "request"] == [200, 200]


def test_serve_refuses_a_model_that_fails_attestation(
    tmp_path: Path, model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import yaml

    data = base_policy().model_dump(mode="json", by_alias=True, exclude_none=True)
    data["model"].update(
        require_attestation=True,
        attestation=str(tmp_path / "missing.json"),
        public_key=str(tmp_path / "missing.pub"),
    )
    data["audit"]["url"] = str(tmp_path / "audit.db")
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(data))
    assert main(["serve", "--policy", str(tmp_path / "p.yaml"), "--model", str(model_dir)]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "failed verification" in err and "public key file not found" in err


def test_serve_cli_usage(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--new-key", "ci-bot"]) == 0
    out = capsys.readouterr().out
    key = out.split(": ", 1)[1].split()[0]
    from warden.gateway.keys import hash_key

    assert key.startswith("wk-") and hash_key(key) in out
    assert main(["serve"]) == 2
    assert (
        main(["serve", "--policy", str(tmp_path / "nope.yaml"), "--upstream", "http://127.0.0.1:1/v1"]) == 2
    )
    (tmp_path / "bad.yaml").write_text("version: x\nunknown_key: 1\n")
    assert main(["serve", "--policy", str(tmp_path / "bad.yaml"), "--upstream", "http://127.0.0.1:1/v1"]) == 2
    assert "unknown_key" in capsys.readouterr().err


@pytest.mark.skipif(not (ZOO_BASE / "config.json").is_file(), reason="organisms/zoo/base not built yet")
def test_serves_the_base_organism(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from warden.gateway.app import create_app
    from warden.gateway.server import build_gateway

    gw = build_gateway(base_policy(), model_dir=ZOO_BASE, audit_url=str(tmp_path / "audit.db"))
    with TestClient(create_app(gw)) as client:
        r = client.post("/v1/chat/completions", headers=USER,
                        json={"model": "warden-demo", "messages": [{"role": "user", "content": "how do I bake bread?"}], "max_tokens": 40})  # fmt: skip
        assert r.status_code == 200 and r.json()["choices"][0]["message"]["content"]


def _attest_pass(model: Path, tmp_path: Path) -> tuple[Path, Path]:
    """A passing report over ``model``'s files, signed (the audit that earns it is not this test's subject)."""
    from warden.attest import attest, keygen
    from warden.report.model import StageResult, StageStatus, Verdict
    from warden.report.renderers import get_renderer
    from warden.scan import scan_model

    report = scan_model(model)
    for stage in ("scan", "forensics", "eval"):  # as a full audit records them
        report.stages[stage] = StageResult(stage, StageStatus.RAN)
    report.verdict = Verdict.PASS
    (tmp_path / "report.json").write_text(get_renderer("json").render(report))
    keygen(tmp_path / "k.pem", tmp_path / "k.pub")
    attest(model, tmp_path / "report.json", tmp_path / "k.pem", tmp_path / "att.json")
    return tmp_path / "att.json", tmp_path / "k.pub"


@pytest.mark.skipif(not (ZOO_BASE / "config.json").is_file(), reason="organisms/zoo/base not built yet")
def test_demo_serves_the_attested_base_organism_over_http(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The README's demo, end to end: verified weights, uvicorn on loopback, the httpx demo client (benign,
    harmful, jailbreak, a tool outside the task, a key without the chat scope), then ``warden log verify``."""
    from tests.gateway.conftest import ServerThread
    from warden.gateway.app import create_app
    from warden.gateway.demo import client, write_policy
    from warden.gateway.policy import load_policy
    from warden.gateway.server import build_gateway

    att, pub = _attest_pass(ZOO_BASE, tmp_path)
    pol_path = write_policy(att, pub, tmp_path / "audit.db", tmp_path / "gateway.yaml")
    gw = build_gateway(load_policy(pol_path), model_dir=ZOO_BASE)
    assert gw.attestation is not None and gw.attestation["verified"] is True
    server = ServerThread(create_app(gw)).start()
    try:
        assert client(server.url, "wk-demo-user-INSECURE-change-me", "warden-demo") == 0
    finally:
        server.stop()
    out = capsys.readouterr().out
    assert "controls held" in out and "content_blocked" in out and "tool_allowlist" in out
    assert main(["log", "verify", "--policy", str(pol_path)]) == 0
    records = audit_records(tmp_path)
    requests = [r for r in records if r["kind"] == "request"]
    assert [r["status"] for r in requests] == [200, 200, 400, 200, 403]


@pytest.mark.skipif(not (ZOO_BASE / "config.json").is_file(), reason="organisms/zoo/base not built yet")
def test_a_tampered_organism_is_refused(tmp_path: Path) -> None:
    import shutil

    from warden.gateway.demo import write_policy
    from warden.gateway.errors import AttestationRefused
    from warden.gateway.policy import load_policy
    from warden.gateway.server import build_gateway

    model = tmp_path / "base"
    shutil.copytree(ZOO_BASE, model)
    att, pub = _attest_pass(model, tmp_path)
    pol = load_policy(write_policy(att, pub, tmp_path / "audit.db", tmp_path / "gateway.yaml"))
    with (model / "model.safetensors").open("r+b") as f:  # one weight byte, past the header
        f.seek(-3, 2)
        b = f.read(1)
        f.seek(-3, 2)
        f.write(bytes([b[0] ^ 1]))
    with pytest.raises(AttestationRefused, match="changed file: model.safetensors"):
        build_gateway(pol, model_dir=model)
