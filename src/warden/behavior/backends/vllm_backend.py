"""vLLM offline engine (optional): for large models on a GPU box. Import-guarded: this module
imports without vllm, and using it without vllm raises a clear ``BackendError``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from warden.behavior.backends.interface import (
    Backend,
    BackendError,
    Conversation,
    GenerationParams,
    ProgressFn,
)
from warden.behavior.backends.transformers_backend import dir_digest


def vllm_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("vllm") is not None


class VLLMBackend(Backend):
    name = "vllm"

    def __init__(self, path: str | Path, *, tensor_parallel_size: int = 1, dtype: str = "auto") -> None:
        if not vllm_available():
            raise BackendError(
                "the vllm backend needs the vllm package, which is not installed",
                hint="pip install vllm (on a GPU machine), or serve the model with any OpenAI-compatible "
                "server and use --backend openai",
            )
        from vllm import LLM

        self.path = Path(path)
        if not (self.path / "config.json").is_file():
            raise BackendError("not a local Hugging Face model directory (no config.json)", path=str(path))
        self.llm = LLM(
            model=str(self.path),
            trust_remote_code=False,
            tensor_parallel_size=tensor_parallel_size,
            dtype=dtype,
        )
        self._digest: str | None = None

    def model_digest(self) -> str:
        if self._digest is None:
            self._digest = "sha256:" + dir_digest(self.path)
        return self._digest

    def describe(self) -> dict[str, Any]:
        return {"backend": self.name, "path": str(self.path)}

    def generate(
        self,
        conversations: Sequence[Conversation],
        params: GenerationParams,
        progress: ProgressFn | None = None,
    ) -> list[str]:
        from vllm import SamplingParams

        sp = SamplingParams(
            max_tokens=params.max_new_tokens,
            temperature=params.temperature,
            top_p=params.top_p if not params.greedy else 1.0,
            seed=params.seed,
        )
        msgs = [[{"role": m.role, "content": m.content} for m in c] for c in conversations]
        outs = self.llm.chat(msgs, sp, use_tqdm=False)  # vLLM batches continuously on its own
        if progress is not None:
            progress(len(conversations))
        return [o.outputs[0].text.strip() for o in outs]
