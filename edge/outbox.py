"""The outbox: every uplink message waits in SQLite (WAL) until the cloud has stored it.

Read a batch, publish; a PUBACK only marks the row sent. The row is deleted when a receipt
from ingest covers its seq (docs/protocol.md, "Receipts"): a broker's PUBACK says nothing
about the database, and a hostile subscriber, a broker restart or an ingest crash could
otherwise lose it silently. A sent row with no receipt is due again after a timeout that
doubles with each send; the cloud deduplicates on ``(gateway_id, seq)``. The
per-gateway ``seq`` is allocated inside the same transaction that stores the message, so it
survives restarts and never repeats. Size and age caps drop frames first; every drop is
counted by class and reason, persistently.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path

from protocol import Kind
from protocol.messages import OutboxState

log = logging.getLogger(__name__)


class Priority(IntEnum):
    """Lower drains first; higher is dropped first when the outbox is full."""

    ALERT = 0  # alerts, health, config reports
    TELEMETRY = 1
    WEIGHING = 2
    FRAME = 3


PRIORITY_OF_KIND: dict[Kind, Priority] = {
    Kind.ALERT: Priority.ALERT,
    Kind.HEALTH: Priority.ALERT,
    Kind.STATUS: Priority.ALERT,
    Kind.CONFIG_APPLIED: Priority.ALERT,
    Kind.RELEASE_STATE: Priority.ALERT,
    Kind.TELEMETRY: Priority.TELEMETRY,
    Kind.WEIGHING: Priority.WEIGHING,
    Kind.FRAME: Priority.FRAME,
}
CLASS_NAMES = {p: p.name.lower() for p in Priority}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    prio INTEGER NOT NULL,
    kind TEXT NOT NULL,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    size INTEGER NOT NULL,
    created_ms INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    sends INTEGER NOT NULL DEFAULT 0,
    due_ms INTEGER
);
CREATE INDEX IF NOT EXISTS messages_prio_id ON messages (prio, id);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""
# Outboxes written before receipts: their rows count as never sent.
_RECEIPT_COLUMNS = ("ALTER TABLE messages ADD COLUMN sends INTEGER NOT NULL DEFAULT 0",
                    "ALTER TABLE messages ADD COLUMN due_ms INTEGER")
_SEQ_INDEX = "CREATE INDEX IF NOT EXISTS messages_seq ON messages (seq)"
MAX_RESEND_DOUBLINGS = 5


@dataclass(frozen=True)
class OutboxLimits:
    max_bytes: int = 200 * 1024 * 1024
    receipt_timeout_s: float = 120.0  # a sent row without a receipt is sent again after this
    # Beyond these ages a message is stale for its purpose; frames the soonest.
    max_age_s: dict[Priority, float] = field(default_factory=lambda: {
        Priority.ALERT: 30 * 86400.0,
        Priority.TELEMETRY: 30 * 86400.0,
        Priority.WEIGHING: 60 * 86400.0,
        Priority.FRAME: 2 * 86400.0,
    })


@dataclass(frozen=True)
class Row:
    id: int
    prio: Priority
    kind: str
    topic: str
    payload: bytes
    created_ms: int
    seq: int


class Outbox:
    def __init__(self, path: Path | str, limits: OutboxLimits | None = None, *,
                 synchronous: str = "FULL") -> None:
        if synchronous.upper() not in ("FULL", "NORMAL", "EXTRA"):
            raise ValueError(f"synchronous must be FULL, NORMAL or EXTRA, got {synchronous!r}")
        self.path = Path(path)
        self.limits = limits or OutboxLimits()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(f"PRAGMA synchronous={synchronous.upper()}")
        self._db.executescript(_SCHEMA)
        columns = {r[1] for r in self._db.execute("PRAGMA table_info(messages)")}
        if "due_ms" not in columns:
            for statement in _RECEIPT_COLUMNS:
                self._db.execute(statement)
        self._db.execute(_SEQ_INDEX)
        row = self._db.execute("SELECT COALESCE(SUM(size), 0), COUNT(*) FROM messages").fetchone()
        self._bytes = int(row[0])
        self._depth = int(row[1])

    def close(self) -> None:
        self._db.close()

    # -- writing ------------------------------------------------------------------------
    def put(self, kind: Kind, topic: str, build: Callable[[int], bytes], now_ms: int) -> int:
        """Allocate the next seq, build the payload with it and store it; returns the seq."""
        prio = PRIORITY_OF_KIND[kind]
        with self._tx():
            seq = self._next_seq()
            payload = build(seq)
            self._make_room(len(payload), prio)
            if self._bytes + len(payload) > self.limits.max_bytes:
                self._count("drop", prio, 1, len(payload), "full")
                log.warning("outbox full: dropped new %s message seq=%s", kind.value, seq)
                return seq
            self._db.execute(
                "INSERT INTO messages (prio, kind, topic, payload, size, created_ms, seq)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (int(prio), kind.value, topic, payload, len(payload), now_ms, seq),
            )
            self._bytes += len(payload)
            self._depth += 1
        return seq

    def allocate_seq(self) -> int:
        """A seq for a message that bypasses the queue (retained status, last will)."""
        with self._tx():
            return self._next_seq()

    def _next_seq(self) -> int:
        row = self._db.execute("SELECT value FROM counters WHERE name = 'seq'").fetchone()
        seq = int(row[0]) if row else 0
        self._db.execute("INSERT OR REPLACE INTO counters (name, value) VALUES ('seq', ?)", (seq + 1,))
        return seq

    def _make_room(self, size: int, incoming: Priority) -> None:
        """Evict the lowest class, oldest first, but never a class above the incoming one."""
        if self._bytes + size <= self.limits.max_bytes:
            return
        evictable = self._db.execute(
            "SELECT COALESCE(SUM(size), 0) FROM messages WHERE prio >= ?", (int(incoming),)
        ).fetchone()[0]
        if self._bytes - int(evictable) + size > self.limits.max_bytes:
            return  # evicting would not make room: only the new message is dropped
        while self._bytes + size > self.limits.max_bytes:
            victim = self._db.execute(
                "SELECT id, prio, size FROM messages WHERE prio >= ? ORDER BY prio DESC, id LIMIT 1",
                (int(incoming),),
            ).fetchone()
            if victim is None:
                return
            self._delete_row(victim[0], Priority(victim[1]), victim[2], "full")

    def _delete_row(self, row_id: int, prio: Priority, size: int, reason: str) -> None:
        self._db.execute("DELETE FROM messages WHERE id = ?", (row_id,))
        self._bytes -= size
        self._depth -= 1
        self._count("drop", prio, 1, size, reason)

    def count_drops(self, prio: Priority, n: int, size: int, reason: str) -> None:
        """Record messages dropped before they reached the outbox (e.g. a frame over budget)."""
        with self._tx():
            self._count("drop", prio, n, size, reason)

    def _count(self, what: str, prio: Priority, n: int, size: int, reason: str) -> None:
        cls = CLASS_NAMES[prio]
        for name, value in ((f"{what}:{cls}:{reason}", n), (f"{what}_bytes:{cls}:{reason}", size)):
            self._db.execute(
                "INSERT INTO counters (name, value) VALUES (?, ?)"
                " ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
                (name, value),
            )

    def expire(self, now_ms: int) -> int:
        """Drop messages older than their class's age cap; returns how many."""
        dropped = 0
        with self._tx():
            for prio, age_s in self.limits.max_age_s.items():
                cutoff = now_ms - int(age_s * 1000)
                rows = self._db.execute(
                    "SELECT id, size FROM messages WHERE prio = ? AND created_ms < ?", (int(prio), cutoff)
                ).fetchall()
                for row_id, size in rows:
                    self._delete_row(row_id, prio, size, "expired")
                dropped += len(rows)
        if dropped:
            log.warning("outbox: %s messages past their age cap dropped", dropped)
        return dropped

    # -- draining -----------------------------------------------------------------------
    def peek(self, limit: int, exclude: set[int] | frozenset[int] = frozenset(),
             live_since_ms: int | None = None, backlog_limit: int | None = None,
             now_ms: int | None = None) -> list[Row]:
        """Up to `limit` rows by class then age, skipping ids already in flight.

        With `live_since_ms`, rows created since then come first (live data is never queued
        behind an outage's backlog) and at most `backlog_limit` older rows follow. With
        `now_ms`, rows sent and awaiting their receipt are left out until they are due again.
        """
        if limit <= 0:
            return []
        cols = "id, prio, kind, topic, payload, created_ms, seq"
        due = "" if now_ms is None else f" AND (due_ms IS NULL OR due_ms <= {int(now_ms)})"
        rows: list[Row] = []
        if live_since_ms is not None:
            rows += self._select(f"SELECT {cols} FROM messages WHERE created_ms >= ?{due} ORDER BY prio, id LIMIT ?",
                                 (live_since_ms, limit + len(exclude)), exclude, limit)
            budget = min(limit - len(rows), limit if backlog_limit is None else backlog_limit)
            rows += self._select(f"SELECT {cols} FROM messages WHERE created_ms < ?{due} ORDER BY prio, id LIMIT ?",
                                 (live_since_ms, budget + len(exclude)), exclude, budget)
            return rows
        return self._select(f"SELECT {cols} FROM messages WHERE 1 = 1{due} ORDER BY prio, id LIMIT ?",
                            (limit + len(exclude),), exclude, limit)

    def _select(self, sql: str, args: tuple[int, ...], exclude: set[int] | frozenset[int],
                limit: int) -> list[Row]:
        if limit <= 0:
            return []
        out = []
        for r in self._db.execute(sql, args):
            if r[0] in exclude:
                continue
            out.append(Row(r[0], Priority(r[1]), r[2], r[3], bytes(r[4]), r[5], r[6]))
            if len(out) >= limit:
                break
        return out

    def ack(self, ids: list[int], now_ms: int) -> None:
        """The broker acknowledged these rows (PUBACK): they wait for the cloud's receipt, and are
        due again after the receipt timeout, doubled for every earlier send."""
        if not ids:
            return
        timeout_ms = int(self.limits.receipt_timeout_s * 1000)
        with self._tx():
            for row_id in ids:
                row = self._db.execute("SELECT sends, prio FROM messages WHERE id = ?", (row_id,)).fetchone()
                if row is None:
                    continue  # dropped for space, or confirmed, while in flight
                sends = int(row[0])
                if sends:
                    self._count("resend", Priority(row[1]), 1, 0, "unconfirmed")
                due = now_ms + timeout_ms * 2 ** min(sends, MAX_RESEND_DOUBLINGS)
                self._db.execute("UPDATE messages SET sends = sends + 1, due_ms = ? WHERE id = ?", (due, row_id))

    def confirm(self, upto: int, ranges: list[tuple[int, int]]) -> int:
        """Delete what a receipt covers: every seq <= `upto` and each [first, last] range."""
        deleted = 0
        with self._tx():
            for low, high in [(-1, upto), *ranges]:
                if high < max(low, 0):
                    continue
                row = self._db.execute("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM messages "
                                       "WHERE seq BETWEEN ? AND ?", (low, high)).fetchone()
                if row[0]:
                    self._db.execute("DELETE FROM messages WHERE seq BETWEEN ? AND ?", (low, high))
                    self._bytes -= int(row[1])
                    self._depth -= int(row[0])
                    deleted += int(row[0])
        return deleted

    def holds(self, seq: int) -> bool:
        """The message `seq` is still here: no receipt says the cloud has stored it."""
        return self._db.execute("SELECT 1 FROM messages WHERE seq = ?", (seq,)).fetchone() is not None

    # -- reporting ----------------------------------------------------------------------
    @property
    def depth(self) -> int:
        return self._depth

    @property
    def bytes(self) -> int:
        return self._bytes

    def drops(self) -> dict[str, int]:
        """Dropped messages per class (all reasons)."""
        out: dict[str, int] = {}
        for name, value in self._db.execute("SELECT name, value FROM counters WHERE name LIKE 'drop:%'"):
            _, cls, _reason = name.split(":")
            out[cls] = out.get(cls, 0) + int(value)
        return out

    def drop_details(self) -> dict[str, int]:
        return {name: int(v) for name, v in self._db.execute(
            "SELECT name, value FROM counters WHERE name LIKE 'drop%' ORDER BY name")}

    def oldest_ms(self) -> int | None:
        row = self._db.execute("SELECT MIN(created_ms) FROM messages").fetchone()
        return None if row[0] is None else int(row[0])

    def depth_by_class(self) -> dict[str, int]:
        return {CLASS_NAMES[Priority(p)]: int(n) for p, n in
                self._db.execute("SELECT prio, COUNT(*) FROM messages GROUP BY prio")}

    def unconfirmed(self) -> int:
        """Rows the broker acknowledged that no receipt has covered yet."""
        return int(self._db.execute("SELECT COUNT(*) FROM messages WHERE sends > 0").fetchone()[0])

    def held_from(self) -> int:
        """The lowest seq still held (the next seq when empty): every lower seq is stored,
        dropped or was sent outside the outbox, so the cloud need not wait for it."""
        row = self._db.execute("SELECT MIN(seq) FROM messages").fetchone()
        if row[0] is not None:
            return int(row[0])
        counter = self._db.execute("SELECT value FROM counters WHERE name = 'seq'").fetchone()
        return int(counter[0]) if counter else 0

    def state(self, now_ms: int) -> OutboxState:
        oldest = self.oldest_ms()
        age = max(0.0, (now_ms - oldest) / 1000.0) if oldest is not None else 0.0
        return OutboxState(depth=self._depth, bytes=self._bytes, oldest_age_s=age, drops=self.drops(),
                           unconfirmed=self.unconfirmed(), held_from=self.held_from())

    def _tx(self) -> _Transaction:
        return _Transaction(self._db)


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self._db.execute("ROLLBACK" if exc_type else "COMMIT")
