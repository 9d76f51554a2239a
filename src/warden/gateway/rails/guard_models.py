"""Optional stronger classifiers, configured by local path or URL and import-guarded.

``hf_classifier``: a transformers sequence-classification model from a local directory — Llama Prompt
Guard 2 (labels BENIGN/MALICIOUS) or ProtectAI's DeBERTa injection detector (SAFE/INJECTION). Loaded with
``local_files_only`` and never ``trust_remote_code``. options: ``path``, ``positive_labels`` (default
MALICIOUS, INJECTION, JAILBREAK, LABEL_1), ``threshold`` (0.5), ``max_tokens`` (512).

``llama_guard``: Llama Guard served by an OpenAI-compatible server (vLLM); the conversation goes to
``url`` and the verdict's first line is ``safe`` or ``unsafe`` (then the violated categories). options:
``url``, ``model``, ``timeout_s`` (10), ``api_key_env``. Works on input and output. An unparseable
verdict is an error, never a pass.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from warden.gateway.errors import GatewayError
from warden.gateway.rails._select import selected
from warden.gateway.rails.interface import Action, Detection, Rail, RailContext, register

_DEFAULT_POSITIVE = ("MALICIOUS", "INJECTION", "JAILBREAK", "LABEL_1")


@register
class HFClassifierRail(Rail):
    type = "hf_classifier"
    stages = frozenset({"input"})
    actions = frozenset({Action.BLOCK, Action.FLAG, Action.REQUIRE_APPROVAL})
    slow = True

    def __init__(self, name: str, options: Mapping[str, Any]) -> None:
        super().__init__(name, options)
        if "path" not in options:
            raise ValueError("hf_classifier: options.path (a local model directory) is required")
        self.path = Path(str(options["path"]))
        self.positive = {str(x).upper() for x in options.get("positive_labels", _DEFAULT_POSITIVE)}
        self.threshold = float(options.get("threshold", 0.5))
        self.max_tokens = int(options.get("max_tokens", 512))
        self._model: Any = None
        self._lock = threading.Lock()

    def _load(self) -> None:
        if self._model is not None:
            return
        try:
            import torch
            from transformers import AutoModelForSequenceClassification, AutoTokenizer
        except ImportError:
            raise GatewayError("hf_classifier needs torch and transformers", code="missing_extra") from None
        if not self.path.is_dir():
            raise GatewayError(
                "classifier directory not found", path=str(self.path), code="invalid_classifier"
            )
        self._torch = torch
        self._tok = AutoTokenizer.from_pretrained(str(self.path), local_files_only=True)
        self._model = AutoModelForSequenceClassification.from_pretrained(
            str(self.path), local_files_only=True
        ).eval()
        labels = self._model.config.id2label
        self._pos_idx = [int(i) for i, lab in labels.items() if str(lab).upper() in self.positive]
        if not self._pos_idx:
            raise GatewayError(
                f"none of the model's labels {labels} is a positive label {sorted(self.positive)}"
            )

    def warm_up(self) -> None:
        self._load()

    def scores(self, texts: list[str]) -> list[float]:
        with self._lock:
            self._load()
            torch = self._torch
            with torch.inference_mode():
                enc = self._tok(
                    texts, padding=True, truncation=True, max_length=self.max_tokens, return_tensors="pt"
                )
                probs = torch.softmax(self._model(**enc).logits, dim=-1)  # [N, labels]
                return [float(x) for x in probs[:, self._pos_idx].sum(-1).tolist()]

    def detect_input(self, ctx: RailContext) -> Detection | None:
        msgs = selected(ctx, self.options, roles=("user", "tool"), scope="all")
        if not msgs:
            return None
        scores = self.scores([m.text for m in msgs])
        best = max(range(len(scores)), key=scores.__getitem__)
        if scores[best] >= self.threshold:
            return Detection(
                reason=f"{self.path.name}: p={scores[best]:.2f} on {msgs[best].role} message",
                score=scores[best],
            )
        return None


def parse_guard_verdict(text: str) -> tuple[bool, list[str]]:
    """``safe`` → (False, []); ``unsafe\\nS1,S10`` → (True, ["S1", "S10"]). Anything else raises."""
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    if not lines or lines[0].lower() not in ("safe", "unsafe"):
        raise GatewayError(f"unparseable guard verdict {text[:80]!r}", code="guard_unparseable")
    unsafe = lines[0].lower() == "unsafe"
    cats = [c.strip() for c in lines[1].split(",")] if unsafe and len(lines) > 1 else []
    return unsafe, cats


@register
class LlamaGuardRail(Rail):
    type = "llama_guard"
    stages = frozenset({"input", "output"})
    actions = frozenset({Action.BLOCK, Action.FLAG})

    def __init__(self, name: str, options: Mapping[str, Any]) -> None:
        super().__init__(name, options)
        if "url" not in options:
            raise ValueError("llama_guard: options.url (an OpenAI-compatible base URL) is required")
        self.url = str(options["url"]).rstrip("/")
        self.model = str(options.get("model", "llama-guard"))
        self.timeout = float(options.get("timeout_s", 10.0))
        env = options.get("api_key_env")
        self.api_key = os.environ.get(str(env)) if env else None

    async def _ask(self, messages: list[dict[str, str]]) -> Detection | None:
        import httpx

        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                resp = await client.post(
                    f"{self.url}/chat/completions",
                    json={"model": self.model, "messages": messages, "temperature": 0, "max_tokens": 20},
                    headers=headers,
                )
                resp.raise_for_status()
                text = resp.json()["choices"][0]["message"]["content"] or ""
        except (httpx.HTTPError, KeyError, IndexError, TypeError, ValueError) as exc:
            raise GatewayError(f"llama_guard unavailable: {exc}", code="guard_unavailable") from None
        unsafe, cats = parse_guard_verdict(text)
        if unsafe:
            return Detection(reason="llama guard: unsafe " + ",".join(cats), labels=tuple(cats))
        return None

    async def adetect_input(self, ctx: RailContext) -> Detection | None:
        msgs = selected(ctx, self.options, roles=("user",), scope="all")
        if not msgs:
            return None
        return await self._ask([{"role": "user", "content": m.text} for m in msgs])

    async def adetect_output(self, text: str, ctx: RailContext) -> Detection | None:
        return await self._ask(
            [{"role": "user", "content": ctx.last_user}, {"role": "assistant", "content": text}]
        )
