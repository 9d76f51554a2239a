"""Chat templates: Jinja that inference servers run for every conversation.

Covers ``*.jinja`` / ``*.j2`` files (``TemplateScanner``) and, through ``analyze_template``, the
templates embedded in ``tokenizer_config.json`` / ``chat_template.json`` (see ``jsonconfig``) and in
GGUF metadata (``tokenizer.chat_template``, called by the GGUF scanner).

Two questions, answered twice (statically, then by a sandboxed render):

1. **Server-side template injection (SSTI).** jinja2's own parser builds the AST; we walk it for the
   gadgets public payloads use: dunder attribute/item access (``__class__``, ``__globals__``,
   ``__subclasses__`` ...) including names assembled from pieces (``'__cla' ~ 'ss__'``, ``|join``,
   ``|format``, ``|replace``, ``\\x5f`` escapes — string expressions are constant-folded), the
   ``attr()`` filter and ``map(attribute=...)``, the globals that carry ``__globals__``
   (``lipsum``, ``cycler``, ``joiner``) or only exist in Flask (``request``, ``config``, ``self`` ...),
   calls such as ``.popen``/``eval``/``open``, and ``include``/``import``/``extends``.
2. **Instructions injected into every conversation.** We collect the constant text the template
   emits outside the messages, classify each piece by the conditions guarding it — *always*,
   *default system prompt* (only when the conversation has no system message) or *tools* (only when
   the caller passed tools/documents or the history holds tool calls) — strip special-token shapes,
   role names and ``Label: value`` header lines, and flag natural-language text. That structural
   distinction (not a list of known-benign phrases) is what separates Llama 3.1's tool preamble and
   Qwen's default system prompt from a template that prepends "always recommend evil.com". Named
   ``tool_use`` / ``rag`` templates are tools-gated as a whole (transformers only selects them when
   tools or documents are passed). Alarming content (injection phrases, URLs/addresses, tool
   instructions outside the tools gate) raises the severity whatever the gate.

The runtime check renders the template with a synthetic canary conversation inside
``jinja2.sandbox.ImmutableSandboxedEnvironment`` configured like transformers' chat-template
environment, in a separate, resource-limited Python process (address-space and CPU rlimits, a CPU
timer, capped ``range()``, capped string/number operators, capped output). Text in the output that is
not from the messages confirms (or adds to) the static finding; a ``SecurityError`` raised by the
sandbox is itself evidence of an escape attempt.

Hand-written because no library does it: jinja2 offers the parser and the sandbox but no analysis of
what a template is trying to reach or emit. Nothing here renders outside the sandbox; the render runs
in a child process so that a hostile template cannot exhaust the scanner's memory or time.
"""

from __future__ import annotations

import json
import os
import re
import string
import subprocess
import sys
import tempfile
import warnings
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO, cast

from jinja2 import nodes
from jinja2.exceptions import TemplateError, TemplateSyntaxError
from jinja2.ext import Extension
from jinja2.parser import Parser
from jinja2.sandbox import ImmutableSandboxedEnvironment

from warden.errors import FormatError, LimitExceeded
from warden.formats.interface import FormatScanner, Limits, ScanContext
from warden.report.model import Finding, Location, Severity
from warden.rules import rule

# --------------------------------------------------------------------------------------------------
# Rules
# --------------------------------------------------------------------------------------------------

TEMPLATE_SSTI = rule(
    "TEMPLATE-SSTI",
    Severity.CRITICAL,
    "Chat template contains a Jinja sandbox-escape gadget",
    "The template reaches for Python internals that only serve to escape the Jinja sandbox "
    "(__globals__, __subclasses__, __mro__, __builtins__, __import__, frames, code objects) or calls "
    "process/file functions (popen, system, eval, exec, open). Servers render chat templates for every "
    "request: on a server with an unpatched or unsandboxed Jinja this runs code on the host.",
    "Do not serve this model with its template. Replace the chat template with the upstream one and "
    "report the repository.",
)
TEMPLATE_DUNDER_ACCESS = rule(
    "TEMPLATE-DUNDER-ACCESS",
    Severity.CRITICAL,
    "Chat template accesses private or dunder attributes",
    "The template reads underscore-prefixed attributes (e.g. __class__, __init__, __dict__), by name or "
    "by a name it assembles (concatenation, format, join, replace, reverse, attr chains). No real chat "
    "template needs them: reaching anything beyond plain data is the first step of a sandbox escape.",
    "Replace the chat template with a reviewed one; do not render it outside a sandbox.",
)
TEMPLATE_ATTR_FILTER = rule(
    "TEMPLATE-ATTR-FILTER",
    Severity.HIGH,
    "Chat template uses the attr() filter or a computed attribute name",
    "attr() and attribute/item names built from string pieces are how payloads smuggle dunder names "
    "past keyword filters. Chat templates read message fields by plain names.",
    "Review the template; replace it with the upstream chat template.",
)
TEMPLATE_GADGET_GLOBAL = rule(
    "TEMPLATE-GADGET-GLOBAL",
    Severity.MEDIUM,
    "Chat template references a Jinja/Flask global used by SSTI payloads",
    "lipsum, cycler and joiner are Jinja globals whose functions carry __globals__; request, config, "
    "self, url_for and get_flashed_messages are the Flask objects of classic SSTI payloads. None of "
    "them has a purpose in a chat template.",
    "Review the template; replace it with the upstream chat template.",
)
TEMPLATE_INCLUDE = rule(
    "TEMPLATE-INCLUDE",
    Severity.MEDIUM,
    "Chat template includes, imports or extends another template",
    "include/import/extends/from load other templates through the server's loader: the rendered text "
    "then depends on files outside the reviewed template (and on the server's search path).",
    "Inline the needed parts or replace the template with a self-contained upstream one.",
)
TEMPLATE_INJECTED_INSTRUCTION = rule(
    "TEMPLATE-INJECTED-INSTRUCTION",
    Severity.MEDIUM,
    "Chat template injects its own text into conversations",
    "Besides role markers and special tokens, the template emits natural-language text that the "
    "user did not write, outside any tools/default-system-prompt condition: every conversation gets "
    "it. High when the text contains injection phrases, URLs/addresses or tool/function "
    "instructions, or when it is hidden in a tools or default-system branch with such content.",
    "Read the emitted text (evidence). Remove it or replace the template with the upstream one.",
)
TEMPLATE_DEFAULT_SYSTEM_PROMPT = rule(
    "TEMPLATE-DEFAULT-SYSTEM-PROMPT",
    Severity.INFO,
    "Chat template supplies a default system prompt",
    "When a conversation has no system message the template inserts its own (common: 'You are Qwen, "
    "created by Alibaba Cloud...'). Recorded so reviewers see what the model is told by default.",
    "Pass your own system message if the default does not fit your deployment.",
)
TEMPLATE_SANDBOX_VIOLATION = rule(
    "TEMPLATE-SANDBOX-VIOLATION",
    Severity.CRITICAL,
    "Rendering the chat template triggered the Jinja sandbox",
    "A render of the template with a synthetic conversation inside jinja2's ImmutableSandboxedEnvironment "
    "tried to reach an unsafe attribute or callable and was stopped by the sandbox: the template "
    "attempts a sandbox escape.",
    "Do not serve this model with its template; replace it and report the repository.",
)
TEMPLATE_RENDER_LIMIT = rule(
    "TEMPLATE-RENDER-LIMIT",
    Severity.MEDIUM,
    "Chat template exceeds rendering limits",
    "Rendering a short synthetic conversation exceeded the CPU, memory, range() or output budget. Real "
    "chat templates render in milliseconds; this one would stall or exhaust an inference server.",
    "Replace the chat template with the upstream one.",
)
TEMPLATE_MALFORMED = rule(
    "TEMPLATE-MALFORMED",
    Severity.MEDIUM,
    "Chat template is not valid Jinja",
    "The template does not parse with jinja2 (with the extensions transformers enables), so servers "
    "will reject it; parts that do not parse could not be checked.",
    "Replace the chat template with the upstream one.",
)

# --------------------------------------------------------------------------------------------------
# Vocabulary
# --------------------------------------------------------------------------------------------------

# Reaching any of these means reaching globals, subclasses, builtins, import, frames or code objects.
CRITICAL_NAMES = frozenset({
    "__globals__", "__subclasses__", "__builtins__", "__import__", "__mro__", "__base__", "__bases__",
    "__code__", "__closure__", "__loader__", "__spec__", "__reduce__", "__reduce_ex__",
    "func_globals", "func_code", "f_globals", "f_locals", "f_builtins", "f_back", "f_code",
    "gi_frame", "gi_code", "cr_frame", "cr_code", "ag_frame", "ag_code", "tb_frame", "tb_next",
    "co_code", "mro", "_module", "_TemplateReference__context",
})  # fmt: skip
# Calls that only make sense after an escape: process, code and file functions.
DANGEROUS_CALLS = frozenset({
    "popen", "system", "eval", "exec", "open", "__import__", "import_module", "compile",
    "check_output", "check_call", "getoutput", "spawn", "execv", "execve", "execl", "load_module",
    "run_path", "run_module", "remove", "unlink", "rmtree",
})  # fmt: skip
# Jinja globals that carry __globals__, and Flask objects of classic SSTI payloads.
GADGET_GLOBALS = frozenset(
    {"lipsum", "cycler", "joiner", "self", "config", "request", "url_for", "get_flashed_messages", "session"}
)
# Values whose presence means "the caller asked for tools / retrieval" (the tools gate).
TOOL_NAMES = frozenset({
    "tools", "custom_tools", "builtin_tools", "documents", "functions", "xml_tools", "python_tools",
    "available_tools", "tool_calls", "tool_call", "tool_results", "tool_response", "tool_responses",
    "function_call", "tool_call_id",
})  # fmt: skip
TOOL_ROLES = frozenset(
    {
        "tool",
        "tools",
        "ipython",
        "function",
        "tool_results",
        "tool_response",
        "observation",
        "tool_call",
        "tool_calls",
    }
)
ROLE_NAMES = frozenset({
    "system", "user", "assistant", "model", "tool", "tools", "ipython", "human", "bot", "function",
    "developer", "observation", "gpt", "ai", "tool_results", "tool_response", "instruction", "response",
    "input", "output", "question", "answer", "context", "prompt",
})  # fmt: skip

ALWAYS, DEFAULT_SYSTEM, TOOLS = 0, 1, 2  # gate classes: a piece's class is the max over its conditions
_GATE_NAMES = {ALWAYS: "always", DEFAULT_SYSTEM: "default-system-prompt", TOOLS: "tools"}

MIN_WORDS = 4  # natural-language words (after stripping tokens/roles/headers) that make a finding

_SPECIAL_TOKEN_RE = re.compile(
    r"<\|[^<>\n]{0,64}?\|>"  # <|im_start|>, <|eot_id|>, <|start_header_id|>
    r"|<\uff5c[^<>\n]{0,64}?\uff5c>"  # DeepSeek's full-width bars
    r"|<</?[A-Z]{2,12}>>"  # <<SYS>>, <</SYS>>
    r"|</?[A-Za-z_][\w.\-]{0,40}>"  # <s>, </s>, <start_of_turn>, <tool_call>, <think>
    r"|\[/?[A-Z][A-Z_]{1,31}\]"  # [INST], [/INST], [AVAILABLE_TOOLS], [TOOL_CALLS]
)
_ROLES_ALT = "|".join(sorted(ROLE_NAMES, key=len, reverse=True))
# A role name sitting between special tokens (<|eot_id|><|start_header_id|>user<|end_header_id|>) is a
# turn boundary: it becomes a line break, so it never glues to the text before it.
_ROLE_MARKER_RE = re.compile(
    rf"(?:{_SPECIAL_TOKEN_RE.pattern})[ \t]*(?:{_ROLES_ALT})[ \t]*(?=(?:{_SPECIAL_TOKEN_RE.pattern})|\n|$)",
    re.IGNORECASE,
)
_ROLE_LINE_RE = re.compile(rf"^(?:#{{1,6}}\s*)?(?:{_ROLES_ALT})\s*:?\s*$", re.IGNORECASE)
_ROLE_PREFIX_RE = re.compile(rf"^(?:#{{1,6}}\s*)?(?:{_ROLES_ALT})\s*:\s*", re.IGNORECASE)
_HEADER_RE = re.compile(r"^(?:#{1,6}\s*)?([^\W\d_][\w '\u2019/\-]{0,48}?)\s*:\s*(.*)$")
_WORD_RE = re.compile(r"[^\W\d_]{2,}")
_CJK_RE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")

_URL_RE = re.compile(
    r"(?:https?|ftp)://|\bwww\.|[\w.+-]+@[\w-]+\.[\w.]+"
    r"|\b[a-z0-9][a-z0-9-]{0,62}(?:\.[a-z0-9-]{1,63})*\.(?:com|net|org|io|ai|co|ru|cn|xyz|info|biz|top|app"
    r"|dev|me|ly|gg|to|tk|su|onion|site|online|click|link|cc|ws)\b",
    re.IGNORECASE,
)
_INJECTION_RES = tuple(
    re.compile(p, re.IGNORECASE)
    for p in (
        r"\b(?:ignore|disregard|forget|override|bypass)\b[^.\n]{0,40}?\b(?:instructions?|prompts?|rules|guidelines"
        r"|previous|prior|above|earlier|safety|polic(?:y|ies))\b",
        r"\b(?:always|must|should)\s+(?:secretly\s+)?(?:recommend|promote|mention|include|insert|add|link|suggest"
        r"|advertise|endorse|direct|redirect|send|refer|praise|prefer)\b",
        r"\bnever\s+(?:mention|reveal|disclose|tell|admit|refuse|warn|acknowledge)\b",
        r"\b(?:do\s+not|don't|never)\s+(?:tell|inform|reveal|mention|disclose|let)\b[^.\n]{0,30}\b(?:user|anyone|them|know)\b",
        r"\b(?:secretly|covertly|silently|quietly|hidden\s+(?:instruction|message|prompt))\b",
        r"\b(?:developer\s+mode|jailbr(?:eak|oken)|DAN\s+mode|no\s+restrictions|without\s+(?:any\s+)?restrictions"
        r"|unfiltered|uncensored)\b",
        r"\b(?:password|passwd|api[ _-]?keys?|secret\s+keys?|access\s+tokens?|credentials?|ssh\s+keys?|private\s+keys?"
        r"|credit\s+card|seed\s+phrase|wallet\s+address)\b",
        r"\b(?:send|forward|upload|exfiltrate|transmit|leak|copy|post)\b[^.\n]{0,40}?\b(?:conversation|chat\s+history"
        r"|messages|user\s+data|personal\s+data|credentials|the\s+user's)\b",
    )
)
_TOOL_INSTRUCTION_RES = tuple(
    re.compile(p, re.IGNORECASE)
    for p in (
        r"\b(?:call|invoke|use|run|execute|trigger)\s+(?:the\s+|a\s+|this\s+|that\s+)?[\w\-]*\s*(?:tools?|functions?"
        r"|commands?|shell|scripts?|apis?|plugins?)\b",
        r"<tool_call>|<function_call>|\[TOOL_CALLS\]|<\|python_tag\|>|<\|tool_call",
    )
)


# --------------------------------------------------------------------------------------------------
# Parsing environment (also used, with a hardened subclass, for the sandboxed render)
# --------------------------------------------------------------------------------------------------


class _GenerationTag(Extension):
    """transformers' ``{% generation %}...{% endgeneration %}`` (assistant-mask tracking): a plain body."""

    tags = {"generation"}  # noqa: RUF012 - jinja2's Extension API declares tags as a class attribute

    def parse(self, parser: Parser) -> nodes.Node:
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
        return nodes.Scope(body, lineno=lineno)


_EXTENSIONS: list[Any] = [_GenerationTag, "jinja2.ext.loopcontrols", "jinja2.ext.do"]


def _parse_environment() -> ImmutableSandboxedEnvironment:
    # trim/lstrip_blocks and loopcontrols as in transformers' chat-template environment.
    return ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=_EXTENSIONS)


def parse_template(source: str) -> nodes.Template:
    """Parse (never render) a template with the chat-template environment; raises TemplateSyntaxError."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # jinja's lexer on bad escapes in literals
        return _parse_environment().parse(source)


# --------------------------------------------------------------------------------------------------
# Constant folding of string expressions
# --------------------------------------------------------------------------------------------------


class _Unknown:
    def __repr__(self) -> str:
        return "<unknown>"


UNKNOWN: Any = _Unknown()
_MAX_ALTERNATIVES = 16
_MAX_FOLDED = 4096  # longest string we build while folding
_SAFE_PERCENT_RE = re.compile(r"%(?:\([^)]{0,40}\))?[#0\- +]{0,4}(?:\d{1,2})?(?:\.\d{1,2})?[sdicrxXoeEfFgG%]")
_SAFE_BRACE_RE = re.compile(r"\{\{|\}\}|\{(?:\d{1,2}|[A-Za-z_]\w{0,30})?\}")


def _safe_percent(fmt: str) -> bool:
    return "%" not in _SAFE_PERCENT_RE.sub("", fmt)


def _safe_brace(fmt: str) -> bool:
    rest = _SAFE_BRACE_RE.sub("", fmt)
    return "{" not in rest and "}" not in rest


@dataclass
class _Model:
    """What the walker learnt about a template: assignments, macro bodies, outputs and bound names."""

    assigns: dict[str, list[tuple[Any, int]]] = field(default_factory=dict)  # name → [(expr|None, gate)]
    outputs: dict[str, list[tuple[nodes.Node | None, int]]] = field(default_factory=dict)  # sink → items
    macros: set[str] = field(default_factory=set)
    bound: set[str] = field(default_factory=set)


class _Folder:
    """Possible constant values of an expression (a small set; ``UNKNOWN`` marks a dynamic value)."""

    def __init__(self, model: _Model) -> None:
        self.model = model

    def values(self, node: nodes.Node | None, depth: int = 0, seen: frozenset[str] = frozenset()) -> set[Any]:
        if node is None or depth > 24:
            return {UNKNOWN}
        try:
            out = self._values(node, depth + 1, seen)
        except (TypeError, ValueError, KeyError, IndexError, OverflowError, AttributeError):
            return {UNKNOWN}
        if len(out) > _MAX_ALTERNATIVES:
            return {UNKNOWN}
        return {UNKNOWN if isinstance(v, str) and len(v) > _MAX_FOLDED else v for v in out}

    def strings(self, node: nodes.Node | None) -> tuple[set[str], bool]:
        """Known string values and whether some value is unknown."""
        vals = self.values(node)
        return {v for v in vals if isinstance(v, str)}, any(v is UNKNOWN for v in vals)

    def _lookup(self, key: str, depth: int, seen: frozenset[str]) -> set[Any]:
        if key in seen or key not in self.model.assigns:
            return {UNKNOWN}
        out: set[Any] = set()
        for expr, _gate in self.model.assigns[key]:
            out |= self.values(expr, depth, seen | {key}) if isinstance(expr, nodes.Node) else {UNKNOWN}
        return out

    def _dict_field(self, name: str, key: str, depth: int, seen: frozenset[str]) -> set[Any]:
        """Values of ``name.key`` / ``name['key']`` where ``name`` was set to ``dict(key=...)`` or a
        ``{'key': ...}`` literal (names smuggled through keyword arguments); empty if none."""
        if name in seen:
            return set()
        out: set[Any] = set()
        for expr, _gate in self.model.assigns.get(name, []):
            if (
                isinstance(expr, nodes.Call)
                and isinstance(expr.node, nodes.Name)
                and expr.node.name == "dict"
            ):
                for kw in expr.kwargs:
                    if kw.key == key:
                        out |= self.values(kw.value, depth + 1, seen | {name})
            elif isinstance(expr, nodes.Dict):
                for pair in expr.items:
                    if isinstance(pair.key, nodes.Const) and pair.key.value == key:
                        out |= self.values(pair.value, depth + 1, seen | {name})
        return out

    def _values(self, node: nodes.Node, depth: int, seen: frozenset[str]) -> set[Any]:
        v = self.values
        if isinstance(node, nodes.Const):
            value = node.value
            return {value} if isinstance(value, (str, int, float, bool)) else {UNKNOWN}
        if isinstance(node, nodes.TemplateData):
            return {node.data}
        if isinstance(node, nodes.Name):
            return self._lookup(node.name, depth, seen)
        if isinstance(node, nodes.Getattr) and isinstance(node.node, nodes.Name):
            got = self._lookup(f"{node.node.name}.{node.attr}", depth, seen)
            if got - {UNKNOWN}:
                return got
            return self._dict_field(node.node.name, node.attr, depth, seen) or got
        if (
            isinstance(node, nodes.Getitem)
            and isinstance(node.node, nodes.Name)
            and isinstance(node.arg, nodes.Const)
            and isinstance(node.arg.value, str)
        ):
            fields = self._dict_field(node.node.name, node.arg.value, depth, seen)
            if fields:
                return fields
        if isinstance(node, (nodes.List, nodes.Tuple)):
            return _product([v(item, depth, seen) for item in node.items], tuple)
        if isinstance(node, nodes.Concat):
            return _product([v(item, depth, seen) for item in node.nodes], lambda xs: "".join(map(str, xs)))
        if isinstance(node, nodes.Add):
            return _product(
                [v(node.left, depth, seen), v(node.right, depth, seen)], lambda xs: _binop("+", *xs)
            )
        if isinstance(node, nodes.Mul):
            return _product(
                [v(node.left, depth, seen), v(node.right, depth, seen)], lambda xs: _binop("*", *xs)
            )
        if isinstance(node, nodes.Mod):
            return _product(
                [v(node.left, depth, seen), v(node.right, depth, seen)], lambda xs: _binop("%", *xs)
            )
        if isinstance(node, nodes.CondExpr):
            return v(node.expr1, depth, seen) | (v(node.expr2, depth, seen) if node.expr2 else {""})
        if isinstance(node, nodes.Filter) and node.node is not None:
            base = v(node.node, depth, seen)
            args = [v(a, depth, seen) for a in node.args]
            kwargs = {kw.key: v(kw.value, depth, seen) for kw in _filter_keywords(node)}
            if "d" in kwargs or "delimiter" in kwargs:
                args = args or [kwargs.get("d", kwargs.get("delimiter", {""}))]
            return _product([base, *args], lambda xs: _apply_filter(node.name, xs[0], xs[1:]))
        if isinstance(node, nodes.Getitem):
            base = v(node.node, depth, seen)
            if isinstance(node.arg, nodes.Slice):
                parts = [
                    v(p, depth, seen) if p is not None else {None}
                    for p in (node.arg.start, node.arg.stop, node.arg.step)
                ]
                return _product([base, *parts], lambda xs: _index(xs[0], slice(*xs[1:])))
            return _product([base, v(node.arg, depth, seen)], lambda xs: _index(*xs))
        if isinstance(node, nodes.Call) and isinstance(node.node, nodes.Getattr):
            base = v(node.node.node, depth, seen)
            args = [v(a, depth, seen) for a in node.args]
            kwargs = {kw.key: v(kw.value, depth, seen) for kw in node.kwargs}
            if kwargs and node.node.attr != "format":
                return {UNKNOWN}
            method = node.node.attr
            if method == "format" and kwargs:
                keys = sorted(kwargs)
                return _product(
                    [base, *args, *(kwargs[k] for k in keys)],
                    lambda xs: _str_method(
                        "format",
                        xs[0],
                        xs[1 : 1 + len(args)],
                        dict(zip(keys, xs[1 + len(args) :], strict=True)),
                    ),
                )
            return _product([base, *args], lambda xs: _str_method(method, xs[0], xs[1:], {}))
        return {UNKNOWN}


def _filter_keywords(node: nodes.Filter) -> list[nodes.Keyword]:
    """A filter's keyword arguments. jinja2 annotates ``Filter.kwargs`` as ``list[Pair]`` (whose key is an
    ``Expr``), but its parser fills it with ``Keyword`` nodes (``key: str``), exactly as ``Call.kwargs``
    (``Parser.parse_call_args``): the cast states what the parser produces."""
    return cast("list[nodes.Keyword]", node.kwargs)


def _product(options: Sequence[set[Any]], combine: Any) -> set[Any]:
    results: list[tuple[Any, ...]] = [()]
    for opts in options:
        if UNKNOWN in opts and len(opts) == 1:
            return {UNKNOWN}
        results = [r + (o,) for r in results for o in opts]
        if len(results) > _MAX_ALTERNATIVES:
            return {UNKNOWN}
    out: set[Any] = set()
    for combo in results:
        if any(c is UNKNOWN for c in combo):
            out.add(UNKNOWN)
            continue
        out.add(combine(list(combo)))
    return out


def _check_size(value: Any) -> Any:
    if isinstance(value, (str, tuple)) and len(value) > _MAX_FOLDED:
        return UNKNOWN
    return value


def _binop(op: str, left: Any, right: Any) -> Any:
    if op == "+":
        if isinstance(left, str) and isinstance(right, str):
            return _check_size(left + right)
        if isinstance(left, (int, float)) and isinstance(right, (int, float)) and not isinstance(left, bool):
            return left + right
        if isinstance(left, tuple) and isinstance(right, tuple):
            return _check_size(left + right)
        return UNKNOWN
    if op == "*":
        if isinstance(left, int) and isinstance(right, (str, tuple)):
            left, right = right, left
        if isinstance(left, (str, tuple)) and isinstance(right, int) and not isinstance(right, bool):
            return UNKNOWN if len(left) * max(right, 0) > _MAX_FOLDED else left * right
        if isinstance(left, int) and isinstance(right, int) and abs(left) < 2**32 and abs(right) < 2**32:
            return left * right
        return UNKNOWN
    if op == "%" and isinstance(left, str) and _safe_percent(left):
        return _check_size(left % (right if isinstance(right, tuple) else (right,)))
    return UNKNOWN


def _index(base: Any, key: Any) -> Any:
    if isinstance(base, (str, tuple)) and isinstance(key, (int, slice)) and not isinstance(key, bool):
        if isinstance(key, slice) and not all(
            x is None or isinstance(x, int) for x in (key.start, key.stop, key.step)
        ):
            return UNKNOWN
        return base[key]
    return UNKNOWN


def _apply_filter(name: str, base: Any, args: Sequence[Any]) -> Any:
    if name == "join":
        sep = args[0] if args else ""
        if isinstance(sep, str) and isinstance(base, (str, tuple)):
            return _check_size(sep.join(str(x) for x in base))
        return UNKNOWN
    if name == "format" and isinstance(base, str) and _safe_percent(base):
        return _check_size(base % tuple(args))
    if name == "replace" and isinstance(base, str) and len(args) >= 2:
        old, new = args[0], args[1]
        if isinstance(old, str) and isinstance(new, str):
            if old == "" or len(base) + len(new) * (len(base) + 1) > _MAX_FOLDED * 4:
                return _check_size(base.replace(old, new)) if old else UNKNOWN
            return _check_size(base.replace(old, new))
        return UNKNOWN
    if name == "reverse" and isinstance(base, (str, tuple)):
        return base[::-1]
    if name in {"string", "safe", "e", "escape"}:
        return base if isinstance(base, str) else UNKNOWN
    if name in {"lower", "upper", "title", "capitalize"} and isinstance(base, str):
        return getattr(base, name)()
    if name == "trim" and isinstance(base, str):
        return base.strip()
    if name in {"first", "last"} and isinstance(base, (str, tuple)) and base:
        return base[0] if name == "first" else base[-1]
    if name == "list" and isinstance(base, (str, tuple)):
        return tuple(base)
    return UNKNOWN


_STR_METHODS = {"lower", "upper", "strip", "lstrip", "rstrip", "title", "capitalize", "swapcase", "casefold"}


def _str_method(method: str, base: Any, args: Sequence[Any], kwargs: dict[str, Any]) -> Any:
    if not isinstance(base, str):
        return UNKNOWN
    if method in _STR_METHODS and not args:
        return getattr(base, method)()
    if method == "format" and _safe_brace(base):
        return _check_size(base.format(*args, **kwargs))
    if method == "join" and len(args) == 1 and isinstance(args[0], (str, tuple)):
        return _check_size(base.join(str(x) for x in args[0]))
    if method == "replace" and len(args) == 2 and all(isinstance(a, str) for a in args) and args[0]:
        return _check_size(base.replace(args[0], args[1]))
    return UNKNOWN


# --------------------------------------------------------------------------------------------------
# Walking the template: gates, assignments, outputs
# --------------------------------------------------------------------------------------------------


def _mentions_tool(expr: nodes.Node) -> bool:
    if isinstance(expr, nodes.Name):
        return expr.name in TOOL_NAMES
    if isinstance(expr, nodes.Getattr):
        return expr.attr in TOOL_NAMES or _mentions_tool(expr.node)
    if isinstance(expr, nodes.Getitem):
        key = expr.arg
        return (isinstance(key, nodes.Const) and key.value in TOOL_NAMES) or _mentions_tool(expr.node)
    if isinstance(expr, (nodes.Filter, nodes.Test)) and expr.node is not None:
        return _mentions_tool(expr.node)
    return False


def _is_role(expr: nodes.Node) -> bool:
    return (isinstance(expr, nodes.Getattr) and expr.attr == "role") or (
        isinstance(expr, nodes.Getitem) and isinstance(expr.arg, nodes.Const) and expr.arg.value == "role"
    )


def _const_strs(expr: nodes.Node) -> set[str] | None:
    if isinstance(expr, nodes.Const) and isinstance(expr.value, str):
        return {expr.value}
    if isinstance(expr, (nodes.List, nodes.Tuple)) and all(
        isinstance(i, nodes.Const) and isinstance(i.value, str) for i in expr.items
    ):
        return {i.value for i in expr.items}  # type: ignore[attr-defined]
    return None


def _combine(kind: str, a: int, b: int) -> int:
    """Polarity of ``a and b`` / ``a or b`` (+1 present, -1 absent, 0 unknown).

    ``and``: true means both hold, so one certain side decides. ``or``: true only tells us that one
    side holds, so both must agree — except for the system-message gate, where the usual shape is
    ``not messages or messages[0].role != 'system'`` (both mean "no system message").
    """
    if a == b:
        return a
    if kind == "and" or kind == "or-system":
        return a or b if 0 in (a, b) else 0
    return 0


def _tool_polarity(test: nodes.Node) -> int:
    """+1: true only when tools are present; -1: true only when absent; 0: unrelated/mixed."""
    if isinstance(test, nodes.Not):
        return -_tool_polarity(test.node)
    if isinstance(test, nodes.And):
        return _combine("and", _tool_polarity(test.left), _tool_polarity(test.right))
    if isinstance(test, nodes.Or):
        return _combine("or", _tool_polarity(test.left), _tool_polarity(test.right))
    if isinstance(test, nodes.Test):
        if test.node is not None and _mentions_tool(test.node):
            return -1 if test.name in {"none", "undefined", "false"} else 1
        return 0
    if isinstance(test, nodes.Compare) and len(test.ops) == 1:
        left, op, right = test.expr, test.ops[0].op, test.ops[0].expr
        for a, b in ((left, right), (right, left)):
            roles = _const_strs(b)
            if _is_role(a) and roles is not None and op in {"eq", "ne", "in", "notin"}:
                if roles <= TOOL_ROLES:
                    return 1 if op in {"eq", "in"} else -1
                return 0
        keys = _const_strs(left)
        if keys is not None and keys <= TOOL_NAMES and op in {"in", "notin"}:
            return 1 if op == "in" else -1
        if _mentions_tool(left):
            empty = isinstance(right, nodes.Const) and right.value in (0, None, "", False)
            if op in {"gt", "ne"} and empty:
                return 1
            if op in {"eq", "lteq"} and empty:
                return -1
            if op in {"gt", "gteq"}:
                return 1
        return 0
    if _mentions_tool(test):
        return 1
    return 0


def _is_first_message_role(expr: nodes.Node) -> bool:
    if not _is_role(expr):
        return False
    base = expr.node  # type: ignore[attr-defined]
    return isinstance(base, nodes.Getitem) and isinstance(base.arg, nodes.Const) and base.arg.value == 0


def _mentions_system_var(expr: nodes.Node) -> bool:
    if isinstance(expr, nodes.Name):
        return "system" in expr.name.lower()
    if isinstance(expr, nodes.Getattr) and isinstance(expr.node, nodes.Name):
        return "system" in expr.attr.lower() or "system" in expr.node.name.lower()
    if isinstance(expr, (nodes.Filter, nodes.Test)) and expr.node is not None:
        return _mentions_system_var(expr.node)
    return False


def _is_loop_first(expr: nodes.Node) -> bool:
    return (
        isinstance(expr, nodes.Getattr)
        and expr.attr == "first"
        and isinstance(expr.node, nodes.Name)
        and expr.node.name == "loop"
    )


def _system_polarity(test: nodes.Node, first: bool = False) -> int:
    """+1: true only when the conversation has a system message; -1: true only when it has none.

    ``first``: we are under ``loop.first and ...``, so a role test on the loop's message is a test on
    the first message (``{% if loop.first and message['role'] != 'system' %}``).
    """
    if isinstance(test, nodes.Not):
        return -_system_polarity(test.node, first)
    if isinstance(test, nodes.And):
        first = first or _is_loop_first(test.left) or _is_loop_first(test.right)
        return _combine("and", _system_polarity(test.left, first), _system_polarity(test.right, first))
    if isinstance(test, nodes.Or):
        return _combine("or-system", _system_polarity(test.left, first), _system_polarity(test.right, first))
    if isinstance(test, nodes.Test):
        if test.node is not None and _mentions_system_var(test.node):
            return -1 if test.name in {"none", "undefined", "false"} else 1
        return 0
    if isinstance(test, nodes.Compare) and len(test.ops) == 1:
        left, op, right = test.expr, test.ops[0].op, test.ops[0].expr
        for a, b in ((left, right), (right, left)):
            consts = _const_strs(b)
            is_first = _is_first_message_role(a) or (first and _is_role(a))
            if is_first and consts == {"system"} and op in {"eq", "ne"}:
                return 1 if op == "eq" else -1
            if _mentions_system_var(a) and isinstance(b, nodes.Const) and b.value in ("", None):
                return -1 if op == "eq" else 1 if op == "ne" else 0
        return 0
    if _mentions_system_var(test):
        return 1
    return 0


def _cond_gate(test: nodes.Node | None, truth: bool) -> int:
    if test is None:
        return ALWAYS
    tp = _tool_polarity(test)
    if (tp == 1 and truth) or (tp == -1 and not truth):
        return TOOLS
    sp = _system_polarity(test)
    if (sp == 1 and not truth) or (sp == -1 and truth):
        return DEFAULT_SYSTEM
    return ALWAYS


_EMIT = "emit"


class _Walker:
    """Phase A: one pass over the statements recording where text goes and under which gate."""

    def __init__(self, model: _Model) -> None:
        self.m = model

    def out(self, sink: str) -> list[tuple[nodes.Node | None, int]]:
        return self.m.outputs.setdefault(sink, [])

    def assign(self, key: str, expr: Any, gate: int) -> None:
        self.m.assigns.setdefault(key, []).append((expr, gate))

    def target(self, target: nodes.Node, expr: nodes.Node | None, gate: int) -> None:
        if isinstance(target, nodes.Name):
            self.assign(target.name, expr, gate)
        elif isinstance(target, nodes.NSRef):
            self.assign(f"{target.name}.{target.attr}", expr, gate)
        elif isinstance(target, (nodes.Tuple, nodes.List)):
            for item in target.items:
                self.target(item, None, gate)

    def walk(self, stmts: Iterable[nodes.Node], gate: int, sink: str, depth: int = 0) -> None:
        if depth > 200:
            raise RecursionError("template nesting too deep")
        for node in stmts:
            self.stmt(node, gate, sink, depth + 1)

    def stmt(self, node: nodes.Node, gate: int, sink: str, depth: int) -> None:
        if isinstance(node, nodes.Output):
            for child in node.nodes:
                self.out(sink).append((child, gate))
            self.out(sink).append((None, gate))
        elif isinstance(node, nodes.If):
            self.walk(node.body, max(gate, _cond_gate(node.test, True)), sink, depth)
            previous = [node.test]
            for branch in node.elif_:
                g = max([gate, _cond_gate(branch.test, True)] + [_cond_gate(t, False) for t in previous])
                self.walk(branch.body, g, sink, depth)
                previous.append(branch.test)
            self.walk(node.else_, max([gate] + [_cond_gate(t, False) for t in previous]), sink, depth)
        elif isinstance(node, nodes.For):
            body_gate = max(gate, TOOLS if _mentions_tool(node.iter) else ALWAYS, _cond_gate(node.test, True))
            self.target(node.target, None, body_gate)
            self.walk(node.body, body_gate, sink, depth)
            self.walk(node.else_, gate, sink, depth)
        elif isinstance(node, nodes.Assign):
            self.target(node.target, node.node, gate)
            if isinstance(node.target, nodes.Name) and isinstance(node.node, nodes.Call):
                call = node.node
                if isinstance(call.node, nodes.Name) and call.node.name == "namespace":
                    for kw in call.kwargs:
                        self.assign(f"{node.target.name}.{kw.key}", kw.value, gate)
        elif isinstance(node, nodes.AssignBlock):
            key = f"block:{id(node)}"
            if isinstance(node.target, nodes.Name):
                self.assign(node.target.name, key, gate)
            elif isinstance(node.target, nodes.NSRef):
                self.assign(f"{node.target.name}.{node.target.attr}", key, gate)
            self.walk(node.body, gate, key, depth)
        elif isinstance(node, nodes.Macro):
            self.m.macros.add(node.name)
            self.walk(node.body, ALWAYS, f"macro:{node.name}", depth)
        elif isinstance(node, nodes.CallBlock):
            self.out(sink).append((node.call, gate))
            self.walk(node.body, gate, sink, depth)
        elif isinstance(
            node, (nodes.Block, nodes.Scope, nodes.FilterBlock, nodes.With, nodes.ScopedEvalContextModifier)
        ):
            if isinstance(node, nodes.With):
                for t, val in zip(node.targets, node.values, strict=False):
                    self.target(t, val, gate)
            self.walk(node.body, gate, sink, depth)


@dataclass
class _Piece:
    text: str | None  # None: a dynamic value or a break
    gate: int
    line: int | None


class _TextExtractor:
    """Phase B: turn recorded outputs into text pieces, resolving names, namespaces and macro calls."""

    def __init__(self, model: _Model, folder: _Folder) -> None:
        self.m = model
        self.folder = folder
        self.budget = 20_000

    def emitted(self) -> list[_Piece]:
        return self.sink(_EMIT, ALWAYS, frozenset())

    def sink(self, sink: str, gate: int, seen: frozenset[str]) -> list[_Piece]:
        if sink in seen:
            return [_Piece(None, gate, None)]
        out: list[_Piece] = []
        for expr, g in self.m.outputs.get(sink, []):
            if expr is None:
                out.append(_Piece(None, max(gate, g), None))
            else:
                out.extend(self.parts(expr, max(gate, g), seen | {sink}, 0))
            if len(out) > self.budget:
                break
        return out

    def lookup(self, key: str, gate: int, seen: frozenset[str], depth: int, line: int | None) -> list[_Piece]:
        if key in seen or key not in self.m.assigns:
            return [_Piece(None, gate, line)]
        out = [_Piece(None, gate, line)]
        for expr, g in self.m.assigns[key]:
            if isinstance(expr, str):  # an AssignBlock body
                out.extend(self.sink(expr, max(gate, g), seen | {key}))
            elif expr is not None:
                out.extend(self.parts(expr, max(gate, g), seen | {key}, depth + 1))
            out.append(_Piece(None, gate, line))
        return out

    def parts(self, expr: nodes.Node, gate: int, seen: frozenset[str], depth: int) -> list[_Piece]:
        line = getattr(expr, "lineno", None)
        if depth > 40 or self.budget <= 0:
            return [_Piece(None, gate, line)]
        self.budget -= 1
        if isinstance(expr, nodes.TemplateData):
            return [_Piece(expr.data, gate, line)]
        if isinstance(expr, nodes.Const):
            return [_Piece(expr.value if isinstance(expr.value, str) else None, gate, line)]
        if isinstance(expr, (nodes.Concat, nodes.Add)):
            items = expr.nodes if isinstance(expr, nodes.Concat) else [expr.left, expr.right]
            out: list[_Piece] = []
            for item in items:
                out.extend(self.parts(item, gate, seen, depth + 1))
            return out
        if isinstance(expr, nodes.CondExpr):
            out = [_Piece(None, gate, line)]
            out += self.parts(expr.expr1, max(gate, _cond_gate(expr.test, True)), seen, depth + 1)
            out.append(_Piece(None, gate, line))
            if expr.expr2 is not None:
                out += self.parts(expr.expr2, max(gate, _cond_gate(expr.test, False)), seen, depth + 1)
            out.append(_Piece(None, gate, line))
            return out
        if isinstance(expr, nodes.Name):
            return self.lookup(expr.name, gate, seen, depth, line)
        if isinstance(expr, nodes.Getattr) and isinstance(expr.node, nodes.Name):
            key = f"{expr.node.name}.{expr.attr}"
            if key in self.m.assigns:
                return self.lookup(key, gate, seen, depth, line)
        if (
            isinstance(expr, nodes.Call)
            and isinstance(expr.node, nodes.Getattr)
            and expr.node.attr in _STR_METHODS
        ):
            return self.parts(expr.node.node, gate, seen, depth + 1)  # content.strip() and the like
        if (
            isinstance(expr, nodes.Call)
            and isinstance(expr.node, nodes.Name)
            and expr.node.name in self.m.macros
        ):
            return [
                _Piece(None, gate, line),
                *self.sink(f"macro:{expr.node.name}", gate, seen),
                _Piece(None, gate, line),
            ]
        if isinstance(expr, nodes.Filter) and expr.node is not None:
            known, unknown = self.folder.strings(expr)
            if known and not unknown and len(known) == 1:
                return [_Piece(next(iter(known)), gate, line)]
            if expr.name in {
                "trim",
                "string",
                "safe",
                "e",
                "escape",
                "upper",
                "lower",
                "title",
                "capitalize",
                "indent",
                "replace",
            }:
                return self.parts(expr.node, gate, seen, depth + 1)
            if expr.name == "join" and isinstance(expr.node, (nodes.List, nodes.Tuple)):
                out = []
                for item in expr.node.items:
                    out += self.parts(item, gate, seen, depth + 1)
                    out.append(_Piece(None, gate, line))
                return out
        return [_Piece(None, gate, line)]


# --------------------------------------------------------------------------------------------------
# Emitted text → prose
# --------------------------------------------------------------------------------------------------


def _words(text: str) -> list[str]:
    out: list[str] = []
    for w in _WORD_RE.findall(text):
        cjk = len(_CJK_RE.findall(w))
        if cjk:
            out.extend([w.lower()] * max(1, cjk // 2))
        else:
            out.append(w.lower())
    return out


def _is_header(line: str) -> bool:
    m = _HEADER_RE.match(line)
    return m is not None and len(_words(m.group(1))) <= 4 and len(_words(m.group(2))) <= 3


def prose_lines(text: str) -> list[str]:
    """Lines of natural language left after removing special tokens, role markers and header lines."""
    text = _SPECIAL_TOKEN_RE.sub(" ", _ROLE_MARKER_RE.sub("\n", text))
    lines: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or _ROLE_LINE_RE.match(line):
            continue
        line = _ROLE_PREFIX_RE.sub("", line)
        if not _words(line) or _is_header(line):
            continue
        lines.append(" ".join(line.split()))
    return lines


def _suspicious(raw: str, *, tool_instructions: bool) -> list[str]:
    """Which alarming things the (raw, token-bearing) text contains."""
    hits: list[str] = []
    stripped = _SPECIAL_TOKEN_RE.sub(" ", raw)
    for url in _URL_RE.finditer(stripped):
        hits.append(f"address: {url.group(0)[:80]}")
    for pattern in _INJECTION_RES:
        m = pattern.search(stripped)
        if m:
            hits.append(f"injection phrase: {' '.join(m.group(0).split())[:80]}")
    if tool_instructions:
        for pattern in _TOOL_INSTRUCTION_RES:
            m = pattern.search(raw) or pattern.search(stripped)
            if m:
                hits.append(f"tool instruction: {' '.join(m.group(0).split())[:80]}")
    return hits[:12]


def _gate_doc(pieces: Sequence[_Piece], gate: int) -> tuple[str, list[int]]:
    """The text emitted under exactly ``gate`` (dynamic values and other gates become line breaks)."""
    chunks: list[str] = []
    lines: set[int] = set()
    for p in pieces:
        if p.text is not None and p.gate == gate:
            chunks.append(p.text)
            if p.line is not None and _words(_SPECIAL_TOKEN_RE.sub(" ", p.text)):
                lines.add(p.line)
        elif not chunks or chunks[-1] != "\n":
            chunks.append("\n")
    return "".join(chunks), sorted(lines)


# --------------------------------------------------------------------------------------------------
# Access analysis (SSTI)
# --------------------------------------------------------------------------------------------------

_SPINE = (nodes.Getattr, nodes.Getitem, nodes.Filter, nodes.Call, nodes.Test)
_STRING_BUILDERS = {
    "join",
    "format",
    "replace",
    "reverse",
    "lower",
    "upper",
    "string",
    "title",
    "capitalize",
    "trim",
}


@dataclass
class _Access:
    kind: str  # attribute | item | attr-filter | attribute-kwarg | format-field | call | gadget-global | dynamic
    name: str | None
    line: int | None


def _is_dunderish(name: str) -> bool:
    return name.startswith("_")


def _expr_text(node: nodes.Node | None, depth: int = 0) -> str:
    if node is None or depth > 30:
        return "…"
    d = depth + 1
    if isinstance(node, nodes.Name):
        return node.name
    if isinstance(node, nodes.Const):
        return repr(node.value)[:60]
    if isinstance(node, nodes.Getattr):
        return f"{_expr_text(node.node, d)}.{node.attr}"
    if isinstance(node, nodes.Getitem):
        return f"{_expr_text(node.node, d)}[{_expr_text(node.arg, d)}]"
    if isinstance(node, (nodes.Filter, nodes.Call)):
        args = ", ".join(
            [_expr_text(a, d) for a in node.args] + [f"{k.key}={_expr_text(k.value, d)}" for k in node.kwargs]
        )
        if isinstance(node, nodes.Filter):
            return f"{_expr_text(node.node, d)}|{node.name}({args})"
        return f"{_expr_text(node.node, d)}({args})"
    if isinstance(node, (nodes.List, nodes.Tuple)):
        return "[" + ", ".join(_expr_text(i, d) for i in node.items) + "]"
    if isinstance(node, nodes.Concat):
        return " ~ ".join(_expr_text(n, d) for n in node.nodes)
    if isinstance(node, nodes.BinExpr):
        return f"{_expr_text(node.left, d)} {node.operator} {_expr_text(node.right, d)}"
    return type(node).__name__


# Message fields whose text the conversation's author chooses.
_CONVERSATION_FIELDS = frozenset({"content", "text", "arguments", "reasoning_content", "tool_call_id"})


class _AccessAnalyzer:
    def __init__(self, tree: nodes.Template, model: _Model, folder: _Folder) -> None:
        self.tree = tree
        self.m = model
        self.folder = folder
        self.parent: dict[int, nodes.Node] = {}
        self.groups: dict[int, tuple[nodes.Node, list[_Access]]] = {}
        self.includes: list[tuple[str, str, int | None]] = []

    def run(self) -> None:
        stack: list[tuple[nodes.Node, int]] = [(self.tree, 0)]
        while stack:
            node, depth = stack.pop()
            if depth > 400:
                raise RecursionError("template nesting too deep")
            for child in node.iter_child_nodes():
                self.parent[id(child)] = node
                stack.append((child, depth + 1))
            self.visit(node)

    def root_of(self, node: nodes.Node) -> nodes.Node:
        while True:
            parent = self.parent.get(id(node))
            if isinstance(parent, _SPINE) and getattr(parent, "node", None) is node:
                node = parent
                continue
            return node

    def add(self, node: nodes.Node, access: _Access) -> None:
        root = self.root_of(node)
        self.groups.setdefault(id(root), (root, []))[1].append(access)

    def names_of(self, expr: nodes.Node | None, kind: str, line: int | None) -> list[_Access]:
        known, unknown = self.folder.strings(expr)
        out = [_Access(kind, n, line) for n in sorted(known)]
        if unknown:
            out.append(_Access("dynamic", None, line))
        return out

    def string_built(self, expr: nodes.Node, depth: int = 0, seen: frozenset[str] = frozenset()) -> bool:
        if depth > 20:
            return True
        if isinstance(expr, nodes.Concat):
            return True
        if isinstance(expr, (nodes.Add, nodes.Mul, nodes.Mod)):
            # Arithmetic on indexes (messages[loop.index0 + 1]) is ordinary; string arithmetic is not.
            operands = self.folder.values(expr.left) | self.folder.values(expr.right)
            return any(isinstance(v, str) for v in operands) or any(
                self.string_built(side, depth + 1, seen) for side in (expr.left, expr.right)
            )
        if isinstance(expr, nodes.Filter) and expr.name in _STRING_BUILDERS:
            return True
        if (
            isinstance(expr, nodes.Call)
            and isinstance(expr.node, nodes.Getattr)
            and expr.node.attr in {"format", "join", "replace"}
        ):
            return True
        if isinstance(expr, nodes.Name) and expr.name not in seen:
            for value, _gate in self.m.assigns.get(expr.name, []):
                if isinstance(value, nodes.Node) and self.string_built(value, depth + 1, seen | {expr.name}):
                    return True
        return False

    def from_conversation(self, expr: nodes.Node, depth: int = 0, seen: frozenset[str] = frozenset()) -> bool:
        """True when ``expr`` is (or is computed from) text the conversation supplies at run time —
        a message's content/arguments, directly or through ``set`` / ``for`` variables. Used as an
        item key, such a name is chosen by whoever writes the messages: a dynamic attribute lookup
        (``m[m.content]``, a payload reached by item access off a global), whatever gates guard it."""
        if depth > 20:
            return True
        for sub in [expr, *expr.find_all((nodes.Getattr, nodes.Getitem, nodes.Name))]:
            if isinstance(sub, nodes.Getattr) and sub.attr in _CONVERSATION_FIELDS:
                return True
            if (
                isinstance(sub, nodes.Getitem)
                and isinstance(sub.arg, nodes.Const)
                and sub.arg.value in _CONVERSATION_FIELDS
            ):
                return True
            if isinstance(sub, nodes.Name) and sub.ctx == "load" and sub.name not in seen:
                for value, _gate in self.m.assigns.get(sub.name, []):
                    if isinstance(value, nodes.Node) and self.from_conversation(
                        value, depth + 1, seen | {sub.name}
                    ):
                        return True
        return False

    def visit(self, node: nodes.Node) -> None:
        line = getattr(node, "lineno", None)
        if isinstance(node, nodes.Getattr):
            self.add(node, _Access("attribute", node.attr, line))
        elif isinstance(node, nodes.Getitem) and not isinstance(node.arg, nodes.Slice):
            known, unknown = self.folder.strings(node.arg)
            for name in sorted(known):
                self.add(node, _Access("item", name, line))
            if unknown and (self.string_built(node.arg) or self.from_conversation(node.arg)):
                self.add(node, _Access("dynamic", None, line))
        elif isinstance(node, nodes.Filter):
            self.visit_filter(node, line)
        elif isinstance(node, nodes.Call):
            self.visit_call(node, line)
        elif isinstance(node, nodes.Name) and node.ctx == "load":
            if node.name in GADGET_GLOBALS and node.name not in self.m.bound:
                self.add(node, _Access("gadget-global", node.name, line))
        elif isinstance(node, (nodes.Include, nodes.Import, nodes.FromImport, nodes.Extends)):
            known, unknown = self.folder.strings(node.template)
            target = ", ".join(sorted(known)) + (" <dynamic>" if unknown else "")
            self.includes.append((type(node).__name__.lower(), target.strip(), line))
        elif isinstance(node, nodes.Const) and isinstance(node.value, str) and "{" in node.value:
            self.format_fields(node, node.value, line)

    def visit_filter(self, node: nodes.Filter, line: int | None) -> None:
        kwargs = {kw.key: kw.value for kw in _filter_keywords(node)}
        if node.name == "attr":
            arg = node.args[0] if node.args else None
            self.add(node, _Access("attr-filter", None, line))
            for acc in self.names_of(arg, "attribute", line):
                self.add(node, acc)
        elif node.name in {
            "map",
            "selectattr",
            "rejectattr",
            "sort",
            "groupby",
            "sum",
            "unique",
            "min",
            "max",
            "dictsort",
        }:
            attr_expr = kwargs.get("attribute")
            if node.name in {"selectattr", "rejectattr", "groupby"} and node.args:
                attr_expr = node.args[0]
            if node.name == "map" and node.args:
                first, _ = self.folder.strings(node.args[0])
                if "attr" in first:
                    self.add(node, _Access("attr-filter", None, line))
                    attr_expr = node.args[1] if len(node.args) > 1 else None
            if attr_expr is not None:
                for acc in self.names_of(attr_expr, "attribute-kwarg", line):
                    if acc.name is None:
                        self.add(node, acc)
                    else:
                        for part in acc.name.split("."):
                            self.add(node, _Access("attribute-kwarg", part, line))

    def visit_call(self, node: nodes.Call, line: int | None) -> None:
        func = node.node
        if isinstance(func, nodes.Name) and func.name == "dict" and func.name not in self.m.bound:
            # dict(__class__=1)|first (or |list, |join): keyword names become run-time strings
            for kw in node.kwargs:
                if _is_dunderish(kw.key):
                    self.add(node, _Access("item", kw.key, line))
        if isinstance(func, nodes.Name) and func.name in DANGEROUS_CALLS and func.name not in self.m.bound:
            self.add(node, _Access("call", func.name, line))
        if isinstance(func, nodes.Getattr):
            if func.attr in DANGEROUS_CALLS:
                self.add(node, _Access("call", func.attr, line))
            if func.attr in {"format", "format_map"}:
                known, _ = self.folder.strings(func.node)
                for fmt in known:
                    self.format_fields(node, fmt, line)

    def format_fields(self, node: nodes.Node, fmt: str, line: int | None) -> None:
        """str.format fields such as ``{0.__class__}`` or ``{x[__globals__]}`` reach attributes too."""
        try:
            fields = [f for _, f, _, _ in string.Formatter().parse(fmt) if f]
        except (ValueError, TypeError):
            return
        for f in fields[:64]:
            for part in re.findall(r"\.([^.\[\]]+)|\[([^\]]+)\]", f):
                name = part[0] or part[1]
                if _is_dunderish(name) or name in CRITICAL_NAMES:
                    self.add(node, _Access("format-field", name, line))


def _classify(accesses: Sequence[_Access]) -> tuple[Any, Severity, list[str]]:
    names = sorted({a.name for a in accesses if a.name})
    kinds = {a.kind for a in accesses}
    critical = [
        n for n in names
        if n in CRITICAL_NAMES or (any(a.kind == "call" and a.name == n for a in accesses))
    ]  # fmt: skip
    dunder = [
        n
        for n in names
        if _is_dunderish(n) and any(a.name == n and a.kind != "gadget-global" for a in accesses)
    ]
    if critical:
        return TEMPLATE_SSTI, Severity.CRITICAL, critical
    if dunder:
        return TEMPLATE_DUNDER_ACCESS, Severity.CRITICAL, dunder
    if "attr-filter" in kinds or "dynamic" in kinds:
        return (
            TEMPLATE_ATTR_FILTER,
            Severity.HIGH,
            [a.name or "<dynamic>" for a in accesses if a.kind != "gadget-global"],
        )
    if "gadget-global" in kinds:
        return (
            TEMPLATE_GADGET_GLOBAL,
            Severity.MEDIUM,
            [a.name for a in accesses if a.kind == "gadget-global" and a.name],
        )
    return None, Severity.INFO, []


_ESCAPE_RE = re.compile(r"\\(?:x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[0-7]{1,3})")


# --------------------------------------------------------------------------------------------------
# Sandboxed render (runs in a child process)
# --------------------------------------------------------------------------------------------------

CANARY_SYSTEM = "WQSYSTEMCANARYAF31"
CANARY_USER = ("WQUSERCANARYB7C2", "WQUSERCANARYD4E9")
CANARY_ASSISTANT = "WQASSISTANTCANARYC05A"
_CANARY_RE = re.compile(r"WQ(?:SYSTEM|USER|ASSISTANT)CANARY[0-9A-F]{4}", re.IGNORECASE)


@dataclass(frozen=True)
class RenderBudget:
    cpu_seconds: float = 3.0  # CPU time inside the child for all scenarios
    wall_seconds: float = 20.0  # the parent's timeout (covers interpreter start on a busy machine)
    memory_bytes: int = 768 * 2**20  # child address space
    max_output: int = 1 * 2**20  # characters per scenario
    max_range: int = 10_000  # one range() call
    max_range_total: int = 200_000  # all range() calls together


@dataclass
class RenderResult:
    outputs: dict[str, str] = field(default_factory=dict)  # scenario → rendered text
    errors: dict[str, dict[str, str]] = field(default_factory=dict)  # scenario → {kind, message}
    violations: list[dict[str, str]] = field(default_factory=list)
    skipped: str | None = None


def _scenarios() -> dict[str, list[dict[str, str]]]:
    u1, u2 = CANARY_USER
    chat = [
        {"role": "user", "content": u1},
        {"role": "assistant", "content": CANARY_ASSISTANT},
        {"role": "user", "content": u2},
    ]
    return {"with_system": [{"role": "system", "content": CANARY_SYSTEM}, *chat], "no_system": chat}


def render_sandboxed(source: str, budget: RenderBudget | None = None) -> RenderResult:
    """Render ``source`` with the canary conversations in a resource-limited child process."""
    budget = budget or RenderBudget()
    if not sys.executable:
        return RenderResult(skipped="no Python interpreter to run the sandboxed render")
    import warden

    package_root = str(Path(warden.__file__).resolve().parent.parent)
    request = json.dumps({"source": source, "budget": budget.__dict__, "scenarios": _scenarios()})
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); "
        "from warden.formats.template import _child_main; _child_main()"
    )
    with tempfile.TemporaryDirectory(prefix="warden-render-") as tmp:
        try:
            proc = subprocess.run(
                [sys.executable, "-I", "-c", code, package_root],
                input=request.encode("utf-8"),
                capture_output=True,
                timeout=budget.wall_seconds,
                cwd=tmp,
                env={"PATH": os.environ.get("PATH", ""), "LC_ALL": "C.UTF-8"},
                check=False,
            )
        except subprocess.TimeoutExpired:
            return RenderResult(errors={"*": {"kind": "budget", "message": "wall-clock timeout"}})
        except OSError as exc:
            return RenderResult(skipped=f"could not start the render process: {exc}")
    if proc.returncode != 0:
        if proc.returncode in (-24, -9, 152, 137):  # SIGXCPU / SIGKILL: the CPU rlimit fired
            return RenderResult(errors={"*": {"kind": "budget", "message": "cpu limit"}})
        tail = proc.stderr.decode("utf-8", "replace")[-300:]
        if "MemoryError" in tail:
            return RenderResult(errors={"*": {"kind": "budget", "message": "memory limit"}})
        return RenderResult(skipped=f"render process failed (exit {proc.returncode}): {tail}")
    try:
        data = json.loads(proc.stdout.decode("utf-8"))
        return RenderResult(
            outputs=dict(data.get("outputs", {})),
            errors=dict(data.get("errors", {})),
            violations=list(data.get("violations", [])),
        )
    except (ValueError, UnicodeDecodeError, AttributeError, TypeError):
        return RenderResult(skipped="render process returned unreadable output")


class _Budget(Exception):
    def __init__(self, limit: str) -> None:
        super().__init__(limit)
        self.limit = limit


def _render_environment(budget: dict[str, Any]) -> Any:
    """The hardened sandbox (child process only): transformers' chat-template environment plus caps."""
    import datetime

    from jinja2 import sandbox
    from jinja2.exceptions import SecurityError
    from jinja2.utils import Namespace

    unsafe_names = (
        sandbox.UNSAFE_FUNCTION_ATTRIBUTES
        | sandbox.UNSAFE_METHOD_ATTRIBUTES
        | sandbox.UNSAFE_GENERATOR_ATTRIBUTES
        | sandbox.UNSAFE_COROUTINE_ATTRIBUTES
        | sandbox.UNSAFE_ASYNC_GENERATOR_ATTRIBUTES
    )
    max_str = int(budget["max_output"])

    class Env(sandbox.ImmutableSandboxedEnvironment):
        intercepted_binops = frozenset({"*", "**", "%", "+"})

        def __init__(self) -> None:
            super().__init__(trim_blocks=True, lstrip_blocks=True, extensions=_EXTENSIONS)
            self.violations: list[dict[str, str]] = []
            self.range_used = 0

        def unsafe_undefined(self, obj: Any, attribute: str) -> Any:
            escape = attribute.startswith("_") or attribute in unsafe_names or attribute in CRITICAL_NAMES
            kind = "escape" if escape or not sandbox.modifies_known_mutable(obj, attribute) else "mutation"
            self.violations.append(
                {"attribute": str(attribute)[:80], "type": type(obj).__name__, "kind": kind}
            )
            prefix = "mutation: " if kind == "mutation" else ""
            raise SecurityError(
                f"{prefix}access to attribute {attribute!r} of {type(obj).__name__!r} object is unsafe"
            )

        def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
            if operator == "**" and isinstance(right, int) and abs(right) > 256:
                raise _Budget("power")
            if operator == "*":
                seq, n = (left, right) if isinstance(right, int) else (right, left)
                if isinstance(seq, (str, list, tuple)) and isinstance(n, int) and len(seq) * n > max_str:
                    raise _Budget("output")
            if operator == "%" and isinstance(left, str) and not _safe_percent(left):
                raise _Budget("format")
            if operator == "+" and isinstance(left, (str, list)) and isinstance(right, (str, list)):
                if len(left) + len(right) > max_str:
                    raise _Budget("output")
            return super().call_binop(context, operator, left, right)

    env = Env()

    def capped_range(*args: int) -> range:
        r = range(*args)
        env.range_used += len(r)
        if len(r) > budget["max_range"] or env.range_used > budget["max_range_total"]:
            raise _Budget("range")
        return r

    def raise_exception(message: str) -> None:
        raise TemplateError(message)

    def tojson(
        x: Any,
        ensure_ascii: bool = False,
        indent: Any = None,
        separators: Any = None,
        sort_keys: bool = False,
    ) -> str:
        return json.dumps(
            x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys
        )

    def strftime_now(fmt: str) -> str:
        return datetime.datetime(2024, 7, 26, 12, 0, 0).strftime(str(fmt)[:64])

    class TemplateNamespace(Namespace):
        def __init__(*args: Any, **kwargs: Any) -> None:  # noqa: N805 - jinja2's Namespace signature
            self, rest = args[0], args[1:]
            attrs = dict(*rest, **kwargs)
            for name in attrs:
                if isinstance(name, str) and name.startswith("_"):
                    raise SecurityError(f"namespace attribute {name!r} is not allowed")
            Namespace.__init__(self, attrs)

    env.filters["tojson"] = tojson
    env.globals.update(
        range=capped_range,
        raise_exception=raise_exception,
        strftime_now=strftime_now,
        namespace=TemplateNamespace,
    )
    return env


def _child_main() -> None:  # pragma: no cover - runs in the child process (exercised by the tests)
    import signal

    request = json.loads(sys.stdin.buffer.read().decode("utf-8"))
    budget = request["budget"]
    env = _render_environment(budget)
    try:
        import resource

        mem = int(budget["memory_bytes"])
        resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
        cpu = int(budget["cpu_seconds"]) + 2
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    except (ImportError, ValueError, OSError):
        pass

    def on_timer(signum: int, frame: Any) -> None:
        raise _Budget("cpu")

    result: dict[str, Any] = {"outputs": {}, "errors": {}, "violations": []}
    try:
        signal.signal(signal.SIGVTALRM, on_timer)
        signal.setitimer(signal.ITIMER_VIRTUAL, float(budget["cpu_seconds"]))
    except (AttributeError, ValueError, OSError):
        pass
    try:
        template = env.from_string(request["source"])
    except _Budget as exc:
        result["errors"]["*"] = {"kind": "budget", "message": exc.limit}
        template = None
    except (TemplateError, RecursionError, MemoryError, ValueError, TypeError, OverflowError) as exc:
        result["errors"]["*"] = {"kind": "compile", "message": f"{type(exc).__name__}: {exc}"[:300]}
        template = None
    if template is not None:
        for name, messages in request["scenarios"].items():
            result["outputs"][name], error = _render_one(template, env, messages, int(budget["max_output"]))
            if error:
                result["errors"][name] = error
                if error["kind"] == "budget":
                    break
    try:
        signal.setitimer(signal.ITIMER_VIRTUAL, 0)
    except (AttributeError, ValueError, OSError):
        pass
    result["violations"] = env.violations[:20]
    sys.stdout.buffer.write(json.dumps(result).encode("utf-8"))


def _render_one(
    template: Any, env: Any, messages: list[dict[str, str]], max_output: int
) -> tuple[str, dict[str, str] | None]:
    from jinja2.exceptions import SecurityError

    chunks: list[str] = []
    total = 0
    context = {
        "messages": messages,
        "add_generation_prompt": True,
        "bos_token": "<s>",
        "eos_token": "</s>",
        "unk_token": "<unk>",
        "pad_token": "<pad>",
        "tools": None,
        "documents": None,
    }
    try:
        for chunk in template.generate(**context):
            total += len(chunk)
            if total > max_output:
                raise _Budget("output")
            chunks.append(chunk)
    except _Budget as exc:
        return "".join(chunks), {"kind": "budget", "message": exc.limit}
    except SecurityError as exc:
        return "".join(chunks), {"kind": "security", "message": str(exc)[:300]}
    except RecursionError:
        return "".join(chunks), {"kind": "budget", "message": "recursion"}
    except MemoryError:
        return "", {"kind": "budget", "message": "memory"}
    except TemplateError as exc:
        return "".join(chunks), {"kind": "template", "message": f"{type(exc).__name__}: {exc}"[:300]}
    except Exception as exc:  # noqa: BLE001 - any runtime failure of an untrusted template is data, not a crash
        return "".join(chunks), {"kind": "runtime", "message": f"{type(exc).__name__}: {exc}"[:300]}
    return "".join(chunks), None


# --------------------------------------------------------------------------------------------------
# Putting it together
# --------------------------------------------------------------------------------------------------


def _loc(location: Location, line: int | None, file_lines: bool) -> Location:
    return location.at(line=line) if (file_lines and line is not None) else location


def _bag(text: str) -> Counter[str]:
    return Counter(w for line in prose_lines(_CANARY_RE.sub("\n", text)) for w in _words(line))


def analyze_template(
    source: str,
    location: Location,
    *,
    render: bool = True,
    file_lines: bool = False,
    max_chars: int = Limits().max_text_file,
    budget: RenderBudget | None = None,
    tools_template: bool = False,
) -> Iterator[Finding]:
    """Analyse a chat template: static SSTI and injected-text checks, then a sandboxed render.

    Never raises for bad input: a template that does not parse yields ``TEMPLATE-MALFORMED``.
    ``file_lines``: the template is the whole file, so template line numbers are file lines (set
    ``Location.line``); otherwise they go to ``evidence['template_line']``.
    ``tools_template``: the template is only selected when the caller passes tools or documents
    (transformers' named ``tool_use`` / ``rag`` templates), so all its text is in the tools gate.
    """
    if len(source) > max_chars:
        yield TEMPLATE_MALFORMED(
            location, {"error": f"template longer than {max_chars} characters", "chars": len(source)}
        )
        return
    try:
        tree = parse_template(source)
    except TemplateSyntaxError as exc:
        yield TEMPLATE_MALFORMED(
            _loc(location, exc.lineno, file_lines),
            {"error": str(exc.message)[:300], "template_line": exc.lineno},
        )
        return
    except (RecursionError, MemoryError):
        yield TEMPLATE_MALFORMED(location, {"error": "template nesting too deep to parse"})
        return
    except (ValueError, TypeError, OverflowError) as exc:  # lexer edge cases (e.g. bad escapes)
        yield TEMPLATE_MALFORMED(location, {"error": f"{type(exc).__name__}: {exc}"[:300]})
        return
    try:
        pending, expected = _static_findings(
            source, tree, location, file_lines, TOOLS if tools_template else ALWAYS
        )
    except RecursionError:
        yield TEMPLATE_MALFORMED(location, {"error": "template nesting too deep to analyse"})
        return
    if render:
        result = render_sandboxed(source, budget)
        pending = _apply_render(pending, expected, result, location, text_diff=not tools_template)
    for rule_, severity, loc, evidence in pending:
        yield rule_(loc, evidence, severity=severity)


Pending = list[tuple[Any, Severity, Location, dict[str, Any]]]

_JINJA_MARKS = ("{{", "{%")


def looks_like_jinja(text: str) -> bool:
    """A string worth parsing as a Jinja template (an expression or statement delimiter)."""
    return any(m in text for m in _JINJA_MARKS)


def analyze_embedded_template(source: str, location: Location, *, max_chars: int) -> Iterator[Finding]:
    """A Jinja template found in some string of a config (not a known chat-template field): checked
    statically for what it can reach (SSTI, dunder access, dynamic names, gadget globals, includes).
    Text it emits is not judged as injected instructions: such a string is a prompt or format
    template of some tool, not the conversation's template. A string that does not parse as Jinja is
    not a template and yields nothing."""
    if len(source) > max_chars or not looks_like_jinja(source):
        return
    try:
        tree = parse_template(source)
        pending, _expected = _static_findings(source, tree, location, False, ALWAYS)
    except (TemplateSyntaxError, RecursionError, MemoryError, ValueError, TypeError, OverflowError):
        return
    for rule_, severity, loc, evidence in pending:
        if rule_ in _REACH_RULES:
            yield rule_(loc, evidence, severity=severity)


def _static_findings(
    source: str, tree: nodes.Template, location: Location, file_lines: bool, base_gate: int = ALWAYS
) -> tuple[Pending, dict[str, str]]:
    model = _Model()
    for n in tree.find_all(nodes.Name):
        if n.ctx in ("store", "param"):
            model.bound.add(n.name)
    for imp in tree.find_all((nodes.Import, nodes.FromImport)):
        if isinstance(imp, nodes.Import):
            model.bound.add(imp.target)
        elif isinstance(imp, nodes.FromImport):
            for entry in imp.names:
                model.bound.add(entry[1] if isinstance(entry, tuple) else entry)
    _Walker(model).walk(tree.body, base_gate, _EMIT)
    folder = _Folder(model)
    pending: Pending = []

    analyzer = _AccessAnalyzer(tree, model, folder)
    analyzer.run()
    obfuscation = sorted(set(_ESCAPE_RE.findall(source)))[:8]
    for root, accesses in analyzer.groups.values():
        rule_, severity, names = _classify(accesses)
        if rule_ is None:
            continue
        line = next((a.line for a in accesses if a.line is not None), None)
        evidence: dict[str, Any] = {
            "expression": _expr_text(root)[:300],
            "names": names[:20],
            "kinds": sorted({a.kind for a in accesses}),
            "template_line": line,
        }
        if obfuscation:
            evidence["escapes_in_source"] = obfuscation
        pending.append((rule_, severity, _loc(location, line, file_lines), evidence))
    for kind, target, line in analyzer.includes:
        pending.append(
            (TEMPLATE_INCLUDE, TEMPLATE_INCLUDE.severity, _loc(location, line, file_lines),
             {"statement": kind, "template": target[:200], "template_line": line})
        )  # fmt: skip

    pieces = _TextExtractor(model, folder).emitted()
    for gate in (ALWAYS, DEFAULT_SYSTEM, TOOLS):
        doc, lines = _gate_doc(pieces, gate)
        prose = list(dict.fromkeys(prose_lines(doc)))  # a variable emitted in several branches counts once
        words = sum(len(_words(p)) for p in prose)
        hits = _suspicious(doc, tool_instructions=gate != TOOLS)
        if not hits and (gate == TOOLS or words < MIN_WORDS):
            continue
        excerpt = "\n".join(prose)[:600] if prose else " ".join(doc.split())[:600]
        evidence = {
            "gate": _GATE_NAMES[gate],
            "text": excerpt,
            "words": words,
            "template_lines": lines[:20],
            "source": "static",
        }
        if hits:
            evidence["suspicious"] = hits
            pending.append(
                (
                    TEMPLATE_INJECTED_INSTRUCTION,
                    Severity.HIGH,
                    _loc(location, lines[0] if lines else None, file_lines),
                    evidence,
                )
            )
        elif gate == DEFAULT_SYSTEM:
            pending.append((TEMPLATE_DEFAULT_SYSTEM_PROMPT, Severity.INFO, location, evidence))
        else:
            pending.append(
                (
                    TEMPLATE_INJECTED_INSTRUCTION,
                    Severity.MEDIUM,
                    _loc(location, lines[0] if lines else None, file_lines),
                    evidence,
                )
            )
    # What the static pass expects each render to contain (for the canary diff).
    expected = {"always": _gate_doc(pieces, ALWAYS)[0], "default": _gate_doc(pieces, DEFAULT_SYSTEM)[0]}
    return pending, expected


def _apply_render(
    pending: Pending,
    expected: dict[str, str],
    result: RenderResult,
    location: Location,
    *,
    text_diff: bool = True,
) -> Pending:
    out: Pending = list(pending)
    if result.skipped:
        for _, _, _, evidence in out:
            evidence["render"] = f"skipped: {result.skipped}"
        return out
    # 1. The sandbox stopped an escape attempt.
    escapes = list(
        {tuple(sorted(v.items())): v for v in result.violations if v.get("kind") == "escape"}.values()
    )
    security = [
        e
        for e in result.errors.values()
        if e.get("kind") == "security" and not e.get("message", "").startswith("mutation: ")
    ]
    if escapes or security:
        messages = sorted({e["message"] for e in security})[:5]
        evidence = {"violations": escapes[:10], "errors": messages, "source": "render"}
        static_critical = [p for p in out if p[0] is TEMPLATE_SSTI]
        if static_critical:
            for _, _, _, ev in static_critical:
                ev["render_confirmed"] = True
                ev["sandbox"] = evidence
        else:
            out.append((TEMPLATE_SANDBOX_VIOLATION, Severity.CRITICAL, location, evidence))
    # 2. Budgets.
    budget_errors = {k: e["message"] for k, e in result.errors.items() if e.get("kind") == "budget"}
    if budget_errors:
        out.append(
            (TEMPLATE_RENDER_LIMIT, Severity.MEDIUM, location, {"limits": budget_errors, "source": "render"})
        )
    # 3. Canary diff: text in the output that the messages did not bring.
    static_always = _bag(expected["always"])
    static_default = _bag(expected["default"])
    with_system = result.outputs.get("with_system") if "with_system" not in result.errors else None
    no_system = result.outputs.get("no_system") if "no_system" not in result.errors else None
    rendered_always = with_system if with_system is not None else no_system
    for rule_, _, _, evidence in out:
        if (
            rule_ in (TEMPLATE_INJECTED_INSTRUCTION, TEMPLATE_DEFAULT_SYSTEM_PROMPT)
            and evidence.get("source") == "static"
        ):
            output = (
                rendered_always
                if evidence["gate"] == "always"
                else no_system
                if evidence["gate"] == "default-system-prompt"
                else None
            )
            if output is not None:
                want = _bag(evidence["text"])
                found = sum((want & _bag(output)).values())
                evidence["render_confirmed"] = bool(want) and found * 2 >= sum(want.values())
    extras: list[tuple[str, str, Counter[str]]] = []
    if rendered_always is not None:
        explained = static_always + (static_default if with_system is None else Counter())
        extras.append(("always", rendered_always, _bag(rendered_always) - explained))
    if with_system is not None and no_system is not None:
        extra_default = _bag(no_system) - _bag(with_system) - static_default - static_always
        extras.append(("default-system-prompt", no_system, extra_default))
    for gate, output, missing in extras if text_diff else []:
        count = sum(missing.values())
        lines = [
            ln for ln in prose_lines(_CANARY_RE.sub("\n", output)) if any(w in missing for w in _words(ln))
        ]
        text = "\n".join(lines)
        hits = _suspicious(text, tool_instructions=True) if count else []
        if not hits and count < MIN_WORDS:
            continue
        evidence = {
            "gate": gate,
            "text": text[:600],
            "words": count,
            "source": "render",
            "render_confirmed": True,
        }
        if hits:
            evidence["suspicious"] = hits
            out.append((TEMPLATE_INJECTED_INSTRUCTION, Severity.HIGH, location, evidence))
        elif gate == "default-system-prompt":
            out.append((TEMPLATE_DEFAULT_SYSTEM_PROMPT, Severity.INFO, location, evidence))
        else:
            out.append((TEMPLATE_INJECTED_INSTRUCTION, Severity.MEDIUM, location, evidence))
    return out


# --------------------------------------------------------------------------------------------------
# The file scanner
# --------------------------------------------------------------------------------------------------

TEMPLATE_SUFFIXES = (".jinja", ".jinja2", ".j2", ".template", ".tmpl", ".tpl")
# What a template can reach (vs what it emits): the checks run on templates found anywhere.
_REACH_RULES = (
    TEMPLATE_SSTI,
    TEMPLATE_DUNDER_ACCESS,
    TEMPLATE_ATTR_FILTER,
    TEMPLATE_GADGET_GLOBAL,
    TEMPLATE_INCLUDE,
)
# Named templates transformers selects only when tools / documents are passed.
TOOLS_TEMPLATE_NAMES = frozenset({"tool_use", "rag"})


class TemplateScanner(FormatScanner):
    """Standalone Jinja chat-template files (``chat_template.jinja``, ``additional_chat_templates/*``).

    JSON files that carry templates (``tokenizer_config.json``, ``chat_template.json``) go to the JSON
    config scanner, which parses the JSON once, strictly, and calls ``analyze_template`` per template.
    """

    name = "template"
    malformed_rule = TEMPLATE_MALFORMED

    def sniff(self, head: bytes, name: str) -> bool:
        if not PurePosixPath(name).name.lower().endswith(TEMPLATE_SUFFIXES):
            return False
        return b"\x00" not in head  # text; bad UTF-8 is reported by scan() as malformed

    def scan(self, stream: BinaryIO, size: int, location: Location, ctx: ScanContext) -> Iterator[Finding]:
        limit = ctx.limits.max_text_file
        if size > limit:
            raise LimitExceeded(f"template file is {size} bytes, limit {limit}", offset=limit)
        data = stream.read(limit + 1)
        try:
            source = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise FormatError(f"template is not UTF-8 text: {exc.reason}", offset=exc.start) from None
        path = PurePosixPath(location.member or location.file)
        tools_only = path.parent.name == "additional_chat_templates" and path.stem in TOOLS_TEMPLATE_NAMES
        yield from analyze_template(
            source, location, file_lines=True, max_chars=limit, tools_template=tools_only
        )
