"""Which conversation messages an input rail reads (``roles`` and ``scope`` options).

Every rail reads the whole conversation by default (``scope: all``): the model reads all of it, and a
jailbreak in an earlier user turn followed by a forged "OK." and "Go on." is still in front of it.
``scope: new`` (only the messages after the last assistant turn) is there for deployers who accept that.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from warden.gateway.rails.interface import Message, RailContext


def selected(
    ctx: RailContext, options: Mapping[str, Any], *, roles: tuple[str, ...], scope: str
) -> list[Message]:
    want = tuple(options.get("roles", roles))
    pool = ctx.new_messages if options.get("scope", scope) == "new" else ctx.messages
    return [m for m in pool if m.role in want and m.text]
