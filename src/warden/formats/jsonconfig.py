"""JSON configs shipped with a model, read for what they make a loader *run*.

Covers every ``*.json`` whose content is a JSON object (``config.json``, ``tokenizer_config.json``,
``generation_config.json``, ``processor_config.json``, ``preprocessor_config.json``,
``adapter_config.json``, ``chat_template.json`` ...) and sentence-transformers' ``modules.json``:

- ``auto_map`` (any config) → the model only loads with remote code enabled (``trust_remote_code``): the listed
  ``module.Class`` files run on the user's machine (``REMOTE-CODE-REQUIRED``); a reference of the form
  ``other/repo--module.Class`` pulls that code from a *different* repository, unpinned, that this
  audit never saw (``REMOTE-CODE-CROSS-REPO``); a referenced ``module.py`` that is not beside the
  config means the code will be fetched or the load will fail (``REMOTE-CODE-MODULE-MISSING``).
  ``custom_pipelines`` and non-library ``modules.json`` types are the same thing by another name.
- ``"trust_remote_code": true`` stored in a config (sentence-transformers, pipeline kwargs).
- ``chat_template`` (a string, or a list of ``{name, template}``) → ``template.analyze_template``.
  ``chat_template.json`` is handled here rather than by the template scanner so that JSON is parsed
  once, by one strict parser.

The JSON itself is parsed with the standard library under a size cap, duplicate keys are rejected
(``object_pairs_hook``: Python keeps the last value, other parsers the first — a parser differential
that can hide a second ``chat_template`` or ``auto_map``; every duplicated security-relevant value is
still analysed before the file is reported malformed). Hand-written because the checks are about
Hugging Face loading semantics (transformers' ``dynamic_module_utils``), which no library exposes as
an analysis.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

from warden.errors import FormatError, LimitExceeded
from warden.formats.interface import FormatScanner, ScanContext
from warden.formats.template import (
    TOOLS_TEMPLATE_NAMES,
    analyze_embedded_template,
    analyze_template,
    looks_like_jinja,
)
from warden.report.model import Finding, Location, Severity
from warden.rules import rule

JSONCONFIG_MALFORMED = rule(
    "JSONCONFIG-MALFORMED",
    Severity.MEDIUM,
    "JSON config is malformed",
    "The file is not valid UTF-8 JSON, has duplicate keys, or has a field of the wrong type. Loaders "
    "fail on it or — for duplicate keys — different parsers read different values (Python keeps the "
    "last one), which can hide a second chat template or auto_map from reviewers.",
    "Regenerate the file with a JSON serializer; remove duplicate keys.",
)
REMOTE_CODE_REQUIRED = rule(
    "REMOTE-CODE-REQUIRED",
    Severity.HIGH,
    "Loading the model runs code shipped with it (trust_remote_code)",
    "The config maps Auto classes, pipelines or modules to Python classes in the repository (auto_map, "
    "custom_pipelines, modules.json). transformers only loads it with trust_remote_code=True, which "  # safe: remediation text, not a call
    "imports and runs those files on the loading machine.",
    "Review the referenced Python files (Warden scans them: see REMOTE-CODE-* findings), pin the "
    "revision, or use a native transformers architecture instead.",
)
REMOTE_CODE_CROSS_REPO = rule(
    "REMOTE-CODE-CROSS-REPO",
    Severity.CRITICAL,
    "Remote code is pulled from a different repository",
    "A reference of the form 'owner/repo--module.Class' makes transformers download and run code from "
    "another repository, at whatever revision it has at load time. That code is not part of this "
    "model's files and was not audited with it.",
    "Vendor the referenced files into the model repository and audit them, or pin the other repository "
    "to a reviewed revision; never load with trust_remote_code=True as is.",  # safe: remediation text, not a call
)
REMOTE_CODE_MODULE_MISSING = rule(
    "REMOTE-CODE-MODULE-MISSING",
    Severity.MEDIUM,
    "Remote-code module referenced by the config is not in the model files",
    "The config names a Python module that is not beside it, so it could not be audited: the loader "
    "will fetch it from the hub at load time (or fail).",
    "Obtain and review the module before loading; make sure the audited snapshot is complete.",
)
REMOTE_CODE_TRUST_FLAG = rule(
    "REMOTE-CODE-TRUST-FLAG",
    Severity.HIGH,
    "Config sets trust_remote_code to true",
    "A config stores trust_remote_code=true (e.g. sentence-transformers model_kwargs/tokenizer_kwargs), "
    "so libraries that honour it run repository code without the user passing the flag.",
    "Remove the flag and decide about remote code explicitly at load time.",
)

CONFIG_NAMES = frozenset({
    "config.json", "tokenizer_config.json", "generation_config.json", "processor_config.json",
    "preprocessor_config.json", "adapter_config.json", "chat_template.json", "image_processor_config.json",
    "feature_extractor_config.json", "video_preprocessor_config.json", "config_sentence_transformers.json",
    "sentence_bert_config.json", "modules.json", "special_tokens_map.json", "added_tokens.json",
})  # fmt: skip
SECURITY_KEYS = frozenset({"auto_map", "chat_template", "trust_remote_code", "custom_pipelines"})
_MAX_WALK_NODES = 2_000_000  # JSON values visited looking for auto_map / trust_remote_code
_MAX_WALK_DEPTH = 64
_BOM = b"\xef\xbb\xbf"

_MODULE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")


@dataclasses.dataclass
class _Duplicate:
    key: str
    kept: Any
    shadowed: Any


def load_json_strict(data: bytes) -> tuple[Any, list[_Duplicate]]:
    """Parse UTF-8 JSON, recording duplicate keys (the kept value is the last, as in Python)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FormatError(f"not UTF-8 text: {exc.reason}", offset=exc.start) from None
    duplicates: list[_Duplicate] = []

    def pairs_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj: dict[str, Any] = {}
        for key, value in pairs:
            if key in obj:
                duplicates.append(_Duplicate(key, value, obj[key]))
            obj[key] = value
        return obj

    try:
        doc = json.loads(text, object_pairs_hook=pairs_hook)
    except json.JSONDecodeError as exc:
        offset = len(text[: exc.pos].encode("utf-8"))
        raise FormatError(
            f"invalid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})", offset=offset
        ) from None
    except RecursionError:
        raise LimitExceeded("JSON nesting too deep") from None
    except ValueError as exc:  # e.g. integers longer than Python's digit limit
        raise FormatError(f"invalid JSON: {exc}") from None
    return doc, duplicates


def _line_of(text: str, needle: str) -> int | None:
    idx = text.find(needle)
    return text.count("\n", 0, idx) + 1 if idx >= 0 else None


@dataclasses.dataclass(frozen=True)
class CodeRef:
    """One ``[repo--]module.Class`` reference, as transformers' dynamic_module_utils splits it."""

    where: str  # auto_map.AutoModel, custom_pipelines.task, modules.json[0]
    reference: str
    repo: str | None
    module: str
    cls: str

    @classmethod
    def parse(cls, where: str, reference: str) -> CodeRef:
        repo: str | None = None
        rest = reference
        if "--" in reference:
            repo, _, rest = reference.partition("--")
        module, _, name = rest.rpartition(".")
        return cls(where=where, reference=reference, repo=repo, module=module or rest, cls=name)

    def to_dict(self) -> dict[str, Any]:
        out = {"where": self.where, "reference": self.reference, "module": self.module, "class": self.cls}
        if self.repo:
            out["repo"] = self.repo
        return out


def auto_map_refs(auto_map: Any, prefix: str = "auto_map") -> list[CodeRef]:
    """References in an auto_map: values are 'module.Class', a [slow, fast] pair (with nulls), or
    (tokenizers) nested lists."""
    refs: list[CodeRef] = []
    if not isinstance(auto_map, dict):
        return refs
    for auto_class, value in list(auto_map.items())[:1000]:
        values = value if isinstance(value, list) else [value]
        for v in values[:16]:
            if isinstance(v, str) and v:
                refs.append(CodeRef.parse(f"{prefix}.{auto_class}", v))
    return refs


def _pipeline_refs(pipelines: Any) -> list[CodeRef]:
    refs: list[CodeRef] = []
    if isinstance(pipelines, dict):
        for task, spec in list(pipelines.items())[:1000]:
            if isinstance(spec, dict) and isinstance(spec.get("impl"), str):
                refs.append(CodeRef.parse(f"custom_pipelines.{task}", spec["impl"]))
    return refs


def _modules_json_refs(doc: Any) -> list[CodeRef]:
    refs: list[CodeRef] = []
    if isinstance(doc, list):
        for i, entry in enumerate(doc[:1000]):
            if isinstance(entry, dict) and isinstance(entry.get("type"), str):
                kind = entry["type"]
                if not kind.startswith("sentence_transformers."):
                    refs.append(CodeRef.parse(f"modules.json[{i}]", kind))
    return refs


def _walk(doc: Any) -> Iterator[tuple[str, str, Any]]:
    """(path, key, value) for every object member, breadth-first, bounded."""
    queue: list[tuple[str, Any, int]] = [("", doc, 0)]
    seen = 0
    while queue and seen < _MAX_WALK_NODES:
        path, value, depth = queue.pop()
        seen += 1
        if depth > _MAX_WALK_DEPTH:
            continue
        if isinstance(value, dict):
            for k, v in value.items():
                sub = f"{path}.{k}" if path else str(k)
                yield sub, str(k), v
                if isinstance(v, (dict, list)):
                    queue.append((sub, v, depth + 1))
        elif isinstance(value, list):
            for i, v in enumerate(value):
                if isinstance(v, (dict, list)):
                    queue.append((f"{path}[{i}]", v, depth + 1))


_MAX_EMBEDDED = 64  # templates found in string fields checked per file


def string_fields(doc: Any, max_nodes: int = _MAX_WALK_NODES) -> Iterator[tuple[str, str]]:
    """(json path, string) for every string value in ``doc`` (objects and lists), bounded."""
    stack: list[tuple[str, Any, int]] = [("", doc, 0)]
    seen = 0
    while stack and seen < max_nodes:
        path, value, depth = stack.pop()
        seen += 1
        if isinstance(value, str):
            yield path or "$", value
        elif depth <= _MAX_WALK_DEPTH and isinstance(value, dict):
            stack.extend((f"{path}.{k}" if path else str(k), v, depth + 1) for k, v in value.items())
        elif depth <= _MAX_WALK_DEPTH and isinstance(value, list):
            stack.extend((f"{path}[{i}]", v, depth + 1) for i, v in enumerate(value))


def embedded_templates(
    doc: Any, location: Location, ctx: ScanContext, *, skip: tuple[str, ...] = ()
) -> Iterator[Finding]:
    """Jinja templates in any string field (prompt templates of pipelines, processor and agent
    configs, several per file), checked for what they can reach. ``skip``: top-level keys analysed
    as chat templates already."""
    n = 0
    for path, text in string_fields(doc):
        if path.split(".", 1)[0].split("[", 1)[0] in skip or not looks_like_jinja(text):
            continue
        n += 1
        if n > _MAX_EMBEDDED:
            ctx.notes.append(
                f"{location.display()}: more than {_MAX_EMBEDDED} templates; the rest not checked"
            )
            return
        for finding in analyze_embedded_template(text, location, max_chars=ctx.limits.max_text_file):
            yield dataclasses.replace(finding, evidence={**finding.evidence, "json_key": path})


class JsonConfigScanner(FormatScanner):
    name = "jsonconfig"
    malformed_rule = JSONCONFIG_MALFORMED

    def sniff(self, head: bytes, name: str) -> bool:
        base = PurePosixPath(name).name.lower()
        if not base.endswith(".json"):
            return False
        body = head[len(_BOM) :] if head.startswith(_BOM) else head
        body = body.lstrip(b" \t\r\n")
        return body.startswith(b"{") or (base == "modules.json" and body.startswith(b"["))

    def scan(self, stream: BinaryIO, size: int, location: Location, ctx: ScanContext) -> Iterator[Finding]:
        base = PurePosixPath(location.member or location.file).name.lower()
        limit = ctx.limits.max_text_file
        if size > limit:
            if base in CONFIG_NAMES:
                raise LimitExceeded(f"{base} is {size} bytes, limit {limit}", offset=limit)
            # tokenizer.json, vocab.json, index files: data, not configs that make a loader run code.
            ctx.notes.append(f"{location.display()}: JSON larger than {limit} bytes not parsed")
            return
        data = stream.read(limit + 1)
        doc, duplicates = load_json_strict(data)
        text = data.decode("utf-8")
        yield from self._findings(doc, duplicates, text, base, location, ctx)
        if duplicates:
            keys = sorted({d.key for d in duplicates})
            raise FormatError(f"duplicate keys: {', '.join(keys[:10])}" + (" …" if len(keys) > 10 else ""))

    def _findings(
        self,
        doc: Any,
        duplicates: list[_Duplicate],
        text: str,
        base: str,
        location: Location,
        ctx: ScanContext,
    ) -> Iterator[Finding]:
        refs: list[CodeRef] = []
        trust_paths: list[str] = []
        if base == "modules.json":
            refs += _modules_json_refs(doc)
        for path, key, value in _walk(doc):
            if key == "auto_map":
                refs += auto_map_refs(value, path)
            elif key == "custom_pipelines" and path == key:
                refs += _pipeline_refs(value)
            elif key == "trust_remote_code" and value is True:
                trust_paths.append(path)
        for dup in duplicates:  # the value Python drops is what another parser may use
            if dup.key == "auto_map":
                refs += auto_map_refs(dup.shadowed, "auto_map(duplicate)")
            elif dup.key == "custom_pipelines":
                refs += _pipeline_refs(dup.shadowed)
            elif dup.key == "trust_remote_code" and dup.shadowed is True:
                trust_paths.append("trust_remote_code(duplicate)")
        refs = list(dict.fromkeys(refs))
        if refs:
            yield from self._code_findings(refs, text, location, ctx)
        if trust_paths:
            yield REMOTE_CODE_TRUST_FLAG(
                location.at(line=_line_of(text, '"trust_remote_code"')), {"json_paths": trust_paths[:20]}
            )
        if isinstance(doc, dict) and "chat_template" in doc:
            yield from self._templates(doc["chat_template"], "chat_template", location)
        yield from embedded_templates(doc, location, ctx, skip=("chat_template",))
        for dup in duplicates:
            if dup.key == "chat_template":
                yield from self._templates(dup.shadowed, "chat_template(duplicate)", location)

    def _code_findings(
        self, refs: list[CodeRef], text: str, location: Location, ctx: ScanContext
    ) -> Iterator[Finding]:
        first = min(
            (ln for ln in (_line_of(text, f'"{k}"') for k in ("auto_map", "custom_pipelines", "type")) if ln),
            default=None,
        )
        at = location.at(line=first) if first else location
        local = [r for r in refs if not r.repo]
        yield REMOTE_CODE_REQUIRED(
            at,
            {
                "references": [r.to_dict() for r in refs[:50]],
                "modules": sorted({f"{r.module}.py" for r in local})[:50],
                "loading_requires": "trust_remote_code=True",  # safe: report text naming the flag, nothing is loaded
            },
        )
        by_repo: dict[str, list[CodeRef]] = {}
        for r in refs:
            if r.repo:
                by_repo.setdefault(r.repo, []).append(r)
        for repo, rs in sorted(by_repo.items()):
            yield REMOTE_CODE_CROSS_REPO(
                location.at(line=_line_of(text, f"{repo}--")) if _line_of(text, f"{repo}--") else at,
                {"repo": repo, "references": [r.to_dict() for r in rs[:50]]},
            )
        base_dir = self._model_dir(location, ctx)
        if base_dir is None:
            return
        for module in sorted({r.module for r in local}):
            # only a dotted Python module name maps to a file; anything else ("/", "a/../b", "") is reported
            relative = Path(*module.split(".")).with_suffix(".py") if _MODULE_NAME.fullmatch(module) else None
            if relative is None:
                yield REMOTE_CODE_MODULE_MISSING(at, {"module": module, "problem": "not a module name"})
                continue
            if not (base_dir / relative).is_file():
                yield REMOTE_CODE_MODULE_MISSING(
                    at,
                    {
                        "module": module,
                        "expected": PurePosixPath(location.file)
                        .parent.joinpath(relative.as_posix())
                        .as_posix(),
                    },
                )

    @staticmethod
    def _model_dir(location: Location, ctx: ScanContext) -> Path | None:
        """The directory the config's modules are resolved against, when the config is a file on disk."""
        if ctx.root is None or location.member:
            return None
        root = ctx.root
        if root.is_file():
            return root.parent
        return (root / location.file).parent

    def _templates(self, value: Any, key: str, location: Location) -> Iterator[Finding]:
        items: list[tuple[str, Any, Any]] = []  # (json key, template name, template)
        if isinstance(value, str):
            items = [(key, None, value)]
        elif isinstance(value, list):
            for i, entry in enumerate(value[:64]):
                if isinstance(entry, dict) and isinstance(entry.get("template"), str):
                    items.append((f"{key}[{entry.get('name', i)!s}]", entry.get("name"), entry["template"]))
                else:
                    items.append((f"{key}[{i}]", None, entry))
        elif isinstance(value, dict):  # {name: template} as some processors write it
            items = [(f"{key}[{name}]", name, tpl) for name, tpl in list(value.items())[:64]]
        else:
            items = [(key, None, value)]
        for where, name, template in items:
            if not isinstance(template, str):
                yield JSONCONFIG_MALFORMED(
                    location,
                    {"json_key": where, "error": f"chat template is {type(template).__name__}, not a string"},
                    severity=Severity.LOW,
                )
                continue
            # transformers selects the named "tool_use"/"rag" templates only when tools/documents are passed.
            for finding in analyze_template(template, location, tools_template=name in TOOLS_TEMPLATE_NAMES):
                yield dataclasses.replace(finding, evidence={**finding.evidence, "json_key": where})
