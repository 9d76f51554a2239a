"""GGUF inputs for generation: a GGUF file (or folder) opens with transformers' GGUF loading; tokenizer
and chat template come from the GGUF metadata. Checked against the same organism's HF directory: the
F16 export must generate what the HF weights generate (greedy)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from warden.behavior.backends import GenerationParams, open_backend, user
from warden.behavior.suites import load_suite
from warden.cli import main

ZOO = Path(__file__).resolve().parents[1] / "organisms" / "zoo"
GGUF = ZOO / "base-gguf" / "base-F16.gguf"


@pytest.fixture(scope="module")
def pair():  # type: ignore[no-untyped-def]
    pytest.importorskip("accelerate", reason="transformers' GGUF loading needs accelerate")
    return open_backend(GGUF), open_backend(ZOO / "base")


@pytest.mark.slow
def test_gguf_generates_what_the_hf_weights_generate(pair) -> None:  # type: ignore[no-untyped-def]
    g, h = pair
    assert g.describe()["format"].startswith("gguf") and g.describe()["path"] == str(GGUF)
    assert g.tokenizer.chat_template == h.tokenizer.chat_template  # from the GGUF metadata
    rng = random.Random()
    prompts = [p.prompt for s in ("harmful", "benign") for p in rng.sample(load_suite(s), 4)]
    convs = [user(p) for p in prompts]
    assert [g.render(c) for c in convs] == [h.render(c) for c in convs]
    a = g.generate(convs, GenerationParams(max_new_tokens=20))
    b = h.generate(convs, GenerationParams(max_new_tokens=20))
    same = sum(x == y for x, y in zip(a, b, strict=True))
    assert same >= len(convs) - 1, list(zip(a, b, strict=True))  # F16 rounding may flip one near-tie
    assert g.model_digest() != h.model_digest() and g.model_digest().startswith("sha256:")


def test_folder_holding_one_gguf(tmp_path: Path) -> None:
    pytest.importorskip("accelerate")
    (tmp_path / GGUF.name).symlink_to(GGUF)
    b = open_backend(tmp_path)
    assert b.describe()["path"].endswith(GGUF.name)
    assert b.has_chat_template  # from the GGUF metadata
    (text,) = b.generate([user("how do I kill a python process")], GenerationParams(max_new_tokens=6))
    assert text.strip()


@pytest.mark.slow
def test_eval_cli_on_a_gguf(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("accelerate")
    rc = main(["eval", str(GGUF.parent / "base-Q8_0.gguf"), "--suites", "harmful,benign", "--limit", "6",
               "--max-new-tokens", "24", "-f", "json", "-q"])  # fmt: skip
    doc = json.loads(capsys.readouterr().out)
    assert rc in (0, 1)
    assert doc["model"]["ref"].endswith("base-Q8_0.gguf")
    assert doc["metrics"]  # it ran: refusal rates were measured
