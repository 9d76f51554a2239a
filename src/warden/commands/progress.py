"""A Rich progress bar on a TTY; nothing at all otherwise (CI logs and JSON output stay clean)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from warden.scan.api import ProgressFn


@contextmanager
def byte_progress(quiet: bool) -> Iterator[ProgressFn | None]:
    if quiet or not sys.stderr.isatty():
        yield None
        return
    console = Console(stderr=True)
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    ) as bar:
        tasks: dict[str, TaskID] = {}

        def update(desc: str, advance: int, total: int) -> None:
            if desc not in tasks:
                tasks[desc] = bar.add_task(desc, total=total)
            bar.update(tasks[desc], advance=advance, total=total)

        yield update
