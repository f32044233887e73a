"""Read-side query functions over the aggregate relations.

`env_hourly`, `env_daily` and `weighing_daily` are continuous aggregates on
TimescaleDB and plain views on PostgreSQL (migration 0002), so these functions
are the same on both engines.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import psycopg
from psycopg import sql

Bucket = Literal["hour", "day"]
_ENV_RELATION = {"hour": "env_hourly", "day": "env_daily"}


@dataclass(frozen=True)
class EnvPoint:
    bucket: datetime
    avg: float
    min: float
    max: float
    sum: float
    n: int


@dataclass(frozen=True)
class WeightDay:
    bucket: datetime
    n: int
    mean_g: float
    sd_g: float | None
    min_g: float
    max_g: float

    @property
    def cv_pct(self) -> float | None:
        return None if self.sd_g is None or not self.mean_g else 100.0 * self.sd_g / self.mean_g


def env_series(
    conn: psycopg.Connection,
    house_id: str,
    metric: str,
    start: datetime,
    end: datetime,
    bucket: Bucket = "hour",
) -> list[EnvPoint]:
    """One house's metric between start (inclusive) and end (exclusive), bucketed."""
    query = sql.SQL(
        "SELECT bucket, avg, min, max, sum, n FROM {} "
        "WHERE house_id = %s AND metric = %s AND bucket >= %s AND bucket < %s ORDER BY bucket"
    ).format(sql.Identifier(_ENV_RELATION[bucket]))
    rows = conn.execute(query, (house_id, metric, start, end)).fetchall()
    return [EnvPoint(r[0], float(r[1]), float(r[2]), float(r[3]), float(r[4]), int(r[5])) for r in rows]


def weight_days(conn: psycopg.Connection, house_id: str, start: datetime, end: datetime) -> list[WeightDay]:
    """Daily weighing statistics (farm-local days) for one house."""
    rows = conn.execute(
        "SELECT bucket, n, mean_g, sd_g, min_g, max_g FROM weighing_daily "
        "WHERE house_id = %s AND bucket >= %s AND bucket < %s ORDER BY bucket",
        (house_id, start, end),
    ).fetchall()
    return [
        WeightDay(r[0], int(r[1]), float(r[2]), None if r[3] is None else float(r[3]), float(r[4]), float(r[5]))
        for r in rows
    ]
