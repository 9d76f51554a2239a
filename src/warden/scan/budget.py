"""A time and memory budget per scanned file, so that no file can hang the scan.

Each top-level file gets a deadline (``Limits.max_file_seconds`` plus ``Limits.file_seconds_per_gib``
for its size: a 100 GB checkpoint may take longer than a config) and a memory allowance
(``Limits.max_file_memory`` of memory above what the process used when the file started).

Memory is counted two ways and the larger is charged: the growth of resident memory (catches any
parser), and the bytes the scanner itself holds in in-memory spools (``warden.formats.spool``). The second is
needed because the allocator reuses memory the process freed earlier, so a 14 MiB buffer need not
raise RSS at all in a long-lived process: RSS alone under-counts exactly when a scan follows others.

Two ways of enforcing it, because parsers spend their time in two ways:

* **Cooperatively**, where the core regains control: between the findings a scanner yields and at
  every member a container hands back (``check``).
* **Preemptively**, for a parser busy inside one long computation (constant-folding a huge template,
  walking a huge pickle, waiting on the sandboxed render): in the main thread an interval timer
  (``ITIMER_REAL``) calls a handler every ``TICK`` seconds that raises ``BudgetExceeded`` into
  whatever the scanner is running. It only raises while a scanner is running (``active``), never
  into the code that consumes the findings; the previous SIGALRM handler and timer (pytest-timeout
  uses them) are put back afterwards with the time that was left on them.

``BudgetExceeded`` derives from ``BaseException`` so that a parser's ``except Exception`` safety net
cannot swallow it; ``finally`` blocks still run (temporary files are closed, a render child is
killed by ``subprocess.run``). Outside the main thread only the cooperative checks apply.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

from warden.formats.interface import Limits
from warden.formats.spool import CURRENT

TICK = 0.25  # seconds between preemptive checks
RERAISE = 1.0  # seconds after an interruption before the next one (cleanup runs meanwhile)
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


class BudgetExceeded(BaseException):  # noqa: N818 - an interruption, not an error a parser handles
    """The file ran past its time or memory budget."""

    def __init__(self, limit: str, detail: str) -> None:
        super().__init__(detail)
        self.limit = limit  # "time" | "memory"
        self.detail = detail
        self.where: str | None = None  # innermost member being scanned, set by the core


def rss_bytes() -> int | None:
    """Resident memory of this process now (Linux /proc), None where unavailable."""
    try:
        with open("/proc/self/statm", "rb") as fh:
            return int(fh.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return None


class FileBudget:
    """The budget of one top-level file; ``active`` counts scanner frames currently running."""

    def __init__(self, limits: Limits, size: int) -> None:
        self.started = time.monotonic()
        self.seconds = limits.max_file_seconds + limits.file_seconds_per_gib * size / 2**30
        self.deadline = self.started + self.seconds
        self.memory = limits.max_file_memory
        base = rss_bytes()
        self.rss_limit = base + self.memory if base is not None and self.memory > 0 else None
        self.active = 0
        self.held = 0  # bytes held in in-memory spools (MeteredSpool) for this file
        self.tripped: BudgetExceeded | None = None
        self._raised_at = -1e9

    def over(self) -> BudgetExceeded | None:
        now = time.monotonic()
        if now > self.deadline:
            return BudgetExceeded(
                "time", f"not checked within the {self.seconds:.0f} s time budget for this file"
            )
        over_memory = self.memory > 0 and self.held > self.memory
        if not over_memory and self.rss_limit is not None:
            rss = rss_bytes()
            over_memory = rss is not None and rss > self.rss_limit
        if over_memory:
            return BudgetExceeded(
                "memory",
                f"scanning it needed more than {self.memory >> 20} MiB of memory beyond the scanner's own",
            )
        return None

    def check(self) -> None:
        """Cooperative check: raise if the budget is spent."""
        exc = self.over()
        if exc is not None:
            self.tripped = exc
            raise exc

    def _on_tick(self, signum: int, frame: FrameType | None) -> None:
        if self.active <= 0:
            return
        now = time.monotonic()
        if now - self._raised_at < RERAISE:
            return  # let the cleanup of the last interruption run
        exc = self.over()
        if exc is not None:
            # raised again on later ticks if it lands somewhere that swallows it (a __del__, a
            # callback whose exceptions are ignored): the file must stop whatever it was doing
            self.tripped = exc
            self._raised_at = now
            raise exc


@contextmanager
def watchdog(budget: FileBudget) -> Iterator[FileBudget]:
    """Arm the preemptive timer for ``budget`` while the block runs (main thread only), and make
    it the budget that ``spool`` charges."""
    token = CURRENT.set(budget)
    try:
        with _timer(budget):
            yield budget
    finally:
        CURRENT.reset(token)


@contextmanager
def _timer(budget: FileBudget) -> Iterator[FileBudget]:
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield budget
        return
    try:
        old_handler: Any = signal.signal(signal.SIGALRM, budget._on_tick)
    except (ValueError, OSError):  # not in the main interpreter / signals unavailable
        yield budget
        return
    old_timer = signal.setitimer(signal.ITIMER_REAL, TICK, TICK)
    armed_at = time.monotonic()
    try:
        yield budget
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old_handler)
        remaining, interval = old_timer
        if remaining > 0:
            left = remaining - (time.monotonic() - armed_at)
            signal.setitimer(signal.ITIMER_REAL, max(left, 1e-3), interval)
