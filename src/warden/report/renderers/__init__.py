"""Report renderers, found by name (the CLI's ``--format`` choices map here; a test checks every
choice is handled)."""

from __future__ import annotations

import importlib

from warden.report.renderers.interface import Renderer, RendererError

RENDERERS: dict[str, tuple[str, str]] = {
    "table": ("table", "TableRenderer"),
    "json": ("json", "JsonRenderer"),
    "markdown": ("markdown", "MarkdownRenderer"),
    "sarif": ("sarif", "SarifRenderer"),
    "html": ("html", "HtmlRenderer"),
}


def get_renderer(name: str) -> Renderer:
    try:
        module, cls = RENDERERS[name]
    except KeyError:
        raise RendererError(f"unknown report format {name!r}; choose from {', '.join(RENDERERS)}") from None
    try:
        mod = importlib.import_module(f"warden.report.renderers.{module}")
    except ModuleNotFoundError as exc:
        if exc.name == f"warden.report.renderers.{module}":
            raise RendererError(f"the {name} renderer is not available in this build") from None
        raise
    renderer: Renderer = getattr(mod, cls)()
    return renderer


__all__ = ["RENDERERS", "Renderer", "RendererError", "get_renderer"]
