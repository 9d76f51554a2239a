"""In-memory spools charged to the scanned file's memory budget (``warden.scan.budget``).

A parser that inflates a member keeps it in memory up to a size and then on disk. The bytes it holds
in memory are counted here, not read off the process's resident memory, because the allocator hands
back memory the process freed earlier: RSS alone misses a 14 MiB buffer in a long-lived process.
The budget of the file being scanned is found through a context variable the scanner core sets.
"""

from __future__ import annotations

import contextvars
import tempfile
from typing import IO, Any, Protocol, cast


class Charged(Protocol):
    """What a spool charges: the file budget's held-bytes counter and its check."""

    held: int

    def check(self) -> None: ...


CURRENT: contextvars.ContextVar[Charged | None] = contextvars.ContextVar("warden_scan_budget", default=None)


class MeteredSpool(tempfile.SpooledTemporaryFile):  # type: ignore[type-arg]
    """A spooled temp file whose in-memory bytes are charged to the file's budget until it rolls
    over to disk or closes. Writes check the budget, so an inflating member stops at the limit."""

    def __init__(self, max_size: int, prefix: str) -> None:
        super().__init__(max_size=max_size, prefix=prefix)
        self._budget = CURRENT.get()
        self._charged = 0

    def write(self, s: Any) -> int:
        rv = super().write(s)
        budget = self._budget
        if budget is not None:
            now = 0 if self._rolled else max(self._charged, self._file.tell())  # type: ignore[attr-defined]
            budget.held += now - self._charged
            self._charged = now
            if self._charged:
                budget.check()
        return rv

    def rollover(self) -> None:
        super().rollover()
        self._release()

    def close(self) -> None:
        super().close()
        self._release()

    def _release(self) -> None:
        if self._budget is not None and self._charged:
            self._budget.held -= self._charged
            self._charged = 0


def memory_spool(max_size: int, prefix: str) -> IO[bytes]:
    """A temp file kept in memory up to ``max_size`` bytes, charged to the current file's budget."""
    return cast(IO[bytes], MeteredSpool(max_size, prefix))
