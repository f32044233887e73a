"""Database side of ingest: one transaction per batch, idempotent on each message's identity.

Event rows go in with ``INSERT ... SELECT FROM unnest(...) ON CONFLICT DO NOTHING``
(works on PostgreSQL and on the PGlite TimescaleDB engine, which has neither COPY
FROM STDIN nor pipeline mode), so a redelivered message inserts nothing twice.

With ``method="copy"`` the two high-volume tables (readings, weighings) first try a
binary COPY inside a savepoint: COPY inserts rows in bulk and runs about twice as
fast as INSERT ... SELECT (docs/results.md). A redelivered message makes the
COPY hit the unique index; the savepoint is rolled back and the same rows go in
with ON CONFLICT DO NOTHING, so exactly-once holds either way. After a conflict
the next few batches skip the COPY attempt (a replaying gateway sends runs of them).

Before any row is written, each message is checked against the sender's farm
(`ownership`) and recorded in the message ledger (`ledger`): a message whose
`(gateway_id, seq)` is already there is a duplicate and writes nothing, whatever its
timestamps say. The same transaction moves the gateways' receipt watermarks.

Gateway state rows are locked in id order so two workers never deadlock on them.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import psycopg
from psycopg import errors

from cloud.frames_store import FrameStore
from cloud.ingest import ledger, ownership
from cloud.ingest.arrays import literals
from cloud.ingest.rows import Accepted, Judged, Rejection, RowBatch
from cloud.releases import reports as release_reports
from protocol import AppliedConfig, GatewayStatus
from protocol.messages import SensorState

_T = TypeVar("_T", GatewayStatus, AppliedConfig)

_TS = "'epoch'::timestamptz + {} * interval '1 millisecond'"

WriteMethod = Literal["copy", "unnest"]
COPY_PAUSE_BATCHES = 20  # batches written with ON CONFLICT after a COPY hit a duplicate

READINGS_COPY = (
    "COPY readings (ts, gateway_id, seq, idx, house_id, sensor_id, metric, value, quality) "
    "FROM STDIN (FORMAT binary)",
    ("timestamptz", "text", "int8", "int4", "text", "text", "text", "float8", "text"),
)
WEIGHINGS_COPY = (
    "COPY weighings (ts, gateway_id, seq, idx, house_id, scale_id, grams, dwell_s) "
    "FROM STDIN (FORMAT binary)",
    ("timestamptz", "text", "int8", "int4", "text", "text", "float4", "float4"),
)

READINGS_SQL = f"""
INSERT INTO readings (ts, gateway_id, seq, idx, house_id, sensor_id, metric, value, quality)
SELECT {_TS.format("t")}, g, s, i, h, se, m, v, q
FROM unnest(%s::bigint[], %s::text[], %s::bigint[], %s::int[], %s::text[], %s::text[],
            %s::text[], %s::float8[], %s::text[]) AS u(t, g, s, i, h, se, m, v, q)
ON CONFLICT DO NOTHING"""

WEIGHINGS_SQL = f"""
INSERT INTO weighings (ts, gateway_id, seq, idx, house_id, scale_id, grams, dwell_s)
SELECT {_TS.format("t")}, g, s, i, h, sc, w, d
FROM unnest(%s::bigint[], %s::text[], %s::bigint[], %s::int[], %s::text[], %s::text[],
            %s::real[], %s::real[]) AS u(t, g, s, i, h, sc, w, d)
ON CONFLICT DO NOTHING"""

SUMMARIES_SQL = """
INSERT INTO weighing_summaries (gateway_id, scale_id, day, house_id, count, mean_g, median_g,
                                sd_g, cv_pct, uniformity_pct, expected_g, seq)
SELECT * FROM unnest(%s::text[], %s::text[], %s::date[], %s::text[], %s::int[], %s::real[],
                     %s::real[], %s::real[], %s::real[], %s::real[], %s::real[], %s::bigint[])
ON CONFLICT (gateway_id, scale_id, day) DO UPDATE SET
    house_id = excluded.house_id, count = excluded.count, mean_g = excluded.mean_g,
    median_g = excluded.median_g, sd_g = excluded.sd_g, cv_pct = excluded.cv_pct,
    uniformity_pct = excluded.uniformity_pct, expected_g = excluded.expected_g, seq = excluded.seq
WHERE weighing_summaries.seq <= excluded.seq"""

FRAMES_SQL = f"""
INSERT INTO frames (ts, gateway_id, seq, camera_id, house_id, sha256, path, bytes, width, height, trigger)
SELECT {_TS.format("t")}, g, s, c, h, sha, p, b, w, ht, tr
FROM unnest(%s::bigint[], %s::text[], %s::bigint[], %s::text[], %s::text[], %s::text[],
            %s::text[], %s::int[], %s::int[], %s::int[], %s::text[])
     AS u(t, g, s, c, h, sha, p, b, w, ht, tr)
ON CONFLICT DO NOTHING"""

HEALTH_SQL = f"""
INSERT INTO health (ts, gateway_id, seq, uptime_s, cpu_pct, mem_mb, disk_free_mb, outbox_depth,
                    outbox_oldest_age_s, payload)
SELECT {_TS.format("t")}, g, s, up, cpu, mem, disk, depth, age, p
FROM unnest(%s::bigint[], %s::text[], %s::bigint[], %s::real[], %s::real[], %s::real[],
            %s::real[], %s::int[], %s::real[], %s::jsonb[])
     AS u(t, g, s, up, cpu, mem, disk, depth, age, p)
ON CONFLICT DO NOTHING"""

EVENTS_SQL = f"""
INSERT INTO gateway_events (ts, gateway_id, seq, kind, payload)
SELECT {_TS.format("t")}, g, s, k, p
FROM unnest(%s::bigint[], %s::text[], %s::bigint[], %s::text[], %s::jsonb[]) AS u(t, g, s, k, p)
ON CONFLICT DO NOTHING"""

QUARANTINE_SQL = """
INSERT INTO quarantine (topic, gateway_id, reason, detail, size, payload, seq)
SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::int[], %s::bytea[], %s::bigint[])"""

# Lock the batch's gateway rows in id order first: two workers then queue instead of deadlocking.
LOCK_GATEWAYS_SQL = "SELECT id FROM gateways WHERE id = ANY(%s::text[]) ORDER BY id FOR UPDATE"

# Device times, but never ahead of the database's clock: a gateway's clock cannot make it
# look online (or newer) in the future. Ingest also quarantines times far ahead (sanity).
_PAST_TS = "least(" + _TS + ", now())"

LAST_SEEN_SQL = f"""
UPDATE gateways g SET last_seen = {_PAST_TS.format("u.t")}
FROM unnest(%s::text[], %s::bigint[]) AS u(gw, t)
WHERE g.id = u.gw AND (g.last_seen IS NULL OR g.last_seen < {_PAST_TS.format("u.t")})"""

STATUS_SQL = f"""
UPDATE gateways g SET status = u.state, status_at = {_PAST_TS.format("u.t")},
                      software = coalesce(u.sw, g.software)
FROM unnest(%s::text[], %s::bigint[], %s::text[], %s::text[]) AS u(gw, t, state, sw)
WHERE g.id = u.gw AND (g.status_at IS NULL OR g.status_at <= {_PAST_TS.format("u.t")})"""

APPLIED_SQL = f"""
UPDATE gateways g SET applied_version = u.v, applied_status = u.st, applied_error = u.err,
                      applied_at = {_TS.format("u.t")}
FROM unnest(%s::text[], %s::bigint[], %s::int[], %s::text[], %s::text[]) AS u(gw, t, v, st, err)
WHERE g.id = u.gw AND (g.applied_at IS NULL OR g.applied_at <= {_TS.format("u.t")})"""

SENSORS_SQL = f"""
INSERT INTO sensors (gateway_id, id, metric, state, faults, updated_at)
SELECT u.gw, u.id, u.m, u.st, string_to_array(u.f, ','), {_TS.format("u.t")}
FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::bigint[])
     AS u(gw, id, m, st, f, t)
JOIN gateways g ON g.id = u.gw
ON CONFLICT (gateway_id, id) DO UPDATE SET
    metric = coalesce(excluded.metric, sensors.metric), state = excluded.state,
    faults = excluded.faults, updated_at = excluded.updated_at
WHERE sensors.updated_at IS NULL OR sensors.updated_at <= excluded.updated_at"""

CAMERAS_SQL = f"""
INSERT INTO cameras (gateway_id, id, state, updated_at)
SELECT u.gw, u.id, u.st, {_TS.format("u.t")}
FROM unnest(%s::text[], %s::text[], %s::text[], %s::bigint[]) AS u(gw, id, st, t)
JOIN gateways g ON g.id = u.gw
ON CONFLICT (gateway_id, id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at
WHERE cameras.updated_at IS NULL OR cameras.updated_at <= excluded.updated_at"""


class StorageUnavailable(RuntimeError):
    """The frame store failed (disk full, object storage down): retry later, ack nothing."""


@dataclass
class WriteResult:
    written: Counter[str] = field(default_factory=Counter)  # table -> rows inserted
    duplicates: Counter[str] = field(default_factory=Counter)  # table -> rows already present
    quarantined: int = 0
    judged: list[Judged] = field(default_factory=list)  # as finally judged (ownership may quarantine)
    receipts: dict[str, ledger.ReceiptDraft] = field(default_factory=dict)  # per gateway, once committed

    def merge(self, other: WriteResult) -> WriteResult:
        self.written.update(other.written)
        self.duplicates.update(other.duplicates)
        self.quarantined += other.quarantined
        self.judged += other.judged
        for gateway_id, draft in other.receipts.items():
            mine = self.receipts.setdefault(gateway_id, ledger.ReceiptDraft(draft.upto))
            mine.upto = max(mine.upto, draft.upto)
            mine.seqs |= draft.seqs
        return self


def identity(item: Judged) -> tuple[str, int] | None:
    """The wire identity a kept message is receipted under (None: unreadable, not receipted)."""
    if isinstance(item, Accepted):
        return item.gateway_id, item.seq
    if isinstance(item, Rejection) and item.gateway_id is not None and item.seq is not None:
        return item.gateway_id, item.seq
    return None


class BatchWriter:
    """Writes one `RowBatch` per transaction on a connection it is given (not autocommit)."""

    def __init__(self, conn: psycopg.Connection, frames: FrameStore, method: WriteMethod = "unnest") -> None:
        self.conn = conn
        self.frames = frames
        self.method = method
        self._copy_paused = 0

    def write(self, items: list[Judged]) -> WriteResult:
        """Check ownership, deduplicate on the ledger, write, move watermarks: one transaction."""
        result = WriteResult()
        try:
            with self.conn.cursor() as cur:
                farms = ownership.load_farms(cur, (i.gateway_id for i in items if isinstance(i, Accepted)))
                judged = [(ownership.check(i, farms) or i) if isinstance(i, Accepted) else i for i in items]
                new = ledger.record(cur, (ledger.Entry(*key, _kind(item), isinstance(item, Rejection))
                                          for item in judged if (key := identity(item)) is not None))
                batch, seen = RowBatch(), set()
                for item in judged:
                    key = identity(item)
                    if key is not None:
                        seen.add(key)
                        if key not in new:  # stored before (or earlier in this batch)
                            result.duplicates["messages"] += 1
                            continue
                        new.discard(key)
                    batch.add(item)
                try:
                    frame_rows = self._store_frames(batch)  # content-addressed: safe to redo on retry
                except Exception as exc:
                    raise StorageUnavailable(f"frame store: {exc}") from exc
                self._write_rows(cur, result, batch, frame_rows)
                held = [ledger.HeldFrom(h.gateway_id, min(h.outbox.held_from, h.seq), h.outbox.depth,
                                        h.outbox.unconfirmed)
                        for h in batch.health if h.outbox.held_from is not None]
                result.receipts = ledger.settle(cur, seen, held)
            self.conn.commit()
        except BaseException:
            self.conn.rollback()
            raise
        result.judged = judged
        return result

    def _write_rows(self, cur: psycopg.Cursor, result: WriteResult, batch: RowBatch,
                    frame_rows: list[list[Any]]) -> None:
        copy = self.method == "copy" and self._copy_paused == 0
        self._copy_paused = max(0, self._copy_paused - 1)
        for table, columns, statement, copy_spec in (
            ("readings", batch.readings.data, READINGS_SQL, READINGS_COPY),
            ("weighings", batch.weighings.data, WEIGHINGS_SQL, WEIGHINGS_COPY),
        ):
            if not (copy and self._try_copy(cur, result, table, copy_spec, columns)):
                self._insert(cur, result, table, statement, columns)
        self._insert(cur, result, "frames", FRAMES_SQL, frame_rows)
        self._insert(cur, result, "health", HEALTH_SQL, _health_columns(batch))
        self._insert(cur, result, "gateway_events", EVENTS_SQL, _columns(batch.events, 5))
        summaries = _latest_summaries(batch.summaries)
        if summaries:
            cur.execute(SUMMARIES_SQL, _params(SUMMARIES_SQL, summaries, 12))
            result.written["weighing_summaries"] += cur.rowcount
        if batch.rejections:
            cur.execute(QUARANTINE_SQL, _params(QUARANTINE_SQL,
                [(r.topic, r.gateway_id, r.reason, r.detail, r.size, r.payload, r.seq)
                 for r in batch.rejections], 7))
            result.quarantined = len(batch.rejections)
        self._update_gateways(cur, batch)

    @staticmethod
    def _insert(cur: psycopg.Cursor, result: WriteResult, table: str, sql: str,
                columns: list[list[Any]]) -> None:
        attempted = len(columns[0]) if columns else 0
        if not attempted:
            return
        cur.execute(sql, literals(sql, columns))
        result.written[table] += cur.rowcount
        result.duplicates[table] += attempted - cur.rowcount

    def _try_copy(self, cur: psycopg.Cursor, result: WriteResult, table: str,
                  spec: tuple[str, tuple[str, ...]], columns: list[list[Any]]) -> bool:
        """Bulk COPY inside a savepoint; False (rolled back) if any row already exists."""
        if not columns[0]:
            return True
        statement, types = spec
        from_ts, utc = dt.datetime.fromtimestamp, dt.UTC  # locals: this loop is hot
        times = [from_ts(ms / 1000, utc) for ms in columns[0]]
        cur.execute("SAVEPOINT ingest_copy")
        try:
            with cur.copy(statement) as copy:
                copy.set_types(list(types))
                for row in zip(times, *columns[1:], strict=True):
                    copy.write_row(row)
        except errors.UniqueViolation:
            cur.execute("ROLLBACK TO SAVEPOINT ingest_copy")
            self._copy_paused = COPY_PAUSE_BATCHES
            return False
        cur.execute("RELEASE SAVEPOINT ingest_copy")
        result.written[table] += len(times)
        return True

    def _store_frames(self, batch: RowBatch) -> list[list[Any]]:
        rows = []
        for frame in batch.frames:
            stored = self.frames.put(frame.jpeg, frame.sha256)
            rows.append((frame.ts_ms, frame.gateway_id, frame.seq, frame.camera_id, frame.house_id,
                         stored.sha256, stored.path, stored.size, frame.width, frame.height,
                         frame.trigger))
        return _columns(rows, 11)

    def _update_gateways(self, cur: psycopg.Cursor, batch: RowBatch) -> None:
        if not batch.last_seen:
            return
        cur.execute(LOCK_GATEWAYS_SQL, literals(LOCK_GATEWAYS_SQL, [sorted(batch.last_seen)]))
        cur.execute(LAST_SEEN_SQL, _params(LAST_SEEN_SQL, list(batch.last_seen.items()), 2))
        statuses = _latest(batch.statuses)
        if statuses:
            cur.execute(STATUS_SQL, _params(STATUS_SQL,
                [(s.gateway_id, s.ts, s.state, s.software) for s in statuses], 4))
        applied = _latest(batch.applied)
        if applied:
            cur.execute(APPLIED_SQL, _params(APPLIED_SQL,
                [(a.gateway_id, a.ts, a.version, a.status, a.error) for a in applied], 5))
        if batch.release_states:
            release_reports.record(cur, batch.release_states)
        sensors: dict[tuple[str, str], tuple[Any, ...]] = {}
        cameras: dict[tuple[str, str], tuple[Any, ...]] = {}
        for health in sorted(batch.health, key=lambda h: h.ts):
            for sensor_id, (metric, state, faults) in _per_device(health.sensors).items():
                sensors[(health.gateway_id, sensor_id)] = (
                    health.gateway_id, sensor_id, metric, state, ",".join(faults), health.ts)
            for c in health.cameras:
                cameras[(health.gateway_id, c.camera)] = (health.gateway_id, c.camera, c.state, health.ts)
        if sensors:
            cur.execute(SENSORS_SQL, _params(SENSORS_SQL, list(sensors.values()), 6))
        if cameras:
            cur.execute(CAMERAS_SQL, _params(CAMERAS_SQL, list(cameras.values()), 4))


def _kind(item: Judged) -> str:
    if isinstance(item, Accepted):
        return item.kind.value
    return item.topic.rsplit("/", 1)[-1][:40] if isinstance(item, Rejection) else ""


def _params(statement: str, rows: list[Any], width: int) -> list[Any]:
    return literals(statement, _columns(rows, width))


def _columns(rows: list[tuple[Any, ...]] | list[Any], width: int) -> list[list[Any]]:
    if not rows:
        return [[] for _ in range(width)]
    return [list(column) for column in zip(*rows, strict=True)]


def _health_columns(batch: RowBatch) -> list[list[Any]]:
    return _columns(
        [(h.ts, h.gateway_id, h.seq, h.uptime_s, h.cpu_pct, h.mem_mb, h.disk_free_mb,
          h.outbox.depth, h.outbox.oldest_age_s, h.model_dump_json(exclude_none=True))
         for h in batch.health], 10)


def _latest(items: list[_T]) -> list[_T]:
    """One update per gateway (the newest), since UPDATE ... FROM applies only one row each."""
    newest: dict[str, _T] = {}
    for item in items:
        known = newest.get(item.gateway_id)
        if known is None or (item.ts, item.seq) >= (known.ts, known.seq):
            newest[item.gateway_id] = item
    return list(newest.values())


def _latest_summaries(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    newest: dict[tuple[Any, ...], tuple[Any, ...]] = {}
    for row in rows:
        key = (row[0], row[1], row[2])
        if key not in newest or row[-1] >= newest[key][-1]:
            newest[key] = row
    return list(newest.values())


_STATE_RANK = {"ok": 0, "missing": 1, "fault": 2}


def _per_device(states: list[SensorState]) -> dict[str, tuple[str | None, str, list[str]]]:
    """One row per device: a transmitter reporting several metrics (temperature and RH) is as
    faulty as its worst metric, with every fault listed; its metric is named only when single."""
    grouped: dict[str, list[SensorState]] = {}
    for state in states:
        grouped.setdefault(state.sensor, []).append(state)
    out: dict[str, tuple[str | None, str, list[str]]] = {}
    for sensor_id, group in grouped.items():
        worst = max(group, key=lambda s: _STATE_RANK.get(s.state, 2))
        metric = group[0].metric.value if len(group) == 1 and group[0].metric else None
        out[sensor_id] = (metric, str(worst.state), sorted({str(f) for s in group for f in s.faults}))
    return out
