"""Weight forensics: tampering and abliteration detection, with or without the base, and lineage.

    from warden.forensics import run_forensics
    report = run_forensics("path/to/model", base=None, claimed_base=None)

Modes:
  base-free   always (when the architecture is known): a residual direction erased from the output
              projections of a band of layers (``basefree``), and, for a loadable chat model, whether
              it still uses its own harmful-vs-harmless direction (``activation``; decides only for
              families with a calibrated clean null);
  diff        with ``base``: tensor-by-tensor comparison and one classification (``diff``);
  lineage     with ``claimed_base``: is the model consistent with derivation from it (``lineage``).
"""

from __future__ import annotations

from warden.forensics.config import BaseFreeConfig, DiffConfig, ForensicsConfig, LineageConfig
from warden.forensics.run import run_forensics

__all__ = ["BaseFreeConfig", "DiffConfig", "ForensicsConfig", "LineageConfig", "run_forensics"]
