"""realzoo.quants without llama.cpp: one file's measurement on organism GGUFs (clean, abliterated, and a
type gguf cannot dequantize) and the table drawn from those rows."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from realzoo import quants as Q

from tests.forensics import gguf_util as G
from tests.forensics import models as MD

ZOO = Path(__file__).resolve().parents[1] / "organisms" / "zoo"


@pytest.fixture(scope="module")
def rows(tmp_path_factory: pytest.TempPathFactory) -> list[Q.Row]:
    from tests.forensics import edits as E

    p = MD.build_random("llama", tmp_path_factory.mktemp("m") / "m", d=64, layers=2, seed=5)
    sd, cfg = E.load(p / "model.safetensors"), json.loads((p / "config.json").read_text())
    names = [G.gguf_name(k) for k, v in sd.items() if v.ndim == 2]
    qt = G.unreadable_type() or pytest.skip("this gguf dequantizes every small-block type")
    odd = G.write_llama_gguf(
        sd, cfg, tmp_path_factory.mktemp("q") / "m-odd.gguf", "Q8_0", raw_types=dict.fromkeys(names, qt)
    )
    return [
        Q.measure_file("base", "clean", "F16", ZOO / "base-gguf" / "base-F16.gguf"),
        Q.measure_file("base", "clean", "Q8_0", ZOO / "base-gguf" / "base-Q8_0.gguf"),
        Q.measure_file("abliterated", "attack", "F16", ZOO / "abliterated-gguf" / "abliterated-F16.gguf"),
        Q.measure_file("abliterated", "attack", "Q8_0", ZOO / "abliterated-gguf" / "abliterated-Q8_0.gguf"),
        Q.measure_file("odd", "clean", "ODD", odd),
    ]


def test_measure_file_reads_the_organisms(rows: list[Q.Row]) -> None:
    by = {(r.variant, r.qtype): r for r in rows}
    for t in ("F16", "Q8_0"):
        clean, attack = by[("base", t)], by[("abliterated", t)]
        assert clean.score is not None and attack.score is not None
        assert not clean.flagged and attack.flagged
        assert attack.score > 1.0 > clean.score
    assert by[("base", "Q8_0")].tensor_types["Q8_0"] > 0
    odd = by[("odd", "ODD")]  # every matrix in a type gguf cannot dequantize (Q8_1 with gguf 0.19)
    assert odd.score is None and "FORENSICS-QUANT-UNREADABLE" in odd.findings and "stored as" in odd.reason
    assert all(len(r.sha256) == 64 for r in rows)


def test_table_counts_and_margin(rows: list[Q.Row], tmp_path: Path) -> None:
    text = Q.render(rows, "0.0-test")
    assert "| F16 |" in text and "| Q8_0 |" in text and "| ODD |" in text
    assert "not read" in text
    assert "Clean files flagged: 0 of 2; attack files flagged: 2 of 2." in text
    hi = max(r.score for r in rows if r.role == "clean" and r.score is not None)
    assert f"margin ×{1.0 / hi:.2f}" in text
    assert "- abliterated: none" in text
    # the JSON the run writes loads back into the same rows
    raw = tmp_path / "q.json"
    raw.write_text(json.dumps([dataclasses.asdict(r) for r in rows]), encoding="utf-8")
    assert Q.load_rows(raw) == rows


def test_a_missed_attack_is_listed(rows: list[Q.Row]) -> None:
    r = next(r for r in rows if r.variant == "abliterated" and r.qtype == "Q8_0")
    missed = dataclasses.replace(r, flagged=False, score=0.5)
    text = Q.render([*rows[:2], rows[2], missed], "x")
    assert "- abliterated: Q8_0" in text and "attack files flagged: 1 of 2" in text


def test_a_type_llama_cpp_could_not_write_is_said() -> None:
    why = "llama.cpp could not write it (llama_model_quantize returned 1)"
    rows = [Q.Row("m", "clean", "Q1_0", None, None, False, why, {}, (), 0.0, "", 0.0)]
    text = Q.render(rows, "x")
    assert "| Q1_0 | not written |" in text and "Not written by llama.cpp for these models: Q1_0" in text


def test_merge_replaces_only_the_cells_redone(rows: list[Q.Row]) -> None:
    redo = dataclasses.replace(rows[1], score=0.1)  # base Q8_0
    extra = Q.Row("base", "clean", "Q1_0", None, None, False, "llama.cpp could not", {}, (), 0.0, "", 0.0)
    out = Q.merge(rows, [redo, extra])
    assert len(out) == len(rows) + 1
    got = {(r.variant, r.qtype): r for r in out}
    assert got[("base", "Q8_0")].score == 0.1 and got[("base", "F16")] == rows[0]
    assert [r.qtype for r in out if r.variant == "base"] == ["F16", "Q8_0", "Q1_0"]  # TYPES order
