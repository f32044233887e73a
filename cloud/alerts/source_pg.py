"""Reading rule inputs from the database: farms and townships, flock histories, hourly climate.

Queries use only relations that exist on both engines (tables plus the env_daily view /
continuous aggregate), so replay works on plain PostgreSQL and TimescaleDB. Readings are
averaged only within their physical range (`reading_plausible`, migration 0006): a faulty
or forged value steers no alert and cannot overflow an average.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg

from cloud.alerts.model import DailyRecord, EnvSample, FlockContext, FlockHistory
from cloud.alerts.screening import screen
from cloud.alerts.service import FarmInfo
from cloud.db.transactions import end_read
from farming.growth import ExpectedWeight, expected_curve

ENV_METRICS = {"temperature_c", "humidity_pct", "nh3_ppm", "co2_ppm"}


@dataclass(frozen=True)
class FlockRow:
    flock: str
    farm: str
    house: str
    breed: str
    placed_on: date
    birds_placed: int
    ended_on: date | None


def load_farms(conn: psycopg.Connection) -> dict[str, FarmInfo]:
    rows = conn.execute(
        """WITH RECURSIVE up AS (
               SELECT f.id AS farm_id, r.id, r.parent_id, r.level, r.name
               FROM farms f JOIN regions r ON r.id = f.region_id
               UNION ALL
               SELECT up.farm_id, r.id, r.parent_id, r.level, r.name
               FROM up JOIN regions r ON r.id = up.parent_id)
           SELECT f.id, f.name, t.id, t.name
           FROM farms f LEFT JOIN up t ON t.farm_id = f.id AND t.level = 'township'
           ORDER BY f.id"""
    ).fetchall()
    return {
        farm: FarmInfo(farm, name, township, township_name)
        for farm, name, township, township_name in rows
    }


def load_flocks(conn: psycopg.Connection, start: date, end: date) -> list[FlockRow]:
    rows = conn.execute(
        """SELECT fl.id, h.farm_id, fl.house_id, fl.breed, fl.placed_on, fl.birds_placed, fl.ended_on
           FROM flocks fl JOIN houses h ON h.id = fl.house_id
           WHERE fl.placed_on <= %s AND (fl.ended_on IS NULL OR fl.ended_on >= %s)
           ORDER BY fl.id""",
        (end, start),
    ).fetchall()
    return [FlockRow(*row) for row in rows]


def load_flock(conn: psycopg.Connection, flock_id: str) -> FlockRow | None:
    row = conn.execute(
        """SELECT fl.id, h.farm_id, fl.house_id, fl.breed, fl.placed_on, fl.birds_placed, fl.ended_on
           FROM flocks fl JOIN houses h ON h.id = fl.house_id WHERE fl.id = %s""",
        (flock_id,),
    ).fetchone()
    return None if row is None else FlockRow(*row)


def load_history(conn: psycopg.Connection, flock: FlockRow, until: date, tz: str) -> FlockHistory:
    """The flock's days as the rules judge them."""
    # Impossible values become questions to the farmer and stay out of every baseline.
    return screen(flock_context(flock), load_records(conn, flock, until, tz))


def flock_context(flock: FlockRow) -> FlockContext:
    return FlockContext(flock.farm, flock.house, flock.birds_placed, flock.breed, flock.placed_on)


def load_records(conn: psycopg.Connection, flock: FlockRow, until: date, tz: str) -> list[DailyRecord]:
    """Farmer records first (entered or imported from the farm's book); sensor water, scale
    summaries and mortality records fill gaps."""
    last = min(until, flock.ended_on or until)
    days: dict[date, dict[str, float | int | None]] = defaultdict(dict)
    for day, deaths, feed, water, eggs, birds, weight, uniformity in conn.execute(
        """SELECT day, deaths, feed_kg, water_l, eggs, birds, mean_weight_g, uniformity_pct
           FROM daily_records WHERE flock_id = %s AND day BETWEEN %s AND %s""",
        (flock.flock, flock.placed_on, last),
    ).fetchall():
        days[day].update(deaths=deaths, feed_kg=feed, water_l=water, eggs=eggs, birds=birds,
                         mean_weight_g=weight, uniformity_pct=uniformity)
    lo, hi = _local_bounds(flock.placed_on, last, tz)
    for day, total in conn.execute(
        """SELECT (bucket AT TIME ZONE %s)::date, sum FROM env_daily
           WHERE house_id = %s AND metric = 'water_l' AND bucket >= %s AND bucket < %s""",
        (tz, flock.house, lo, hi),
    ).fetchall():
        if days[day].get("water_l") is None:
            days[day]["water_l"] = float(total)
    for day, mean, uniformity in conn.execute(
        """SELECT day, avg(mean_g), avg(uniformity_pct) FROM weighing_summaries
           WHERE house_id = %s AND day BETWEEN %s AND %s GROUP BY day""",
        (flock.house, flock.placed_on, last),
    ).fetchall():
        # The scale weighs far more birds than a farmer's sample: its figure wins where both exist.
        days[day].update(mean_weight_g=float(mean), uniformity_pct=float(uniformity))
    # The farmer's count and the camera's sightings are the same birds seen twice (the camera
    # sees part of the house): a day's deaths are the larger of the two, never their sum.
    for day, count in conn.execute(
        """SELECT day, max(n) FROM (
               SELECT (ts AT TIME ZONE %s)::date AS day, source, sum(count) AS n
               FROM mortality_records
               WHERE house_id = %s AND ts >= %s AND ts < %s AND confirmed IS NOT false
               GROUP BY 1, 2) per_source
           GROUP BY day""",
        (tz, flock.house, lo, hi),
    ).fetchall():
        if days[day].get("deaths") is None:
            days[day]["deaths"] = int(count)
    end_read(conn)
    return [
        DailyRecord(
            day=day,
            deaths=int(v.get("deaths") or 0),
            birds=None if v.get("birds") is None else int(v["birds"] or 0),
            water_l=_f(v.get("water_l")),
            feed_kg=_f(v.get("feed_kg")),
            mean_weight_g=_f(v.get("mean_weight_g")),
            uniformity_pct=_f(v.get("uniformity_pct")),
            eggs=None if v.get("eggs") is None else int(v["eggs"] or 0),
        )
        for day, v in sorted(days.items())
    ]


def load_environment(
    conn: psycopg.Connection, house: str, start: datetime, end: datetime
) -> list[EnvSample]:
    """Hourly means per metric for the hours starting in [start, end), stamped at their end.

    Reads `readings` by time range rather than the `env_hourly` view: on plain PostgreSQL the
    view's hour buckets cannot use the time index, so every cycle would scan the house's history.
    """
    hours: dict[datetime, dict[str, float]] = defaultdict(dict)
    for bucket, metric, avg in conn.execute(
        """SELECT date_trunc('hour', ts), metric, avg(value) FROM readings
           WHERE house_id = %s AND metric = ANY(%s) AND ts >= %s AND ts < %s
             AND reading_plausible(metric, value)
           GROUP BY 1, 2""",
        (house, sorted(ENV_METRICS), _hour_ceil(start), _hour_ceil(end)),
    ).fetchall():
        hours[bucket][metric] = float(avg)
    end_read(conn)
    return [
        EnvSample(
            at=bucket + timedelta(hours=1),
            temperature_c=v.get("temperature_c"),
            humidity_pct=v.get("humidity_pct"),
            nh3_ppm=v.get("nh3_ppm"),
            co2_ppm=v.get("co2_ppm"),
        )
        for bucket, v in sorted(hours.items())
    ]


def load_gas_hours(
    conn: psycopg.Connection, house: str, first: date, last: date, tz: str
) -> dict[date, list[tuple[float, float]]]:
    """Hourly (NH3, CO2) mean pairs per local day, hours that have both only."""
    lo, hi = _local_bounds(first, last, tz)
    days: dict[date, list[tuple[float, float]]] = defaultdict(list)
    for day, nh3, co2 in conn.execute(
        """SELECT (hour AT TIME ZONE %s)::date, nh3, co2 FROM (
               SELECT date_trunc('hour', ts) AS hour,
                      avg(value) FILTER (WHERE metric = 'nh3_ppm') AS nh3,
                      avg(value) FILTER (WHERE metric = 'co2_ppm') AS co2
               FROM readings
               WHERE house_id = %s AND metric IN ('nh3_ppm', 'co2_ppm') AND ts >= %s AND ts < %s
                 AND reading_plausible(metric, value)
               GROUP BY 1) hours
           WHERE nh3 IS NOT NULL AND co2 IS NOT NULL ORDER BY hour""",
        (tz, house, lo, hi),
    ).fetchall():
        days[day].append((float(nh3), float(co2)))
    end_read(conn)
    return dict(days)


def _hour_ceil(at: datetime) -> datetime:
    floor = at.replace(minute=0, second=0, microsecond=0)
    return floor if floor == at else floor + timedelta(hours=1)


def _local_bounds(first: date, last: date, tz: str) -> tuple[datetime, datetime]:
    zone = ZoneInfo(tz)
    lo = datetime.combine(first, datetime.min.time(), zone).astimezone(UTC)
    hi = datetime.combine(last + timedelta(days=1), datetime.min.time(), zone).astimezone(UTC)
    return lo, hi


def _f(value: float | int | None) -> float | None:
    return None if value is None else float(value)


def load_farm_growth(
    conn: psycopg.Connection, farm: str, breed: str, before: date
) -> list[tuple[float, float]]:
    """(age in days, mean weight g) from the farm's earlier flocks of this breed, for its own curve."""
    rows = conn.execute(
        """SELECT ws.day - fl.placed_on, avg(ws.mean_g)
           FROM flocks fl JOIN houses h ON h.id = fl.house_id
           JOIN weighing_summaries ws ON ws.house_id = fl.house_id
                AND ws.day >= fl.placed_on AND ws.day <= coalesce(fl.ended_on, %s)
           WHERE h.farm_id = %s AND fl.breed = %s AND fl.placed_on < %s
             AND coalesce(fl.ended_on, %s) < %s
           GROUP BY 1 ORDER BY 1""",
        (before, farm, breed, before, before, before),
    ).fetchall()
    end_read(conn)
    return [(float(age), float(mean)) for age, mean in rows]


def growth_curve(conn: psycopg.Connection, flock: FlockRow) -> ExpectedWeight | None:
    """The farm's own curve fitted to its earlier flocks of the breed, else the breed standard."""
    return expected_curve(flock.breed, load_farm_growth(conn, flock.farm, flock.breed, flock.placed_on))
