"""Backends: one interface (``interface.Backend``), one module per way of running a model."""

from __future__ import annotations

from pathlib import Path

from warden.behavior.backends.interface import (
    Backend,
    BackendError,
    Conversation,
    GenerationParams,
    Message,
    user,
)

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
    """Open ``model`` with the named backend (``model`` is a local dir, or for openai the name)."""
    if backend == "transformers":
        from warden.behavior.backends.transformers_backend import TransformersBackend

        return TransformersBackend(model, batch_size=batch_size, device=device)
    if backend == "openai":
        from warden.behavior.backends.openai_backend import OpenAIBackend

        if not base_url:
            raise BackendError("the openai backend needs --base-url (e.g. http://127.0.0.1:8000/v1)")
        return OpenAIBackend(
            base_url, model_name or str(model), api_key_env=api_key_env, concurrency=concurrency
        )
    if backend == "vllm":
        from warden.behavior.backends.vllm_backend import VLLMBackend

        return VLLMBackend(model)
    raise BackendError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")


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
