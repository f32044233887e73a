"""The message ledger and per-gateway watermarks behind end-to-end receipts (docs/protocol.md).

Inside the batch's transaction: every kept message's `(gateway_id, seq)` is inserted into
`message_ledger`; a conflict (or a seq at or below the gateway's watermark) marks a duplicate,
which is not written again. Then each gateway's watermark moves past the seqs the gateway
says it no longer holds (`held_from` from its health) and along the contiguous run of ledger
rows above it, and the ledger rows it passed are deleted. What the batch stored becomes a
`Receipt` per gateway: the watermark plus the runs above it, published after the commit.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import psycopg

from cloud.ingest.arrays import literals
from protocol.messages import MAX_RECEIPT_RANGES

# Sorted input, so concurrent workers take the ledger's row locks in one order (no deadlock).
INSERT_SQL = """
INSERT INTO message_ledger (gateway_id, seq, kind, quarantined)
SELECT u.g, u.s, u.k, u.q
FROM unnest(%s::text[], %s::bigint[], %s::text[], %s::boolean[]) WITH ORDINALITY AS u(g, s, k, q, n)
WHERE NOT EXISTS (SELECT 1 FROM gateway_receipts r WHERE r.gateway_id = u.g AND r.watermark >= u.s)
ORDER BY u.n
ON CONFLICT DO NOTHING
RETURNING gateway_id, seq"""

ENSURE_SQL = """
INSERT INTO gateway_receipts (gateway_id) SELECT unnest(%s::text[]) ON CONFLICT DO NOTHING"""

LOCK_SQL = "SELECT gateway_id FROM gateway_receipts WHERE gateway_id = ANY(%s::text[]) ORDER BY gateway_id FOR UPDATE"

# The gateway's own word on what it no longer holds; never beyond the reporting message's seq.
HELD_FROM_SQL = """
UPDATE gateway_receipts r SET held_from = greatest(r.held_from, u.h), backlog = u.b, unconfirmed = u.c,
                              watermark = greatest(r.watermark, u.h - 1), updated_at = now()
FROM unnest(%s::text[], %s::bigint[], %s::int[], %s::int[]) AS u(g, h, b, c)
WHERE r.gateway_id = u.g"""

# Seqs contiguous from watermark + 1 have seq - row_number() = watermark. Only gateways whose
# next seq is there are scanned: a gateway stuck at a gap costs nothing per batch.
ADVANCE_SQL = """
UPDATE gateway_receipts r SET watermark = c.top, updated_at = now()
FROM (SELECT l.gateway_id, max(l.seq) AS top
      FROM (SELECT m.gateway_id, m.seq, w.watermark,
                   m.seq - row_number() OVER (PARTITION BY m.gateway_id ORDER BY m.seq) AS d
            FROM gateway_receipts w JOIN message_ledger m ON m.gateway_id = w.gateway_id AND m.seq > w.watermark
            WHERE w.gateway_id = ANY(%s::text[])
              AND EXISTS (SELECT 1 FROM message_ledger n
                          WHERE n.gateway_id = w.gateway_id AND n.seq = w.watermark + 1)) l
      WHERE l.d = l.watermark
      GROUP BY l.gateway_id) c
WHERE r.gateway_id = c.gateway_id"""

PRUNE_SQL = """
DELETE FROM message_ledger m USING gateway_receipts w
WHERE w.gateway_id = ANY(%s::text[]) AND m.gateway_id = w.gateway_id AND m.seq <= w.watermark"""

WATERMARKS_SQL = "SELECT gateway_id, watermark FROM gateway_receipts WHERE gateway_id = ANY(%s::text[])"


@dataclass(frozen=True)
class Entry:
    gateway_id: str
    seq: int
    kind: str
    quarantined: bool


@dataclass(frozen=True)
class HeldFrom:
    """From a health message: the lowest seq the gateway still holds, and its backlog."""

    gateway_id: str
    held_from: int
    backlog: int
    unconfirmed: int | None


@dataclass
class ReceiptDraft:
    upto: int
    seqs: set[int] = field(default_factory=set)

    def ranges(self) -> list[tuple[int, int]]:
        """Runs above the watermark, newest dropped first when too many (they come again)."""
        return runs(sorted(s for s in self.seqs if s > self.upto))[:MAX_RECEIPT_RANGES]


def runs(seqs: list[int]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for seq in seqs:
        if out and seq == out[-1][1] + 1:
            out[-1] = (out[-1][0], seq)
        elif not out or seq > out[-1][1]:
            out.append((seq, seq))
    return out


def record(cur: psycopg.Cursor, entries: Iterable[Entry]) -> set[tuple[str, int]]:
    """Insert the batch's identities; returns those that are new (the rest are duplicates)."""
    unique = {(e.gateway_id, e.seq): e for e in reversed(list(entries))}  # the first one wins
    if not unique:
        return set()
    ordered = [unique[key] for key in sorted(unique)]
    columns: list[list[Any]] = [[e.gateway_id for e in ordered], [e.seq for e in ordered], [e.kind for e in ordered],
               [e.quarantined for e in ordered]]
    cur.execute(INSERT_SQL, literals(INSERT_SQL, columns))
    return {(gw, int(seq)) for gw, seq in cur.fetchall()}


def settle(cur: psycopg.Cursor, seen: Iterable[tuple[str, int]], held: list[HeldFrom]) -> dict[str, ReceiptDraft]:
    """Move the watermarks of the gateways in this batch; one receipt draft per gateway.

    `seen` is every identity of this batch that is stored, new or duplicate."""
    per_gateway: dict[str, set[int]] = defaultdict(set)
    for gateway_id, seq in seen:
        per_gateway[gateway_id].add(seq)
    gateways = sorted(set(per_gateway) | {h.gateway_id for h in held})
    if not gateways:
        return {}
    cur.execute(ENSURE_SQL, literals(ENSURE_SQL, [gateways]))
    cur.execute(LOCK_SQL, literals(LOCK_SQL, [gateways]))
    latest: dict[str, HeldFrom] = {}
    for h in held:
        if h.gateway_id not in latest or h.held_from >= latest[h.gateway_id].held_from:
            latest[h.gateway_id] = h
    if latest:
        rows = list(latest.values())
        cur.execute(HELD_FROM_SQL, literals(HELD_FROM_SQL, [
            [h.gateway_id for h in rows], [h.held_from for h in rows], [h.backlog for h in rows],
            [h.unconfirmed for h in rows]]))
    cur.execute(ADVANCE_SQL, literals(ADVANCE_SQL, [gateways]))
    cur.execute(PRUNE_SQL, literals(PRUNE_SQL, [gateways]))
    cur.execute(WATERMARKS_SQL, literals(WATERMARKS_SQL, [gateways]))
    return {gw: ReceiptDraft(int(mark), per_gateway.get(gw, set())) for gw, mark in cur.fetchall()}
