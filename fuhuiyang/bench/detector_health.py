"""`fuhuiyang bench health`: the console's detector-health check over a week of judged frames.

Loads `--cameras` cameras x `--days` days of lit frames (one every five minutes, `--boxes`
chicken boxes each) and times `cloud.labels.health.camera_health` for all of them, as the
console runs it: with the per-frame chicken summary the detection worker writes since
migration 0014, and (the baseline, in the same run) for frames judged before it, whose
boxes in `detections` are counted instead. Medians of `--runs` after one warm-up.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import click
import psycopg

from cloud.db.connection import connect
from cloud.db.migrate import migrate
from cloud.labels.health import camera_health
from cloud.settings import CloudSettings

END = datetime(2026, 11, 28, tzinfo=UTC)


def _load(conn: psycopg.Connection, cameras: int, frames: int, boxes: int) -> None:
    conn.execute("INSERT INTO regions (id, level, name) VALUES ('p', 'province', 'p')")
    conn.execute("INSERT INTO farms (id, name, region_id) VALUES ('f1', 'f', 'p')")
    conn.execute("INSERT INTO houses (id, farm_id, name) VALUES ('h1', 'f1', 'h')")
    conn.execute("INSERT INTO flocks (id, house_id, breed, placed_on, birds_placed, birds_now) "
                 "VALUES ('fl1', 'h1', 'ross308', '2026-11-01', 3000, 2900)")
    conn.execute("INSERT INTO gateways (id, farm_id) VALUES ('gw1', 'f1')")
    conn.execute("INSERT INTO cameras (gateway_id, id, house_id) SELECT 'gw1', 'cam' || c, 'h1' "
                 "FROM generate_series(0, %s - 1) c", (cameras,))
    conn.execute("INSERT INTO detection_frames (ts, gateway_id, camera_id, frame_seq, lit, detections, model, "
                 "chickens, chicken_score) SELECT %s - i * interval '5 minutes', 'gw1', 'cam' || c, c * 1000000 + i, "
                 "true, %s, 'm', %s, %s FROM generate_series(0, %s - 1) i, generate_series(0, %s - 1) c",
                 (END, boxes, boxes, 0.7 * boxes, frames, cameras))
    conn.execute("INSERT INTO detections (ts, gateway_id, frame_seq, camera_id, class, score, x1, y1, x2, y2, model) "
                 "SELECT %s - i * interval '5 minutes', 'gw1', c * 1000000 + i, 'cam' || c, 'chicken', 0.7, "
                 "n, n, n + 9, n + 9, 'm' FROM generate_series(0, %s - 1) i, generate_series(0, %s - 1) c, "
                 "generate_series(1, %s) n", (END, frames, cameras, boxes))
    conn.commit()
    conn.execute("ANALYZE")


def _median(conn: psycopg.Connection, runs: int) -> float:
    camera_health(conn, None)  # warm-up
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        camera_health(conn, None)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


@click.command()
@click.option("--cameras", default=4, show_default=True, type=click.IntRange(1, 1000))
@click.option("--days", default=8, show_default=True, type=click.IntRange(2, 60))
@click.option("--boxes", default=80, show_default=True, type=click.IntRange(0, 1000), help="Chickens per frame.")
@click.option("--runs", default=3, show_default=True, type=click.IntRange(1, 100))
@click.option("--database-url", default=None, help="Default: FUHUIYANG_DATABASE_URL, else an embedded server.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (the default output is JSON too).")
def health(cameras: int, days: int, boxes: int, runs: int, database_url: str | None, as_json: bool) -> None:
    """Time the detector-health check with and without the per-frame summary."""
    from fuhuiyang.services import postgres as pg_services

    url = database_url or CloudSettings().database_url
    url, embedded = pg_services.find_or_start(url, Path(tempfile.mkdtemp(prefix="fhy-bench-health-")))
    schema = f"bench_health_{uuid.uuid4().hex[:8]}"
    frames = days * 288
    try:
        with connect(url, schema, autocommit=True) as conn:
            migrate(conn, schema)
        with connect(url, schema) as conn:
            t0 = time.perf_counter()
            _load(conn, cameras, frames, boxes)
            load_s = time.perf_counter() - t0
            summary_s = _median(conn, runs)
            conn.execute("UPDATE detection_frames SET chickens = NULL, chicken_score = NULL")
            conn.commit()
            conn.execute("ANALYZE detection_frames")
            counted_s = _median(conn, runs)
    finally:
        with connect(url, "public", autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        if embedded is not None:
            embedded.stop()
    click.echo(json.dumps({
        "cameras": cameras, "frames_per_camera": frames, "detections": cameras * frames * boxes,
        "load_seconds": round(load_s, 1), "runs": runs,
        "summary_seconds": round(summary_s, 4), "summary_ms_per_camera": round(1000 * summary_s / cameras, 2),
        "baseline_counted_seconds": round(counted_s, 4),
        "speedup": round(counted_s / summary_s, 1) if summary_s > 0 else None,
    }))
