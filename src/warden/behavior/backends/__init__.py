"""Backends: one interface (``interface.Backend``), one module per way of running a model."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from warden.behavior.backends.interface import (
    Backend,
    BackendError,
    Conversation,
    GenerationParams,
    Message,
    user,
)

if TYPE_CHECKING:
    from warden.sources import ResolvedSource

BACKENDS = ("transformers", "openai", "vllm")


def open_backend(
    model: str | Path,
    backend: str = "transformers",
    *,
    base_url: str | None = None,
    api_key_env: str | None = None,
    model_name: str | None = None,
    batch_size: int = 32,
    device: str = "auto",
    concurrency: int = 8,
) -> Backend:
    """Open ``model`` with the named backend. For the local backends ``model`` is anything the source
    resolver takes (a Hugging Face directory, a GGUF file or a folder holding one, a hub id); for
    openai it is the served model's name."""
    if backend == "transformers":
        from warden.behavior.backends.transformers_backend import TransformersBackend

        src = _local(model)
        gguf = src.gguf
        if gguf is not None:
            return TransformersBackend(src.path, gguf_file=gguf, batch_size=batch_size, device=device)
        return TransformersBackend(src.path, batch_size=batch_size, device=device)
    if backend == "openai":
        from warden.behavior.backends.openai_backend import OpenAIBackend

        if not base_url:
            raise BackendError("the openai backend needs --base-url (e.g. http://127.0.0.1:8000/v1)")
        return OpenAIBackend(
            base_url, model_name or str(model), api_key_env=api_key_env, concurrency=concurrency
        )
    if backend == "vllm":
        from warden.behavior.backends.vllm_backend import VLLMBackend

        return VLLMBackend(_local(model).path)
    raise BackendError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")


def _local(model: str | Path) -> ResolvedSource:
    """The local files behind ``model`` (hub ids resolved as the commands do; offline per HF_HUB_OFFLINE)."""
    from warden.errors import SourceError
    from warden.sources import resolve

    try:
        return resolve(str(model))
    except SourceError as exc:
        raise BackendError(exc.message, path=exc.path, hint=exc.hint) from exc


__all__ = [
    "BACKENDS",
    "Backend",
    "BackendError",
    "Conversation",
    "GenerationParams",
    "Message",
    "open_backend",
    "user",
]
