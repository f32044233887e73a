"""Time-bucketed environment series and daily weights of one house (cloud/db/series.py)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg

from cloud.api.errors import ApiError
from cloud.api.scope import Scope
from cloud.api.services.catalog import get_house
from cloud.api.services.paging import rows
from cloud.db import series
from farming.growth import standard_curve

FARM_TZ = "Asia/Shanghai"  # the aggregates' day buckets (migration 0002)
MAX_SPAN = {"hour": timedelta(days=92), "day": timedelta(days=800)}


def env_series(conn: psycopg.Connection, scope: Scope, house_id: str, metric: str, start: datetime,
               end: datetime, bucket: series.Bucket) -> list[dict[str, Any]]:
    get_house(conn, scope, house_id)
    if end <= start:
        raise ApiError(422, "invalid", "end must be after start")
    if end - start > MAX_SPAN[bucket]:
        raise ApiError(422, "invalid", f"at most {MAX_SPAN[bucket].days} days of {bucket} buckets per request")
    return [{"bucket": p.bucket, "avg": p.avg, "min": p.min, "max": p.max, "n": p.n}
            for p in series.env_series(conn, house_id, metric, start, end, bucket)]


def weight_days(conn: psycopg.Connection, scope: Scope, house_id: str, start: date, end: date
                ) -> list[dict[str, Any]]:
    """Daily mean weights: the gateway's own summary when it sent one (it saw every sample, and
    has uniformity), else the weighings aggregate; with the breed standard for the flock's age."""
    get_house(conn, scope, house_id)
    if end <= start or (end - start).days > 800:
        raise ApiError(422, "invalid", "the range must be 1-800 days")
    out: dict[date, dict[str, Any]] = {}
    tz = ZoneInfo(FARM_TZ)
    tz_start = datetime.combine(start, time(), tzinfo=tz)
    tz_end = datetime.combine(end, time(), tzinfo=tz)
    for d in series.weight_days(conn, house_id, tz_start - timedelta(days=1), tz_end + timedelta(days=1)):
        day = d.bucket.date() if d.bucket.tzinfo is None else d.bucket.astimezone(tz).date()
        if start <= day < end:
            out[day] = {"day": day, "source": "weighings", "n": d.n, "mean_g": d.mean_g, "cv_pct": d.cv_pct,
                        "uniformity_pct": None, "expected_g": None}
    for r in rows(conn, "SELECT day, sum(count) AS n, sum(mean_g * count) / nullif(sum(count), 0) AS mean_g, "
                        "avg(cv_pct) AS cv_pct, avg(uniformity_pct) AS uniformity_pct, avg(expected_g) AS expected_g "
                        "FROM weighing_summaries WHERE house_id = %s AND day >= %s AND day < %s GROUP BY day",
                  (house_id, start, end)):
        if r["mean_g"] is None:
            continue
        out[r["day"]] = {"day": r["day"], "source": "gateway_summary", "n": int(r["n"]),
                         "mean_g": float(r["mean_g"]), "cv_pct": _f(r["cv_pct"]),
                         "uniformity_pct": _f(r["uniformity_pct"]), "expected_g": _f(r["expected_g"])}
    flocks = rows(conn, "SELECT breed, placed_on, ended_on FROM flocks WHERE house_id = %s ORDER BY placed_on",
                  (house_id,))
    for day, item in out.items():
        if item["expected_g"] is None:
            item["expected_g"] = expected_weight(flocks, day)
    return [out[d] for d in sorted(out)]


def expected_weight(flocks: list[dict[str, Any]], day: date) -> float | None:
    for flock in reversed(flocks):
        if flock["placed_on"] <= day and (flock["ended_on"] is None or day <= flock["ended_on"]):
            curve = standard_curve(flock["breed"])
            return None if curve is None else round(curve((day - flock["placed_on"]).days), 1)
    return None


def _f(v: Any) -> float | None:
    return None if v is None else float(v)

