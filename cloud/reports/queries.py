"""What a regional report reads, per farm, in a handful of set-based queries.

The same functions run on TimescaleDB (where `env_daily` and `weighing_daily` are continuous
aggregates) and on plain PostgreSQL (where they are views).
"""

from __future__ import annotations

from collections import defaultdict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg

from cloud.alerts.thresholds import DEFAULTS
from farming.climate import air_temperature_at_thi
from farming.growth import standard_curve

FARM_TZ = ZoneInfo("Asia/Shanghai")
RECENT_DAYS = 7  # weight, environment and the "this week" mortality look at the last week of the period
# A house-day is out of comfort when a daily maximum passes the alert engine's warning limit
# (farming's published bands): adult NH3 and CO2, and heat stress as the air temperature at
# which the THI reaches the alert band at the reference humidity (env_daily has no age or weight).
_LIMITS = DEFAULTS.environment.comfort()
COMFORT_MAX = {
    "temperature_c": round(air_temperature_at_thi(_LIMITS.thi_alert, _LIMITS.reference_rh_pct), 1),
    "nh3_ppm": _LIMITS.nh3_warning_ppm,
    "co2_ppm": _LIMITS.co2_warning_ppm,
}


@dataclass
class FarmFacts:
    farm_id: str
    name: str
    region_id: str
    houses: int = 0
    birds: int = 0
    gateways: int = 0
    gateways_online: int = 0
    deaths: int = 0
    culls: int = 0
    bird_days: int = 0
    deaths_recent: int = 0
    bird_days_recent: int = 0
    weight_birds: int = 0  # flocks' birds behind the weight figures (weights are bird-weighted)
    weight_mean_g: float | None = None
    weight_expected_g: float | None = None
    uniformity_pct: float | None = None
    env_house_days: int = 0
    env_house_days_out: int = 0
    alerts: dict[tuple[str, str], int] = field(default_factory=dict)
    ack_seconds: list[float] = field(default_factory=list)
    sms_count: int = 0
    sms_segments: int = 0
    sms_cost: float = 0.0


@dataclass
class ReportData:
    farms: dict[str, FarmFacts]
    daily: dict[date, tuple[int, int]]  # day -> (deaths, bird-days) over all farms in scope
    weekly: dict[date, tuple[int, int]]  # week start (7-day steps from the period start) -> (deaths, bird-days)


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    return datetime.combine(start, time(), FARM_TZ), datetime.combine(end, time(), FARM_TZ)


def load(conn: psycopg.Connection, farm_ids: list[str], start: date, end: date,
         side: psycopg.Connection | None = None) -> ReportData:
    """Everything a report over `farm_ids` and [start, end) needs.

    With a `side` connection, the environment and weight sections run on it in a second thread
    while this one does the rest: the database then works on two cores for one report.

    Client-side parameter binding on purpose: the farm and house lists then reach the planner
    as constants, so `= ANY(...)` over thousands of ids is a hashed lookup (PostgreSQL ≥ 14)
    instead of a linear scan per row. The lists are sent as literals, safely quoted by psycopg.
    """
    p: dict[str, Any] = {"farms": farm_ids, "start": start, "end": end,
                         "recent": max(start, end - timedelta(days=RECENT_DAYS))}
    p["ts_start"], p["ts_end"] = _bounds(start, end)
    p["ts_recent"] = _bounds(p["recent"], end)[0]
    cur = _cursor(conn)
    farms = {r[0]: FarmFacts(r[0], r[1], r[2]) for r in cur.execute(
        "SELECT id, name, region_id FROM farms WHERE id = ANY(%(farms)s::text[])", p).fetchall()}
    side_job: Future[None] | None = None
    executor = ThreadPoolExecutor(1) if side is not None else None
    if executor is not None and side is not None:
        side_job = executor.submit(_side_sections, side, p, farms)  # touches only weight and env fields
    try:
        _coverage(cur, p, farms)
        daily, weekly = _mortality(cur, p, farms)
        _alerts(cur, p, farms)
        _sms(cur, p, farms)
        if side_job is None:
            _weights(cur, p, farms)
            _environment(cur, p, farms)
        else:
            side_job.result()
    finally:
        if executor is not None:
            executor.shutdown(wait=True)
    return ReportData(farms, daily, weekly)


def _cursor(conn: psycopg.Connection) -> psycopg.ClientCursor[Any]:
    cur = psycopg.ClientCursor(conn)
    # Aggregating a year of records wants more than the default 4 MB of sort/hash memory;
    # local to the caller's transaction.
    cur.execute("SELECT set_config('work_mem', '64MB', true)")
    return cur


def _side_sections(side: psycopg.Connection, p: dict[str, Any], farms: dict[str, FarmFacts]) -> None:
    with side.transaction():
        cur = _cursor(side)
        _weights(cur, p, farms)
        _environment(cur, p, farms)


def _coverage(conn: psycopg.ClientCursor[Any], p: dict[str, Any], farms: dict[str, FarmFacts]) -> None:
    for farm, houses, birds in conn.execute(
            "SELECT h.farm_id, count(DISTINCT h.id), coalesce(sum(fl.birds_now) FILTER ("
            "  WHERE fl.placed_on < %(end)s AND (fl.ended_on IS NULL OR fl.ended_on >= %(end)s)), 0) "
            "FROM houses h LEFT JOIN flocks fl ON fl.house_id = h.id "
            "WHERE h.farm_id = ANY(%(farms)s::text[]) GROUP BY h.farm_id", p):
        farms[farm].houses, farms[farm].birds = int(houses), int(birds)
    for farm, total, online in conn.execute(
            "SELECT farm_id, count(*), count(*) FILTER (WHERE status = 'online') FROM gateways "
            "WHERE farm_id = ANY(%(farms)s::text[]) AND revoked_at IS NULL GROUP BY farm_id", p):
        farms[farm].gateways, farms[farm].gateways_online = int(total), int(online)


# Birds alive at the start of each recorded day = placed - losses on earlier days of the flock.
MORTALITY_SQL = """
WITH fl AS (
    SELECT f.id, h.farm_id, f.birds_placed FROM flocks f JOIN houses h ON h.id = f.house_id
    WHERE h.farm_id = ANY(%(farms)s::text[]) AND f.placed_on < %(end)s
      AND (f.ended_on IS NULL OR f.ended_on >= %(start)s)
), days AS (
    SELECT fl.farm_id, d.day, coalesce(d.deaths, 0) AS deaths, coalesce(d.culls, 0) AS culls,
           fl.birds_placed - coalesce(sum(coalesce(d.deaths, 0) + coalesce(d.culls, 0)) OVER (
               PARTITION BY d.flock_id ORDER BY d.day ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS alive
    FROM daily_records d JOIN fl ON fl.id = d.flock_id
    WHERE d.day < %(end)s
)
SELECT farm_id, (day - %(start)s::date) / 7 AS week, day,
       sum(deaths) AS deaths, sum(culls) AS culls, sum(greatest(alive, 0)) AS alive,
       sum(deaths) FILTER (WHERE day >= %(recent)s) AS deaths_recent,
       sum(greatest(alive, 0)) FILTER (WHERE day >= %(recent)s) AS alive_recent
FROM days WHERE day >= %(start)s
GROUP BY GROUPING SETS ((farm_id), ((day - %(start)s::date) / 7), (day))
"""


def _mortality(conn: psycopg.ClientCursor[Any], p: dict[str, Any], farms: dict[str, FarmFacts]
               ) -> tuple[dict[date, tuple[int, int]], dict[date, tuple[int, int]]]:
    daily: dict[date, tuple[int, int]] = {}
    weekly: dict[date, tuple[int, int]] = {}
    for farm, week, day, deaths, culls, alive, deaths_recent, alive_recent in conn.execute(MORTALITY_SQL, p):
        if day is not None:
            daily[day] = (int(deaths), int(alive))
            continue
        if week is not None:
            weekly[p["start"] + timedelta(days=7 * int(week))] = (int(deaths), int(alive))
            continue
        f = farms[farm]
        f.deaths += int(deaths)
        f.culls += int(culls)
        f.bird_days += int(alive)
        f.deaths_recent += int(deaths_recent or 0)
        f.bird_days_recent += int(alive_recent or 0)
    return dict(sorted(daily.items())), dict(sorted(weekly.items()))


def _weights(conn: psycopg.ClientCursor[Any], p: dict[str, Any], farms: dict[str, FarmFacts]) -> None:
    """Latest daily weight per house in the last week: the gateway's summary (it saw every sample,
    and carries uniformity), else the `weighing_daily` aggregate of per-bird weighings."""
    flocks = {r[0]: r[1:] for r in conn.execute(
        "SELECT f.house_id, h.farm_id, f.breed, f.placed_on, coalesce(f.birds_now, f.birds_placed) "
        "FROM flocks f JOIN houses h ON h.id = f.house_id WHERE h.farm_id = ANY(%(farms)s::text[]) "
        "AND f.placed_on < %(end)s AND (f.ended_on IS NULL OR f.ended_on >= %(recent)s) ORDER BY f.placed_on", p)}
    latest: dict[str, tuple[date, float, float | None, float | None]] = {}
    for house, day, mean_g, uniformity, expected in conn.execute(
            "SELECT DISTINCT ON (house_id) house_id, day, mean_g, uniformity_pct, expected_g "
            "FROM weighing_summaries WHERE house_id = ANY(%(houses)s::text[]) AND day >= %(recent)s AND day < %(end)s "
            "AND count > 0 ORDER BY house_id, day DESC", {**p, "houses": list(flocks)}):
        latest[house] = (day, float(mean_g), None if uniformity is None else float(uniformity),
                         None if expected is None else float(expected))
    missing = [h for h in flocks if h not in latest]
    if missing:
        for house, bucket, mean_g in conn.execute(
                "SELECT DISTINCT ON (house_id) house_id, bucket, mean_g FROM weighing_daily "
                "WHERE house_id = ANY(%(houses)s::text[]) AND bucket >= %(ts_recent)s AND bucket < %(ts_end)s "
                "AND n > 0 ORDER BY house_id, bucket DESC", {**p, "houses": missing}):
            latest[house] = (bucket.astimezone(FARM_TZ).date(), float(mean_g), None, None)
    sums: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0, 0.0, 0.0])  # birds, w, exp, unif, unif_birds
    for house, (day, mean_g, uniformity, expected) in latest.items():
        farm, breed, placed_on, birds = flocks[house]
        if expected is None:
            curve = standard_curve(breed)
            expected = curve((day - placed_on).days) if curve else None
        if expected is None:
            continue  # no standard to compare with (a breed without a standard curve)
        s = sums[farm]
        s[0] += birds
        s[1] += birds * mean_g
        s[2] += birds * expected
        if uniformity is not None:
            s[3] += birds * uniformity
            s[4] += birds
    for farm, (birds, w, exp, unif, unif_birds) in sums.items():
        if birds > 0:
            f = farms[farm]
            f.weight_birds = int(birds)
            f.weight_mean_g, f.weight_expected_g = w / birds, exp / birds
            f.uniformity_pct = unif / unif_birds if unif_birds else None


def _environment(conn: psycopg.ClientCursor[Any], p: dict[str, Any], farms: dict[str, FarmFacts]) -> None:
    houses: dict[str, str] = dict(conn.execute("SELECT id, farm_id FROM houses WHERE farm_id = ANY(%(farms)s::text[])", p).fetchall())
    out: dict[tuple[str, datetime], bool] = {}
    for house, bucket, metric, high in conn.execute(
            "SELECT house_id, bucket, metric, max FROM env_daily WHERE house_id = ANY(%(houses)s::text[]) "
            "AND metric = ANY(%(metrics)s::text[]) AND bucket >= %(ts_recent)s AND bucket < %(ts_end)s",
            {**p, "houses": list(houses), "metrics": list(COMFORT_MAX)}):
        key = (house, bucket)
        out[key] = out.get(key, False) or float(high) > COMFORT_MAX[metric]
    for (house, _), bad in out.items():
        f = farms[houses[house]]
        f.env_house_days += 1
        f.env_house_days_out += int(bad)


def _alerts(conn: psycopg.ClientCursor[Any], p: dict[str, Any], farms: dict[str, FarmFacts]) -> None:
    # By when the event began, not when its row was written: a late or backfilled alert counts on its day.
    for farm, kind, severity, ack_s in conn.execute(
            "SELECT farm_id, type, severity, extract(epoch FROM acknowledged_at - raised_at) FROM alerts "
            "WHERE farm_id = ANY(%(farms)s::text[]) AND event_start >= %(ts_start)s AND event_start < %(ts_end)s", p):
        f = farms[farm]
        f.alerts[(kind, severity)] = f.alerts.get((kind, severity), 0) + 1
        if ack_s is not None:
            f.ack_seconds.append(max(0.0, float(ack_s)))


def _sms(conn: psycopg.ClientCursor[Any], p: dict[str, Any], farms: dict[str, FarmFacts]) -> None:
    for farm, count, segments, cost in conn.execute(
            "SELECT a.farm_id, count(*), coalesce(sum(n.segments), 0), coalesce(sum(n.cost), 0) "
            "FROM notifications n JOIN alerts a ON a.id = n.alert_id "
            "WHERE n.channel = 'sms' AND n.state IN ('sent', 'delivered') AND a.farm_id = ANY(%(farms)s::text[]) "
            "AND n.created_at >= %(ts_start)s AND n.created_at < %(ts_end)s GROUP BY a.farm_id", p):
        f = farms[farm]
        f.sms_count, f.sms_segments, f.sms_cost = int(count), int(segments), float(cost)
