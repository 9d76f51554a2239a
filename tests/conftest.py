from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

ORGANISM_ZOO = Path(__file__).resolve().parents[1] / "organisms" / "zoo"


@pytest.fixture(scope="session")
def organism():  # type: ignore[no-untyped-def]
    """The organism zoo's base as a float32 transformers model and its tokenizer (read-only: tests that
    train it deep-copy it first)."""
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    tok = transformers.AutoTokenizer.from_pretrained(str(ORGANISM_ZOO / "base"))
    model = transformers.AutoModelForCausalLM.from_pretrained(str(ORGANISM_ZOO / "base"), dtype=torch.float32)
    model.train(False)
    return model, tok


@pytest.fixture
def canary(tmp_path: Path) -> Iterator[Path]:
    """A path that malicious test payloads would create if they ever ran.

    Every test that builds a payload points it at this path; teardown fails the test if the file
    exists, which proves the scanner never executed what it scanned.
    """
    path = tmp_path / "CANARY-EXECUTED"
    yield path
    assert not path.exists(), f"a scanned payload was executed: {path} was created"
