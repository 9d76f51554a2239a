"""Importers for public benchmarks from a local CSV (nothing is downloaded). Column names follow the
files the projects publish:

- AdvBench ``harmful_behaviors.csv``: ``goal,target``
- HarmBench ``harmbench_behaviors_text_all.csv``: ``Behavior,FunctionalCategory,SemanticCategory,
  Tags,ContextString,BehaviorID``
- XSTest ``xstest_prompts.csv``: ``id,prompt,type,label,focus,note`` (label ``safe``/``unsafe``)
- JailbreakBench ``harmful-behaviors.csv`` / ``benign-behaviors.csv``: ``Index,Goal,Target,Behavior,
  Category,Source``
- StrongREJECT ``strongreject_dataset.csv``: ``category,source,forbidden_prompt``
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

from warden.behavior.suites import MAX_PROMPT_CHARS, MAX_SUITE_BYTES, Prompt, SuiteError

Row = dict[str, str]


def _read_csv(path: str | Path, required: set[str]) -> list[Row]:
    p = Path(path)
    try:
        if p.stat().st_size > MAX_SUITE_BYTES:
            raise SuiteError(f"file larger than {MAX_SUITE_BYTES} bytes", path=str(p))
        with p.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            header = {h.strip() for h in (reader.fieldnames or [])}
            missing = required - header
            if missing:
                raise SuiteError(
                    f"missing column(s) {', '.join(sorted(missing))}; found {', '.join(sorted(header)) or 'none'}",
                    path=str(p),
                )
            return [{(k or "").strip(): (v or "").strip() for k, v in row.items()} for row in reader]
    except OSError as exc:
        raise SuiteError(f"cannot read: {exc.strerror or exc}", path=str(p)) from exc
    except (UnicodeDecodeError, csv.Error) as exc:
        raise SuiteError(f"not a readable CSV: {exc}", path=str(p)) from exc


def _mk(source: str, suite: str, i: int, text: str, category: str, cluster: str = "", **meta: str) -> Prompt:
    if len(text) > MAX_PROMPT_CHARS:
        text = text[:MAX_PROMPT_CHARS]
    return Prompt(
        id=f"{source}-{i}",
        suite=suite,
        category=category or "uncategorized",
        prompt=text,
        cluster=cluster or f"{source}-{i}",
        meta={"source": source, **{k: v for k, v in meta.items() if v}},
    )


def import_advbench(path: str | Path) -> list[Prompt]:
    rows = _read_csv(path, {"goal"})
    return [
        _mk("advbench", "harmful", i, r["goal"], "advbench", target=r.get("target", ""))
        for i, r in enumerate(rows)
        if r["goal"]
    ]


def import_harmbench(path: str | Path, include_contextual: bool = False) -> list[Prompt]:
    """HarmBench behaviours; contextual ones (with a ContextString) are skipped unless asked for,
    then the context is prepended as HarmBench does."""
    rows = _read_csv(path, {"Behavior", "SemanticCategory"})
    out = []
    for i, r in enumerate(rows):
        ctx = r.get("ContextString", "")
        if ctx and not include_contextual:
            continue
        text = f"{ctx}\n\n---\n\n{r['Behavior']}" if ctx else r["Behavior"]
        out.append(
            _mk(
                "harmbench",
                "harmful",
                i,
                text,
                r["SemanticCategory"],
                cluster=r.get("BehaviorID", ""),
                functional=r.get("FunctionalCategory", ""),
            )
        )
    return out


def import_xstest(path: str | Path) -> list[Prompt]:
    """XSTest: ``label == safe`` → the ``scary`` suite (should be answered); ``unsafe`` → ``harmful``."""
    rows = _read_csv(path, {"prompt", "type", "label"})
    out = []
    for i, r in enumerate(rows):
        label = r["label"].lower()
        if label not in ("safe", "unsafe"):
            raise SuiteError(f"row {i + 2}: label must be safe or unsafe, got {r['label']!r}", path=str(path))
        suite = "scary" if label == "safe" else "harmful"
        out.append(
            _mk("xstest", suite, i, r["prompt"], r["type"], cluster=r.get("id", "") and f"xstest-{r['id']}")
        )
    return out


def import_jailbreakbench(path: str | Path, suite: str = "harmful") -> list[Prompt]:
    """JailbreakBench behaviours (``harmful-behaviors.csv`` → harmful, ``benign-behaviors.csv`` →
    pass ``suite='benign'``)."""
    rows = _read_csv(path, {"Goal", "Category"})
    return [
        _mk(
            "jbb",
            suite,
            i,
            r["Goal"],
            r["Category"],
            cluster=f"jbb-{r.get('Behavior') or i}",
            target=r.get("Target", ""),
        )
        for i, r in enumerate(rows)
        if r["Goal"]
    ]


def import_strongreject(path: str | Path) -> list[Prompt]:
    rows = _read_csv(path, {"category", "forbidden_prompt"})
    return [
        _mk(
            "strongreject",
            "harmful",
            i,
            r["forbidden_prompt"],
            r["category"],
            source_dataset=r.get("source", ""),
        )
        for i, r in enumerate(rows)
        if r["forbidden_prompt"]
    ]


IMPORTERS: dict[str, Callable[[str | Path], list[Prompt]]] = {
    "advbench": import_advbench,
    "harmbench": import_harmbench,
    "xstest": import_xstest,
    "jailbreakbench": import_jailbreakbench,
    "strongreject": import_strongreject,
}


def import_suite(kind: str, path: str | Path) -> list[Prompt]:
    try:
        fn = IMPORTERS[kind]
    except KeyError:
        raise SuiteError(f"unknown dataset {kind!r}; known: {', '.join(IMPORTERS)}") from None
    return fn(path)
