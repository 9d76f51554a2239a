from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def canary(tmp_path: Path) -> Iterator[Path]:
    """A path that malicious test payloads would create if they ever ran.

    Every test that builds a payload points it at this path; teardown fails the test if the file
    exists, which proves the scanner never executed what it scanned.
    """
    path = tmp_path / "CANARY-EXECUTED"
    yield path
    assert not path.exists(), f"a scanned payload was executed: {path} was created"
