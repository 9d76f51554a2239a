"""The versioned JSON report (schema in ``warden.report.model``; top-level names are a contract)."""

from __future__ import annotations

import json

from warden.report.model import Report
from warden.report.renderers.interface import Renderer


class JsonRenderer(Renderer):
    name = "json"
    media_type = "application/json"
    extension = ".json"

    def render(self, report: Report) -> str:
        return json.dumps(report.to_dict(), indent=2, sort_keys=False, ensure_ascii=False) + "\n"
