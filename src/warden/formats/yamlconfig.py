"""YAML configs shipped with a model (``*.yaml`` / ``*.yml``: training and serving configs, model
cards' metadata, pipeline and agent configs): Python object tags and the Jinja templates they hold.

The document is *composed*, never constructed: ``yaml.compose_all`` with the safe loader builds the
node graph (tags and scalars) without calling any constructor, so ``!!python/object/apply:os.system``
is seen as a tag, not run. Such tags are what ``yaml.load`` / ``yaml.unsafe_load`` / ``FullLoader``
of older PyYAML turn into calls (``YAML-PYTHON-TAG``, critical: ``apply``/``object``/``new``/``name``/
``module``). Every string scalar that holds Jinja (``{{``/``{%``) — chat templates under any key,
prompt templates, several per file — goes through the template reachability checks
(``template.analyze_embedded_template``); a ``chat_template`` key gets the full chat-template
analysis. Aliases are followed once (a node reached twice is not walked again), so "billion laughs"
documents cost their size, not their expansion.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import Any, BinaryIO

import yaml

from warden.errors import FormatError, LimitExceeded
from warden.formats.interface import FormatScanner, ScanContext
from warden.formats.template import analyze_embedded_template, analyze_template, looks_like_jinja
from warden.report.model import Finding, Location, Severity
from warden.rules import rule

YAML_PYTHON_TAG = rule(
    "YAML-PYTHON-TAG",
    Severity.CRITICAL,
    "YAML config carries a Python object tag",
    "The YAML uses a !!python/... tag (object/apply, object/new, name, module). Loading it with "
    "yaml.load, yaml.unsafe_load or an old FullLoader imports and calls what the tag names. Safe "
    "loaders refuse it; nothing in a config needs it.",
    "Do not load the file with an unsafe YAML loader; remove the tag.",
)
YAML_MALFORMED = rule(
    "YAML-MALFORMED",
    Severity.LOW,
    "YAML config could not be parsed",
    "The file is not valid YAML (or is nested too deeply), so the templates and tags in it were not checked.",
    "Fix the YAML syntax.",
)

_SUFFIXES = (".yaml", ".yml")
_MAX_NODES = 2_000_000
_MAX_TEMPLATES = 64
_CALLING = (
    "tag:yaml.org,2002:python/object",
    "tag:yaml.org,2002:python/name",
    "tag:yaml.org,2002:python/module",
)


class YamlConfigScanner(FormatScanner):
    name = "yamlconfig"
    malformed_rule = YAML_MALFORMED

    def sniff(self, head: bytes, name: str) -> bool:
        return PurePosixPath(name).name.lower().endswith(_SUFFIXES) and b"\x00" not in head

    def scan(self, stream: BinaryIO, size: int, location: Location, ctx: ScanContext) -> Iterator[Finding]:
        limit = ctx.limits.max_text_file
        if size > limit:
            raise LimitExceeded(f"YAML file is {size} bytes, limit {limit}", offset=limit)
        data = stream.read(limit + 1)
        try:
            text = data.decode("utf-8-sig")
            docs = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
        except UnicodeDecodeError as exc:
            raise FormatError(f"YAML is not UTF-8 text: {exc.reason}", offset=exc.start) from None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            raise FormatError(f"YAML: {exc}"[:300], offset=getattr(mark, "index", None)) from None
        except RecursionError:
            raise FormatError("YAML nested too deeply to parse") from None
        n_templates = 0
        for path, node in _walk(docs):
            tag = str(node.tag)
            if tag.startswith(_CALLING):
                line = node.start_mark.line + 1
                yield YAML_PYTHON_TAG(location.at(line=line), {"tag": tag[:200], "yaml_path": path[:300]})
            if not isinstance(node, yaml.ScalarNode) or not isinstance(node.value, str):
                continue
            value = node.value
            if not looks_like_jinja(value):
                continue
            n_templates += 1
            if n_templates > _MAX_TEMPLATES:
                ctx.notes.append(
                    f"{location.display()}: more than {_MAX_TEMPLATES} templates; the rest not checked"
                )
                return
            line = node.start_mark.line + 1
            if path.rsplit(".", 1)[-1] == "chat_template":
                found = analyze_template(value, location.at(line=line))
            else:
                found = analyze_embedded_template(value, location.at(line=line), max_chars=limit)
            for finding in found:
                yield dataclasses.replace(finding, evidence={**finding.evidence, "yaml_path": path[:300]})


def _walk(docs: list[Any]) -> Iterator[tuple[str, yaml.Node]]:
    """(path, node) for every node of the composed documents, each node once."""
    stack: list[tuple[str, Any]] = [
        (f"[{i}]", d) for i, d in reversed(list(enumerate(docs))) if d is not None
    ]
    seen: set[int] = set()
    while stack:
        path, node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if len(seen) > _MAX_NODES:
            raise LimitExceeded(f"YAML has more than {_MAX_NODES} nodes")
        yield path, node
        if isinstance(node, yaml.MappingNode):
            for key, value in reversed(node.value):
                name = key.value if isinstance(key, yaml.ScalarNode) else "?"
                stack.append((f"{path}.{name}", value))
                stack.append((f"{path}.<key>", key))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((f"{path}[{i}]", v) for i, v in reversed(list(enumerate(node.value))))
