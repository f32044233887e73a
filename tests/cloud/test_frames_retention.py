"""Frame retention on the local store and on S3 (moto), against the database: expired frames'
files go, live frames and the evidence of a recorded death stay, a second run does nothing."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from cloud.frames_retention import expire_frames
from cloud.frames_store import (
    LocalFrameStore,
    PrunableFrameStore,
    S3FrameStore,
    StoredFrame,
    open_frame_store,
)
from tests.support.databases import TestDatabase
from tests.support.moto_s3 import moto_s3

NOW = datetime(2026, 12, 5, 2, 0, tzinfo=UTC)


def _jpeg(i: int) -> bytes:
    return b"\xff\xd8\xff\xe0" + i.to_bytes(4, "big") * 64 + b"\xff\xd9"


def _frame_row(conn: psycopg.Connection, seq: int, ts: datetime, stored: StoredFrame) -> None:
    conn.execute(
        "INSERT INTO frames (ts, gateway_id, seq, camera_id, house_id, sha256, path, bytes, width, height, trigger) "
        "VALUES (%s, 'gw-1', %s, 'cam-1', 'h1', %s, %s, %s, 640, 480, 'interval')",
        (ts, seq, stored.sha256, stored.path, stored.size),
    )


def _scenario(conn: psycopg.Connection, store: PrunableFrameStore) -> dict[str, StoredFrame]:
    """old: an expired frame; fresh: a live one; shared: the same image expired once and live
    once; evidence: an expired frame and the crop a confirmed death keeps; orphan: a file no
    row names (a crash between write and commit, long ago); young: one written just now."""
    files = {name: store.put(_jpeg(i)) for i, name in enumerate(
        ("old", "fresh", "shared", "evidence", "crop", "orphan", "young"))}
    _frame_row(conn, 1, NOW - timedelta(days=200), files["old"])
    _frame_row(conn, 2, NOW - timedelta(days=3), files["fresh"])
    _frame_row(conn, 3, NOW - timedelta(days=200), files["shared"])
    _frame_row(conn, 4, NOW - timedelta(days=1), files["shared"])
    _frame_row(conn, 5, NOW - timedelta(days=190), files["evidence"])
    conn.execute(
        "INSERT INTO mortality_records (house_id, farm_id, ts, count, source, evidence, confirmed) "
        "VALUES ('h1', 'f1', %s, 1, 'detector', %s, true)",
        (NOW - timedelta(days=190), json.dumps({"frame": files["evidence"].path, "crop": files["crop"].path})),
    )
    conn.commit()
    return files


def _age_all_but_young(store: PrunableFrameStore, files: dict[str, StoredFrame], tmp: Path) -> datetime:
    """Files carry their write time: backdate all local ones but the young one."""
    for name, stored in files.items():
        if name != "young":
            stamp = (NOW - timedelta(days=200)).timestamp()
            os.utime(tmp / stored.path, (stamp, stamp))
    return NOW


def _check(report_dict: dict[str, object], files: dict[str, StoredFrame], store: PrunableFrameStore) -> None:
    present = {f.path for f in store.files()}
    assert files["old"].path not in present and files["orphan"].path not in present
    for kept in ("fresh", "shared", "evidence", "crop", "young"):
        assert files[kept].path in present, kept
    assert report_dict["rows_expired"] == 3  # old, shared's expired row, evidence's row
    assert report_dict["files_deleted"] == 2 and report_dict["kept_evidence"] == 2
    assert report_dict["kept_in_use"] == 2 and report_dict["files_seen"] == 7


def test_local_store_retention(db: TestDatabase, tmp_path: Path) -> None:
    store = LocalFrameStore(tmp_path)
    with db.connect() as conn:
        files = _scenario(conn, store)
        now = _age_all_but_young(store, files, tmp_path)
        dry = expire_frames(conn, store, now, dry_run=True)
        assert dry.files_deleted == 1 and len(list(store.files())) == 7  # the dry run deletes nothing
        report = expire_frames(conn, store, now)
        _check(report.as_dict(), files, store)
        assert report.kept_young == 1 and report.bytes_deleted == files["old"].size + files["orphan"].size
        again = expire_frames(conn, store, now)
        assert (again.rows_expired, again.files_deleted) == (0, 0)  # idempotent
        (rows,) = conn.execute("SELECT count(*) FROM frames").fetchone() or (0,)
        assert rows == 2  # fresh and shared's live row
        # The evidence goes when its record goes, not before.
        conn.execute("DELETE FROM mortality_records")
        conn.commit()
        last = expire_frames(conn, store, now)
        assert last.files_deleted == 2 and files["crop"].path not in {f.path for f in store.files()}


@pytest.fixture
def s3_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with moto_s3(monkeypatch) as endpoint:
        yield endpoint


def test_s3_store_retention(db: TestDatabase, tmp_path: Path, s3_endpoint: str) -> None:
    store = open_frame_store(tmp_path, "s3://fhy-frames/frames", s3_endpoint)
    assert isinstance(store, S3FrameStore)
    with db.connect() as conn:
        files = _scenario(conn, store)
        # S3 keeps the real time of each put: judge two days later, when all are past the grace.
        later = max(datetime.now(UTC), NOW) + timedelta(days=2)
        report = expire_frames(conn, store, later)
        assert report.rows_expired == 3
        assert (report.files_deleted, report.kept_in_use, report.kept_evidence) == (3, 2, 2)  # young had no row
        present = {f.path for f in store.files()}
        assert present == {files[k].path for k in ("fresh", "shared", "evidence", "crop")}
        assert store.delete(files["old"].path) is False  # already gone: counted, not an error
        young = store.put(_jpeg(6))  # no row (yet): within the grace period it stays
        again = expire_frames(conn, store, datetime.now(UTC) + timedelta(hours=1))
        assert (again.rows_expired, again.files_deleted, again.kept_young) == (0, 0, 5)
        assert young.path in {f.path for f in store.files()}


def test_retention_command(db: TestDatabase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from fuhuiyang.commands.db import db as db_group

    store = LocalFrameStore(tmp_path)
    with db.connect() as conn:
        files = _scenario(conn, store)
        _age_all_but_young(store, files, tmp_path)
    monkeypatch.setenv("FUHUIYANG_DATABASE_URL", db.url)
    monkeypatch.setenv("FUHUIYANG_DATABASE_SCHEMA", db.schema)
    monkeypatch.setenv("FUHUIYANG_FRAMES_DIR", str(tmp_path))
    out = CliRunner().invoke(db_group, ["retention", "--json"])
    assert out.exit_code == 0, out.output
    report = json.loads(out.stdout)
    # Real time is later than NOW: every frame row is older than 180 days relative to it or not,
    # so check only what does not depend on the date: the orphan goes, the evidence stays.
    assert report["kept_evidence"] >= 2 and files["orphan"].path not in {f.path for f in store.files()}


def test_timescaledb_policy_expires_the_rows_and_the_sweep_the_files(tsdb: TestDatabase, tmp_path: Path) -> None:
    """On TimescaleDB the retention policy drops the rows (here: its drop_chunks, run by hand);
    the sweep then removes the files nothing names any more."""
    store = LocalFrameStore(tmp_path)
    with tsdb.connect() as conn:
        files = _scenario(conn, store)
        now = _age_all_but_young(store, files, tmp_path)
        before = expire_frames(conn, store, now)
        assert before.rows_expire_by == "timescaledb policy" and before.rows_expired == 0
        assert before.files_deleted == 1  # only the orphan: the policy has not run yet
        conn.execute("SELECT drop_chunks('frames', older_than => %s::timestamptz)", (now - timedelta(days=180),))
        conn.commit()
        after = expire_frames(conn, store, now)
        assert after.files_deleted == 1 and files["old"].path not in {f.path for f in store.files()}
        assert after.kept_evidence == 2 and files["crop"].path in {f.path for f in store.files()}
