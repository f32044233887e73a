"""One set of query functions answers the same on plain PostgreSQL and TimescaleDB."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cloud.db.series import env_series, weight_days
from tests.support.databases import TestDatabase

START = datetime(2026, 6, 1, tzinfo=UTC)


def _load(database: TestDatabase) -> None:
    times = [START + timedelta(minutes=10 * i) for i in range(6 * 30)]  # 30 hours
    temps = [20.0 + (i % 6) for i in range(len(times))]
    grams = [1000.0 + 10 * (i % 5) for i in range(len(times))]
    with database.connect() as conn:
        conn.execute(
            "INSERT INTO readings (ts, gateway_id, seq, idx, house_id, sensor_id, metric, value) "
            "SELECT t, 'gw', s, 0, 'h1', 'th1', 'temperature_c', v "
            "FROM unnest(%s::timestamptz[], %s::bigint[], %s::float8[]) AS u(t, s, v) "
            "ON CONFLICT DO NOTHING",
            (times, list(range(len(times))), temps),
        )
        conn.execute(
            "INSERT INTO weighings (ts, gateway_id, seq, idx, house_id, scale_id, grams) "
            "SELECT t, 'gw', s, 0, 'h1', 'sc1', g "
            "FROM unnest(%s::timestamptz[], %s::bigint[], %s::float4[]) AS u(t, s, g)",
            (times, [10_000 + i for i in range(len(times))], grams),
        )
        conn.commit()


def test_env_series_and_weight_days(any_db: TestDatabase) -> None:
    _load(any_db)
    with any_db.connect() as conn:
        hourly = env_series(conn, "h1", "temperature_c", START, START + timedelta(days=2))
        daily = env_series(conn, "h1", "temperature_c", START - timedelta(days=1), START + timedelta(days=2), "day")
        weights = weight_days(conn, "h1", START - timedelta(days=1), START + timedelta(days=2))
    assert len(hourly) == 30
    assert all(p.n == 6 and p.min == 20.0 and p.max == 25.0 and p.avg == 22.5 for p in hourly)
    # Farm-local days (UTC+8): 2026-06-01T00:00Z is 08:00 local, so 16 hours fall on day one.
    assert [p.n for p in daily] == [16 * 6, 14 * 6]
    assert sum(d.n for d in weights) == 180
    first_day = [1000.0 + 10 * (i % 5) for i in range(16 * 6)]
    assert abs(weights[0].mean_g - sum(first_day) / len(first_day)) < 1e-6
