"""`fuhuiyang bench report`: synthetic regional history, then the heaviest regional report, warm.

The heaviest report is the province (every farm) over the whole loaded period. It runs once to
warm caches, then `--runs` times; `report_seconds` is the median of those.
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

import click
import psycopg
from psycopg import sql

from cloud.db.connection import connect, timescaledb_installed
from cloud.db.migrate import migrate
from cloud.reports import service
from cloud.settings import CloudSettings
from fuhuiyang.bench import report_data


@click.command()
@click.option("--farms", default=1000, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--days", default=365, show_default=True, type=click.IntRange(1, 400))
@click.option("--readings-days", default=14, show_default=True, type=click.IntRange(0, 400),
              help="Days of raw readings/weighings behind env_daily and weighing_daily.")
@click.option("--runs", default=5, show_default=True, type=click.IntRange(1, 100))
@click.option("--database-url", default=None, help="Default: FUHUIYANG_DATABASE_URL, else an embedded server.")
@click.option("--keep", is_flag=True, help="Keep the benchmark schema.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (the default output is JSON too).")
def report(farms: int, days: int, readings_days: int, runs: int, database_url: str | None, keep: bool,
           as_json: bool) -> None:
    """Load N farms x N days of history and time the heaviest regional report."""
    from fuhuiyang.services import postgres as pg_services

    url = database_url or CloudSettings().database_url
    url, embedded = pg_services.find_or_start(url, Path(tempfile.mkdtemp(prefix="fhy-bench-report-")))
    schema = f"bench_report_{uuid.uuid4().hex[:8]}"
    try:
        with connect(url, schema, autocommit=True) as conn:
            migrate(conn, schema)
            tsdb = timescaledb_installed(conn)
        end = date(2026, 11, 28)
        shape = report_data.Shape(farms=farms, days=days, end=end, readings_days=min(readings_days, days),
                                batch=200 if tsdb else report_data.BATCH)
        with connect(url, schema) as conn:
            t0 = time.perf_counter()
            counts = report_data.load(conn, shape)
            conn.autocommit = True
            if tsdb:
                for view in ("env_hourly", "env_daily", "weighing_daily"):
                    conn.execute(f"CALL refresh_continuous_aggregate('{view}', NULL, NULL)")
            conn.execute("ANALYZE")
            load_s = time.perf_counter() - t0
            start = end - timedelta(days=days)
            # As the API runs it: a second connection for the sections that can run alongside
            # (none on PGlite, which serves one connection).
            side = None if tsdb else connect(url, schema)
            single: list[float] = []
            try:
                built = service.report(conn, "prov", start, end, side=side)  # warm-up
                times = []
                for _ in range(runs):
                    t = time.perf_counter()
                    built = service.report(conn, "prov", start, end, side=side)
                    times.append(time.perf_counter() - t)
                for _ in range(runs if side is not None else 0):
                    t = time.perf_counter()
                    service.report(conn, "prov", start, end)
                    single.append(time.perf_counter() - t)
                cpu = _serial_cpu_seconds(conn, start, end, runs) if not tsdb else None
                county = service.report(conn, "c00", start, end, side=side)
            finally:
                if side is not None:
                    side.close()
        result = {
            "farms": farms, "days": days, "rows": sum(counts.values()), "rows_by_table": counts,
            "readings_days": shape.readings_days, "load_seconds": round(load_s, 2),
            "report_seconds": round(statistics.median(times), 4), "report_seconds_runs": [round(t, 4) for t in times],
            "report_seconds_one_connection": round(statistics.median(single), 4) if single else None,
            # CPU time of one report, client + its database backend, with parallel workers off so
            # every cycle is counted: what the wall time would be on an idle core. Independent of load.
            "report_cpu_seconds": cpu,
            "report": {"region": "prov", "start": str(start), "end": str(end), "children": len(built.children),
                       "farms": built.total.farms, "deaths": built.total.deaths,
                       "mortality_ratio": round(built.total.mortality_ratio or 0, 3),
                       "weight_vs_standard_pct": round(built.total.weight_vs_standard_pct or 0, 2),
                       "alerts": built.total.alerts, "sms_count": built.total.sms_count},
            "county_farms": county.total.farms,
            "timescaledb": tsdb,
            # The machine is shared: the load average says how busy it was during the run.
            "load_average": [round(x, 2) for x in os.getloadavg()],
            "cpus": os.cpu_count(),
        }
        click.echo(json.dumps(result, default=str) if as_json else json.dumps(result, indent=2, default=str))
    finally:
        if not keep:
            with connect(url, "public", autocommit=True) as conn:
                conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
        if embedded is not None:
            embedded.stop()


def _serial_cpu_seconds(conn: psycopg.Connection, start: date, end: date, runs: int) -> float:
    import psutil

    row = conn.execute("SELECT pg_backend_pid()").fetchone()
    assert row is not None
    backend = psutil.Process(int(row[0]))  # the server runs on this machine in the benchmark
    me = psutil.Process()
    conn.execute("SET max_parallel_workers_per_gather = 0")
    try:
        samples = []
        for _ in range(runs):
            b0, m0 = backend.cpu_times(), me.cpu_times()
            service.report(conn, "prov", start, end)
            b1, m1 = backend.cpu_times(), me.cpu_times()
            samples.append((b1.user - b0.user + b1.system - b0.system) + (m1.user - m0.user + m1.system - m0.system))
    finally:
        conn.execute("RESET max_parallel_workers_per_gather")
    return round(float(statistics.median(samples)), 3)
