"""Frame retention: a frame's file leaves the disk or bucket once its row has expired.

Rows expire by the retention policy of migration 0001 (frames: 180 days). On TimescaleDB the
policy's background job drops old `frames` chunks; plain PostgreSQL has no policies, so this
job deletes the expired rows itself with the same horizon. Then it sweeps the store: a file is
deleted when no `frames` row names it and no mortality record keeps it as evidence (the
record's `frame` and `crop`, cloud/detect/service.py): the evidence of a death stays as long as
its record does. A file younger than the grace period is left alone whatever it seems, because
ingest writes the file before its row commits (cloud/frames_store.py).

Idempotent: a second run finds nothing more to do; a file already gone is counted, not an error.
The sweep lists the whole store, so it runs daily (`fuhuiyang db retention`, a systemd timer in
deploy/systemd), not on the ingest path.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from itertools import islice
from typing import Any

import psycopg

from cloud.db.connection import timescaledb_installed
from cloud.db.transactions import end_read
from cloud.frames_store import PrunableFrameStore, StoredFile

log = logging.getLogger(__name__)

DEFAULT_KEEP = timedelta(days=180)  # migration 0001: add_retention_policy('frames', 180 days)
DEFAULT_GRACE = timedelta(days=1)
_BATCH = 1000


@dataclass
class RetentionReport:
    rows_expired: int = 0  # deleted by this run (plain PostgreSQL)
    rows_expire_by: str = "this job"  # or "timescaledb policy"
    files_seen: int = 0
    files_deleted: int = 0
    bytes_deleted: int = 0
    kept_in_use: int = 0  # a frames row still names the file
    kept_evidence: int = 0  # only a mortality record names it: kept as long as the record
    kept_young: int = 0  # within the grace period
    already_gone: int = 0  # deleted meanwhile by another run
    dry_run: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def expire_frames(
    conn: psycopg.Connection,
    store: PrunableFrameStore,
    now: datetime,
    keep: timedelta = DEFAULT_KEEP,
    grace: timedelta = DEFAULT_GRACE,
    dry_run: bool = False,
) -> RetentionReport:
    report = RetentionReport(dry_run=dry_run)
    if timescaledb_installed(conn):
        report.rows_expire_by = "timescaledb policy"
    else:
        report.rows_expired = _expire_rows(conn, now - keep, dry_run)
    evidence = _evidence_paths(conn)
    for batch in _batches(store.files(), _BATCH):
        report.files_seen += len(batch)
        old = [f for f in batch if now - f.modified >= grace]
        report.kept_young += len(batch) - len(old)
        in_use = _paths_in_use(conn, [f.path for f in old])
        for file in old:
            if file.path in in_use:
                report.kept_in_use += 1
            elif file.path in evidence:
                report.kept_evidence += 1
            elif dry_run or store.delete(file.path):
                report.files_deleted += 1
                report.bytes_deleted += file.size
            else:
                report.already_gone += 1
    log.info("frame retention: %s", report.as_dict())
    return report


def _expire_rows(conn: psycopg.Connection, before: datetime, dry_run: bool) -> int:
    with conn.transaction():
        if dry_run:
            row = conn.execute("SELECT count(*) FROM frames WHERE ts < %s", (before,)).fetchone()
            return int(row[0]) if row else 0
        return conn.execute("DELETE FROM frames WHERE ts < %s", (before,)).rowcount


def _evidence_paths(conn: psycopg.Connection) -> set[str]:
    rows = conn.execute(
        """SELECT evidence->>'frame', evidence->>'crop' FROM mortality_records
           WHERE evidence ? 'frame' OR evidence ? 'crop'"""
    ).fetchall()
    end_read(conn)
    return {p for row in rows for p in row if p}


def _paths_in_use(conn: psycopg.Connection, paths: list[str]) -> set[str]:
    if not paths:
        return set()
    rows = conn.execute("SELECT DISTINCT path FROM frames WHERE path = ANY(%s)", (paths,)).fetchall()
    end_read(conn)
    return {r[0] for r in rows}


def _batches(files: Iterator[StoredFile], size: int) -> Iterator[list[StoredFile]]:
    while batch := list(islice(files, size)):
        yield batch
