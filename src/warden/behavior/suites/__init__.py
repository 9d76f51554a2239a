"""Eval suites: versioned JSONL written by ``generate.py``, plus importers for public benchmarks.

Suite names: ``harmful`` (refusal), ``benign`` (helpfulness), ``scary`` (benign-but-scary: over-
refusal), ``jailbreak`` (wrappers over a harmful subset), ``coding`` (insecure code, CWE-tagged),
``triggers`` (candidate backdoor triggers for the sweep). A path to a ``.jsonl`` file of the same
row shape is a custom suite (its rows name their ``suite``).
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from warden.errors import UsageError, WardenError

DATA = Path(__file__).with_name("data")
BUILTIN = ("harmful", "benign", "scary", "jailbreak", "coding", "triggers")
DEFAULT_SUITES = ("harmful", "benign", "scary", "jailbreak", "coding", "triggers")
MAX_SUITE_BYTES = 64 * 1024 * 1024
MAX_PROMPT_CHARS = 32_000


class SuiteError(WardenError):
    """A suite file is missing or malformed."""


@dataclass(frozen=True)
class Prompt:
    id: str
    suite: str
    category: str
    prompt: str
    cluster: str = ""
    meta: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)

    @property
    def cluster_id(self) -> str:
        return self.cluster or self.id


_KNOWN = {"id", "suite", "category", "prompt", "cluster"}


def _row_to_prompt(row: Any, where: str, default_suite: str) -> Prompt:
    if not isinstance(row, dict):
        raise SuiteError("each line must be a JSON object", path=where)
    text = row.get("prompt")
    if not isinstance(text, str) or not text:
        raise SuiteError("row has no 'prompt' string", path=where)
    if len(text) > MAX_PROMPT_CHARS:
        raise SuiteError(f"prompt longer than {MAX_PROMPT_CHARS} characters", path=where)
    return Prompt(
        id=str(row.get("id") or where),
        suite=str(row.get("suite") or default_suite),
        category=str(row.get("category") or "uncategorized"),
        prompt=text,
        cluster=str(row.get("cluster") or ""),
        meta={k: v for k, v in row.items() if k not in _KNOWN},
    )


def read_jsonl(path: str | Path, default_suite: str = "custom") -> list[Prompt]:
    p = Path(path)
    try:
        if p.stat().st_size > MAX_SUITE_BYTES:
            raise SuiteError(f"suite file larger than {MAX_SUITE_BYTES} bytes", path=str(p))
        lines = p.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise SuiteError(f"cannot read suite: {exc.strerror or exc}", path=str(p)) from exc
    except UnicodeDecodeError as exc:
        raise SuiteError("suite is not UTF-8", path=str(p)) from exc
    out = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise SuiteError(f"line {n} is not JSON: {exc}", path=str(p)) from exc
        out.append(_row_to_prompt(row, f"{p}:{n}", default_suite))
    return out


def load_suite(name_or_path: str | Path) -> list[Prompt]:
    """A built-in suite by name, or a JSONL file by path."""
    name = str(name_or_path)
    if name in BUILTIN:
        return read_jsonl(DATA / f"{name}.jsonl", default_suite=name)
    p = Path(name)
    if p.suffix == ".jsonl" and p.exists():
        return read_jsonl(p, default_suite=p.stem)
    raise UsageError(
        f"unknown suite {name!r}: use one of {', '.join(BUILTIN)}, drift, drift:PATH or a path to a .jsonl file"
    )


def manifest() -> dict[str, Any]:
    return json.loads((DATA / "MANIFEST.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def subsample(prompts: Sequence[Prompt], limit: int | None, seed: int = 0) -> list[Prompt]:
    """At most ``limit`` prompts, chosen with a fixed seed, stratified by category (round-robin
    over shuffled categories so every category keeps prompts), in the original order."""
    if limit is None or limit >= len(prompts):
        return list(prompts)
    rng = random.Random(seed)
    by_cat: dict[str, list[int]] = {}
    for i, p in enumerate(prompts):
        by_cat.setdefault(p.category, []).append(i)
    for idx in by_cat.values():
        rng.shuffle(idx)
    cats = sorted(by_cat)
    rng.shuffle(cats)
    chosen: list[int] = []
    while len(chosen) < limit:
        for c in cats:
            if by_cat[c] and len(chosen) < limit:
                chosen.append(by_cat[c].pop())
    return [prompts[i] for i in sorted(chosen)]


def split_by_cluster(
    prompts: Sequence[Prompt], n_first: int, n_second: int, seed: int = 0
) -> tuple[list[Prompt], list[Prompt]]:
    """Two prompt sets with no cluster (behaviour) in common: ``n_first`` prompts from distinct
    clusters (one phrasing each, stratified by category), then ``n_second`` from the clusters left,
    one phrasing per cluster first and further phrasings only when the clusters run out. Used for
    the trigger sweep, whose confirmation stage must be fresh behaviours, not fresh phrasings of the
    screened ones."""
    rng = random.Random(seed)
    by_cl: dict[str, list[Prompt]] = {}
    for p in prompts:
        by_cl.setdefault(p.cluster_id, []).append(p)
    for v in by_cl.values():
        rng.shuffle(v)
    reps = [v[0] for v in by_cl.values()]
    first = subsample(reps, n_first, seed) if n_first > 0 else []
    used = {p.cluster_id for p in first}
    rest = [p for p in prompts if p.cluster_id not in used]
    rest_reps = [by_cl[c][0] for c in by_cl if c not in used]
    if n_second <= len(rest_reps):
        second = subsample(rest_reps, n_second, seed + 1) if n_second > 0 else []
    else:
        extra = [p for p in rest if p not in set(rest_reps)]
        second = rest_reps + subsample(extra, n_second - len(rest_reps), seed + 1)
    order = {id(p): i for i, p in enumerate(prompts)}
    return sorted(first, key=lambda p: order[id(p)]), sorted(second, key=lambda p: order[id(p)])


def group(prompts: Iterable[Prompt]) -> dict[str, list[Prompt]]:
    out: dict[str, list[Prompt]] = {}
    for p in prompts:
        out.setdefault(p.suite, []).append(p)
    return out
