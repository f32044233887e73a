"""Time one `alerts run` cycle on a populated schema: `python -m tests.alerts.measure_worker [N]`.

Uses the local test PostgreSQL (FUHUIYANG_TEST_DATABASE_URL or 127.0.0.1:5432/test) in a
throw-away schema; N farms, each one house with a 30-day-old flock, 30 days of records,
12 hours of readings (4 metrics, every 5 minutes) and one gateway with health reports.
"""

from __future__ import annotations

import os
import sys
import time
from datetime import UTC, datetime, timedelta

from psycopg.types.json import Jsonb

from cloud.notify.settings import PrintProvider, SmsSettings
from fuhuiyang.processes.alerts import build_worker
from tests.support.databases import create_schema_database, drop_schema

NOW = datetime(2025, 3, 20, 4, 0, tzinfo=UTC)


def main() -> None:
    farms = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    url = os.environ.get("FUHUIYANG_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    db = create_schema_database(url)
    try:
        with db.connect() as conn:
            conn.execute("INSERT INTO regions (id, level, name) VALUES ('t', 'township', '青华镇')")
            today = NOW.date()
            for f in range(farms):
                farm, house, gw = f"f{f}", f"h{f}", f"gw{f}"
                conn.execute(
                    "INSERT INTO farms (id, name, region_id) VALUES (%s, %s, 't')", (farm, farm)
                )
                conn.execute(
                    "INSERT INTO houses (id, farm_id, name) VALUES (%s, %s, '1')", (house, farm)
                )
                conn.execute(
                    "INSERT INTO flocks (id, house_id, breed, placed_on, birds_placed) VALUES (%s, %s, 'ross308', %s, 3000)",
                    (farm, house, today - timedelta(days=30)),
                )
                conn.execute(
                    """INSERT INTO daily_records (flock_id, day, deaths, water_l)
                       SELECT %s, d::date, 1, 300 + 10 * (d::date - %s::date)
                       FROM generate_series(%s::date, %s::date, '1 day') d""",
                    (farm, today - timedelta(days=30), today - timedelta(days=30), today),
                )
                conn.execute(
                    """INSERT INTO readings (ts, gateway_id, seq, idx, house_id, sensor_id, metric, value)
                       SELECT %s - make_interval(mins => 5 * s), %s, s, m, %s, 's' || m,
                              (ARRAY['temperature_c','humidity_pct','nh3_ppm','co2_ppm'])[m + 1],
                              (ARRAY[24.0, 60.0, 8.0, 1500.0])[m + 1]
                       FROM generate_series(0, 143) s, generate_series(0, 3) m""",
                    (NOW, gw, house),
                )
                conn.execute(
                    "INSERT INTO gateways (id, farm_id, status, last_seen) VALUES (%s, %s, 'online', %s)",
                    (gw, farm, NOW),
                )
                conn.execute(
                    "INSERT INTO health (ts, gateway_id, seq, outbox_depth, payload) VALUES (%s, %s, 1, 0, %s)",
                    (NOW, gw, Jsonb({"clock_offset_s": 0.5})),
                )
            conn.commit()
            worker = build_worker(conn, PrintProvider(), SmsSettings())
            for label, now in (("first", NOW), ("second", NOW + timedelta(minutes=1))):
                start = time.perf_counter()
                report = worker.cycle(now)
                print(
                    f"{farms} farms, {label} cycle: {time.perf_counter() - start:.2f} s "
                    f"({report.flocks} flocks, {report.climate_hours} climate hours, {report.gateways} gateways, "
                    f"{report.effects} effects, errors {report.errors})"
                )
    finally:
        drop_schema(url, db.schema)


if __name__ == "__main__":
    main()
