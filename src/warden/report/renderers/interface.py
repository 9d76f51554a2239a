"""Renderers turn one ``Report`` into one output format. One module per format."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

from warden.errors import WardenError
from warden.report.model import Report


class RendererError(WardenError):
    """A report could not be rendered in the asked format."""


class Renderer(ABC):
    name: ClassVar[str]
    media_type: ClassVar[str]
    extension: ClassVar[str]

    @abstractmethod
    def render(self, report: Report) -> str:
        """The whole document as text."""
