"""Group-committing audit writer.

The server awaits ``append``: the record is sealed and committed before the call returns, so a response
is never sent ahead of its record. One writer thread drains the queue and commits everything waiting in
one transaction (group commit): at 200 concurrent requests that is one commit per batch, not per request.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import queue
import threading
import time
from collections.abc import Mapping
from typing import Any

from warden.gateway.audit.store import AuditStore
from warden.gateway.errors import AuditError

log = logging.getLogger("warden.gateway")
_STOP = object()
MAX_BATCH = 512
MAINTAIN_EVERY_S = 1.0  # store housekeeping (the SQLite WAL checkpoint) at most this often


class AuditLog:
    def __init__(self, store: AuditStore) -> None:
        self.store = store
        self._queue: queue.Queue[Any] = queue.Queue()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="warden-audit-writer", daemon=True)
        self._thread.start()

    def submit(self, body: Mapping[str, Any]) -> concurrent.futures.Future[dict[str, Any]]:
        if self._closed:
            raise AuditError("audit log is closed")
        fut: concurrent.futures.Future[dict[str, Any]] = concurrent.futures.Future()
        self._queue.put((dict(body), fut))
        return fut

    async def append(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """Seal, store and commit ``body``; return the sealed record. Raises ``AuditError``.

        Fast path: when nothing is queued and no batch is being written, commit right here (one WAL
        commit, no thread hand-off); under load, requests queue and share group commits."""
        if self._closed:
            raise AuditError("audit log is closed")
        if self._queue.empty():
            sealed = self.store.try_append_batch([dict(body)])
            if sealed is not None:
                return sealed[0]
        fut = self.submit(body)
        # shield: a client that disconnects must not cancel the wait for its own record
        return await asyncio.shield(asyncio.wrap_future(fut))

    def append_sync(self, body: Mapping[str, Any], timeout: float = 30.0) -> dict[str, Any]:
        return self.submit(body).result(timeout=timeout)

    def _run(self) -> None:
        last = time.monotonic()
        while True:
            try:
                item = self._queue.get(timeout=MAINTAIN_EVERY_S)
            except queue.Empty:
                item = None
            if time.monotonic() - last >= MAINTAIN_EVERY_S:
                last = time.monotonic()
                try:
                    self.store.maintain()
                except Exception as exc:  # noqa: BLE001 - housekeeping must never stop the writer
                    log.warning("audit store housekeeping failed: %s", exc)
            if item is None:
                continue
            if item is _STOP:
                return
            batch = [item]
            stop = False
            while len(batch) < MAX_BATCH:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is _STOP:
                    stop = True
                    break
                batch.append(nxt)
            try:
                sealed = self.store.append_batch([body for body, _ in batch])
            except Exception as exc:  # noqa: BLE001 - every waiter must learn of the failure
                err = exc if isinstance(exc, AuditError) else AuditError(f"audit append failed: {exc}")
                for _, fut in batch:
                    fut.set_exception(err)
            else:
                for (_, fut), rec in zip(batch, sealed, strict=True):
                    fut.set_result(rec)
            if stop:
                return

    def close(self) -> None:
        """Flush everything queued, then close the store."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(_STOP)
        self._thread.join(timeout=30)
        self.store.close()
