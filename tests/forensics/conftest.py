from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tests.forensics import edits as E
from tests.forensics import models as MD


@pytest.fixture(autouse=True, scope="session")
def _one_thread() -> None:
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def minilm_sd() -> E.StateDict:
    return E.load(MD.minilm_dir() / "model.safetensors")


@pytest.fixture(scope="session")
def minilm_base(tmp_path_factory: pytest.TempPathFactory, minilm_sd: E.StateDict) -> Path:
    return E.save(minilm_sd, tmp_path_factory.mktemp("minilm") / "base", like=MD.minilm_dir())


@pytest.fixture(scope="session")
def tiny_llama(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return MD.build_random("llama", tmp_path_factory.mktemp("llama") / "base", d=64, layers=4, seed=0)


@pytest.fixture
def save(tmp_path: Path):
    """save(sd, like, name) -> directory with model.safetensors and the small files of ``like``."""

    def _save(sd: E.StateDict, like: Path, name: str = "model") -> Path:
        return E.save(sd, tmp_path / name, like=like)

    return _save
