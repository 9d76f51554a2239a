"""Which conversation messages an input rail reads (``roles`` and ``scope`` options)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from warden.gateway.rails.interface import Message, RailContext


def selected(
    ctx: RailContext, options: Mapping[str, Any], *, roles: tuple[str, ...], scope: str
) -> list[Message]:
    want = tuple(options.get("roles", roles))
    pool = ctx.messages if options.get("scope", scope) == "all" else ctx.new_messages
    return [m for m in pool if m.role in want and m.text]
