"""The drift suite as data: counterfactual target pairs x prompt templates (JSONL, validated on load).

A drift suite file is JSON Lines; every line is one object, either a **pair** or a **template**::

    {"type": "pair", "id": "france-germany", "category": "country", "a": "France", "b": "Germany"}
    {"type": "template", "id": "opinion-think", "form": "opinion",
     "phrasings": ["What do you think of {target}?", "How do you feel about {target}?"],
     "categories": ["country", "company"]}

pair
    ``id`` (letters, digits, ``._:-``; unique among pairs), ``category`` (free text: country, party,
    religion, company, product, public_figure, group, or your own), ``a`` and ``b``: the two targets,
    written as they read inside a sentence ("the Labour Party", "immigrants"). Every prompt asked about
    ``a`` is asked, word for word, about ``b``.
template
    ``id`` (unique among templates; it is the statistical cluster: all phrasings of a template are one
    unit), ``form`` (``opinion``, ``recommendation``, ``summary``, ``paragraph`` or your own), ``phrasings``
    (1-20 strings, each with exactly one ``{target}`` and no other braces), optional ``categories``: the
    pair categories it applies to (absent: every category).

A file of pairs only is asked with the built-in templates (``warden eval M --suites drift:my.jsonl``
with your company, products or region). Unknown keys, a missing field, a duplicate id, a phrasing without
``{target}`` or a pair no template applies to is an error naming the file, the line and the problem.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from warden.errors import WardenError

DATA = Path(__file__).with_name("data")
BUILTIN = DATA / "drift.jsonl"
MAX_FILE_BYTES = 8 * 1024 * 1024
MAX_LINE_CHARS = 64 * 1024
MAX_ROWS = 10_000
FORMS = ("opinion", "recommendation", "summary", "paragraph")

_ID = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$"
Text = Annotated[str, Field(min_length=1, max_length=200)]


class DriftSuiteError(WardenError):
    """A drift suite file is missing or malformed."""


def _one_line(v: str) -> str:
    if any(c in v for c in "\r\n\x00"):
        raise ValueError("must be one line of text")
    if v != v.strip():
        raise ValueError("must not start or end with spaces")
    return v


class PairRow(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["pair"]
    id: Annotated[str, Field(pattern=_ID)]
    category: Annotated[str, Field(min_length=1, max_length=60)]
    a: Text
    b: Text

    _one = field_validator("category", "a", "b")(_one_line)

    @model_validator(mode="after")
    def _distinct(self) -> PairRow:
        if self.a.casefold() == self.b.casefold():
            raise ValueError("a and b must be different targets")
        return self


class TemplateRow(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["template"]
    id: Annotated[str, Field(pattern=_ID)]
    form: Annotated[str, Field(min_length=1, max_length=40)]
    phrasings: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=500)]], Field(min_length=1, max_length=20)
    ]
    categories: (
        Annotated[list[Annotated[str, Field(min_length=1, max_length=60)]], Field(min_length=1)] | None
    ) = None

    @field_validator("phrasings")
    @classmethod
    def _placeholder(cls, v: list[str]) -> list[str]:
        for p in v:
            _one_line(p)
            if p.count("{target}") != 1:
                raise ValueError(f"phrasing {p!r} must contain exactly one {{target}}")
            if re.search(r"[{}]", p.replace("{target}", "")):
                raise ValueError(f"phrasing {p!r} has braces other than {{target}}")
        if len(set(v)) != len(v):
            raise ValueError("phrasings must be distinct")
        return v


@dataclass(frozen=True)
class Pair:
    id: str
    category: str
    a: str
    b: str


@dataclass(frozen=True)
class Template:
    id: str
    form: str
    phrasings: tuple[str, ...]
    categories: tuple[str, ...] | None = None

    def applies(self, category: str) -> bool:
        return self.categories is None or category in self.categories


@dataclass(frozen=True)
class Item:
    """One counterfactual prompt pair: the same phrasing asked about ``a`` and about ``b``."""

    pair_id: str
    template_id: str  # the cluster
    form: str
    phrasing: int
    prompt_a: str
    prompt_b: str


@dataclass(frozen=True)
class DriftSuite:
    pairs: tuple[Pair, ...]
    templates: tuple[Template, ...]
    source: str  # "builtin" or the user's path
    digest: str  # sha256 of the pair and template rows as loaded
    builtin_templates: bool = False  # the file had no templates: the built-in ones were used

    def templates_for(self, pair: Pair) -> list[Template]:
        return [t for t in self.templates if t.applies(pair.category)]

    def items(self) -> list[Item]:
        out = []
        for p in self.pairs:
            for t in self.templates_for(p):
                for j, ph in enumerate(t.phrasings):
                    out.append(
                        Item(p.id, t.id, t.form, j, ph.replace("{target}", p.a), ph.replace("{target}", p.b))
                    )
        return out

    def coverage(self) -> dict[str, object]:
        """What the suite asks about: its categories, targets and forms (everything else it cannot see)."""
        return {
            "categories": sorted({p.category for p in self.pairs}),
            "targets": sorted({t for p in self.pairs for t in (p.a, p.b)}, key=str.casefold),
            "forms": sorted({t.form for t in self.templates}),
            "n_pairs": len(self.pairs),
            "n_templates": len(self.templates),
            "n_prompt_pairs": len(self.items()),
        }


def _read_rows(path: Path) -> list[tuple[int, dict[str, object]]]:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise DriftSuiteError(f"drift suite larger than {MAX_FILE_BYTES} bytes", path=str(path))
        with path.open("rb") as fh:
            raw = fh.read(MAX_FILE_BYTES + 1)
        text = raw.decode("utf-8")
    except OSError as exc:
        raise DriftSuiteError(f"cannot read drift suite: {exc.strerror or exc}", path=str(path)) from exc
    except UnicodeDecodeError as exc:
        raise DriftSuiteError(f"drift suite is not UTF-8 (byte {exc.start})", path=str(path)) from exc
    rows: list[tuple[int, dict[str, object]]] = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        if len(line) > MAX_LINE_CHARS:
            raise DriftSuiteError(f"line {n} is longer than {MAX_LINE_CHARS} characters", path=str(path))
        if len(rows) >= MAX_ROWS:
            raise DriftSuiteError(f"more than {MAX_ROWS} rows", path=str(path))
        try:
            obj = json.loads(line)
        except ValueError as exc:
            raise DriftSuiteError(f"line {n} is not JSON: {exc}", path=str(path)) from exc
        if not isinstance(obj, dict):
            raise DriftSuiteError(f"line {n} is not a JSON object", path=str(path))
        rows.append((n, obj))
    return rows


def _explain(exc: ValidationError) -> str:
    errs = exc.errors(include_url=False)
    parts = []
    for e in errs[:3]:
        loc = ".".join(str(x) for x in e.get("loc", ()) if x not in ("pair", "template"))
        parts.append(f"{loc or 'row'}: {e.get('msg', 'invalid')}")
    more = f" (+{len(errs) - 3} more)" if len(errs) > 3 else ""
    return "; ".join(parts) + more


def _parse(path: Path) -> tuple[list[Pair], list[Template], hashlib._Hash]:
    pairs: list[Pair] = []
    templates: list[Template] = []
    seen_p: set[str] = set()
    seen_t: set[str] = set()
    h = hashlib.sha256()
    for n, obj in _read_rows(path):
        kind = obj.get("type")
        try:
            if kind == "pair":
                pr = PairRow.model_validate(obj)
                if pr.id in seen_p:
                    raise DriftSuiteError(f"line {n}: duplicate pair id {pr.id!r}", path=str(path))
                seen_p.add(pr.id)
                pairs.append(Pair(pr.id, pr.category, pr.a, pr.b))
            elif kind == "template":
                tr = TemplateRow.model_validate(obj)
                if tr.id in seen_t:
                    raise DriftSuiteError(f"line {n}: duplicate template id {tr.id!r}", path=str(path))
                seen_t.add(tr.id)
                cats = tuple(tr.categories) if tr.categories is not None else None
                templates.append(Template(tr.id, tr.form, tuple(tr.phrasings), cats))
            else:
                raise DriftSuiteError(
                    f'line {n}: \'type\' must be "pair" or "template", not {kind!r}', path=str(path)
                )
        except ValidationError as exc:
            raise DriftSuiteError(f"line {n}: {_explain(exc)}", path=str(path)) from None
        h.update(json.dumps(obj, sort_keys=True, ensure_ascii=False).encode("utf-8"))
        h.update(b"\n")
    return pairs, templates, h


def load_drift_suite(path: str | Path | None = None) -> DriftSuite:
    """The built-in suite (``None`` or ``"drift"``), or a user's JSONL (its templates, or the built-in
    templates when it has none)."""
    builtin = path is None or str(path) == "drift"
    p = BUILTIN if builtin else Path(str(path))
    if not builtin and not p.is_file():
        raise DriftSuiteError("no such drift suite file", path=str(p))
    pairs, templates, h = _parse(p)
    use_builtin_t = False
    if not templates:
        _, templates, _h = _parse(BUILTIN)
        use_builtin_t = True
        h.update(b"builtin-templates:" + _h.hexdigest().encode())
    if not pairs:
        raise DriftSuiteError("drift suite has no pair rows", path=str(p))
    suite = DriftSuite(
        tuple(pairs), tuple(templates), "builtin" if builtin else str(p), h.hexdigest(), use_builtin_t
    )
    for pr in pairs:
        if not suite.templates_for(pr):
            raise DriftSuiteError(
                f"no template applies to pair {pr.id!r} (category {pr.category!r})", path=str(p)
            )
    return suite


def split_drift_suites(names: Sequence[str]) -> tuple[list[str], list[str]]:
    """(other suites, drift suites) from ``--suites`` names: ``drift`` is the built-in drift suite,
    ``drift:PATH`` a user's drift JSONL."""
    other, drift = [], []
    for n in names:
        if n == "drift":
            drift.append("drift")
        elif n.startswith("drift:"):
            if not n[6:]:
                raise DriftSuiteError("drift: needs a path, e.g. --suites drift:my_targets.jsonl")
            drift.append(n[6:])
        else:
            other.append(n)
    return other, drift
