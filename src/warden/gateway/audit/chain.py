"""Sealing and verifying the hash chain.

A record's ``hash`` is SHA-256 over the canonical JSON of the record *without* its ``hash`` field; the
record carries ``seq`` (1, 2, 3, ...) and ``prev_hash`` (the previous record's hash; ``GENESIS`` for the
first). Any edit changes a hash; a deletion leaves a seq gap and a broken link; a reorder breaks the
links and the seq order. Truncating the *tail* is invisible to a chain alone: compare the head with an
anchor kept elsewhere (``verify --expect-head``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from warden.gateway.canonical import canonical_json, sha256_hex

GENESIS = "0" * 64


def record_hash(body: Mapping[str, Any]) -> str:
    return sha256_hex(canonical_json({k: v for k, v in body.items() if k != "hash"}))


def seal(body: Mapping[str, Any], *, seq: int, prev_hash: str) -> dict[str, Any]:
    record = {k: v for k, v in body.items() if k not in ("seq", "prev_hash", "hash")}
    record["seq"] = seq
    record["prev_hash"] = prev_hash
    record["hash"] = record_hash(record)
    return record


@dataclass(frozen=True)
class Problem:
    seq: int | None
    kind: str  # edited | deleted | reordered | link | malformed | anchor
    detail: str

    def __str__(self) -> str:
        where = f"record {self.seq}" if self.seq is not None else "log"
        return f"{where}: {self.kind}: {self.detail}"


@dataclass(frozen=True)
class VerifyResult:
    records: int
    head_seq: int
    head_hash: str
    problems: tuple[Problem, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_rows(rows: Iterable[tuple[Any, ...]], *, expect_head: str | None = None) -> VerifyResult:
    """Verify ``(stored_seq, stored_hash, body_json[, columns])`` rows in stored-seq order.

    ``body_json`` is the record as stored (canonical JSON including ``hash``); ``columns`` the other
    stored columns (``time``, ``kind``, ``request_id``, ``principal``: ``StoredRecord.row()``). Checks, per
    record: the body parses, its hash recomputes, every stored column agrees with the body, seq is the
    previous + 1, and prev_hash links to the previous record's hash.
    """
    import json

    problems: list[Problem] = []
    prev_hash = GENESIS
    expected_seq = 1
    count = 0
    head_seq, head_hash = 0, GENESIS
    for row in rows:
        stored_seq, stored_hash, body_json = row[0], row[1], row[2]
        columns: Mapping[str, Any] = row[3] if len(row) > 3 else {}
        count += 1
        try:
            body = json.loads(body_json)
            if not isinstance(body, dict):
                raise ValueError("not an object")
        except ValueError as exc:
            problems.append(Problem(stored_seq, "malformed", f"record is not JSON: {exc}"))
            prev_hash, expected_seq = stored_hash, stored_seq + 1
            continue
        seq = body.get("seq")
        if body.get("hash") != stored_hash:
            problems.append(Problem(stored_seq, "edited", "stored hash differs from the hash in the record"))
        if record_hash(body) != body.get("hash"):
            problems.append(Problem(stored_seq, "edited", "content does not match its hash"))
        for col, stored in columns.items():
            want = body.get(col)
            if stored != (None if want is None else str(want)):
                problems.append(
                    Problem(
                        stored_seq,
                        "edited",
                        f"stored column {col} = {str(stored)[:64]!r} differs from the record",
                    )
                )
        if seq != stored_seq:
            problems.append(
                Problem(stored_seq, "reordered", f"record says seq {seq}, stored at {stored_seq}")
            )
        if stored_seq < expected_seq:
            problems.append(Problem(stored_seq, "reordered", f"seq {stored_seq} after {expected_seq - 1}"))
        elif stored_seq > expected_seq:
            missing = (
                f"{expected_seq}" if stored_seq == expected_seq + 1 else f"{expected_seq}..{stored_seq - 1}"
            )
            problems.append(Problem(stored_seq, "deleted", f"records {missing} are missing"))
        if body.get("prev_hash") != prev_hash:
            problems.append(
                Problem(stored_seq, "link", "prev_hash does not match the previous record's hash")
            )
        prev_hash = str(body.get("hash"))
        expected_seq = stored_seq + 1
        head_seq, head_hash = stored_seq, prev_hash
    if expect_head is not None:
        want_seq, _, want_hash = expect_head.partition(":")
        if not want_hash:
            want_seq, want_hash = "", want_seq
        if want_hash != head_hash or (want_seq and want_seq.isdigit() and int(want_seq) != head_seq):
            problems.append(
                Problem(None, "anchor", f"head is {head_seq}:{head_hash}, expected {expect_head}")
            )
    return VerifyResult(records=count, head_seq=head_seq, head_hash=head_hash, problems=tuple(problems))
