"""Insecure code in the response's code blocks (output rail), checked with bandit run in-process.

Python blocks (``python``/``py`` fences, or unlabelled fences that parse as Python) go through bandit's
node visitor — the same engine as the ``bandit`` CLI, fed from memory instead of files. Bandit parses;
it never runs the code. Issues at or above ``min_severity`` (default MEDIUM) fire.
"""

from __future__ import annotations

import ast
import hashlib
import io
import re
import threading
from collections.abc import Mapping
from typing import Any

from warden.gateway.rails.interface import Action, Detection, Rail, RailContext, register

FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[^\n]*\n(.*?)```", re.S)
_SEV = {"LOW": 0, "MEDIUM": 1, "HIGH": 2}


def python_blocks(text: str) -> list[str]:
    blocks = []
    for m in FENCE.finditer(text):
        lang, body = m.group(1).lower(), m.group(2)
        if lang in ("python", "py", "python3"):
            blocks.append(body)
        elif lang == "":
            try:
                ast.parse(body)
            except (SyntaxError, ValueError):
                continue
            blocks.append(body)
    return blocks


def open_fence_start(text: str) -> int | None:
    """Where an unclosed code fence starts (streaming holds everything after it back), else None."""
    count = 0
    last = None
    for m in re.finditer(r"```", text):
        count += 1
        last = m.start()
    return last if count % 2 == 1 else None


class _Bandit:
    """One BanditManager reused under a lock (it is not thread-safe)."""

    def __init__(self) -> None:
        from bandit.core import config, manager

        self._mgr = manager.BanditManager(config.BanditConfig(), "file", quiet=True)
        self._lock = threading.Lock()
        self._cache: dict[str, list[dict[str, Any]]] = {}  # streaming re-checks the same closed blocks

    def issues(self, code: str) -> list[dict[str, Any]]:
        key = hashlib.sha256(code.encode("utf-8")).hexdigest()
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        found = self._scan(code)
        with self._lock:
            self._cache[key] = found
            if len(self._cache) > 1024:
                self._cache.pop(next(iter(self._cache)))
        return found

    def _scan(self, code: str) -> list[dict[str, Any]]:
        with self._lock:
            self._mgr.results = []
            self._mgr.scores = []
            self._mgr.skipped = []
            name = "<response>"
            self._mgr._parse_file(name, io.BytesIO(code.encode("utf-8")), [name])  # noqa: SLF001 - in-memory input
            return [
                {
                    "test_id": r.test_id,
                    "severity": r.severity,
                    "confidence": r.confidence,
                    "text": r.text,
                    "line": r.lineno,
                }
                for r in self._mgr.results
            ]


_BANDIT: _Bandit | None = None
_BANDIT_LOCK = threading.Lock()


def bandit() -> _Bandit:
    global _BANDIT
    with _BANDIT_LOCK:
        if _BANDIT is None:
            _BANDIT = _Bandit()
        return _BANDIT


@register
class InsecureCodeRail(Rail):
    type = "insecure_code"
    stages = frozenset({"output"})
    actions = frozenset({Action.BLOCK, Action.FLAG})
    slow = True

    def __init__(self, name: str, options: Mapping[str, Any]) -> None:
        super().__init__(name, options)
        self.min_severity = _SEV[str(options.get("min_severity", "MEDIUM")).upper()]

    def warm_up(self) -> None:
        bandit()

    def inline(self, stage: str, text: str) -> bool:
        return "```" not in text  # no fenced code: nothing to scan, no worker thread needed

    def detect_output(self, text: str, ctx: RailContext) -> Detection | None:
        found: list[dict[str, Any]] = []
        for block in python_blocks(text):
            found.extend(i for i in bandit().issues(block) if _SEV.get(i["severity"], 0) >= self.min_severity)
        if not found:
            return None
        ids = sorted({i["test_id"] for i in found})
        detail = "; ".join(f"{i['test_id']} {i['text']}" for i in found[:3])
        return Detection(reason=f"insecure code: {detail}", labels=tuple(ids))
