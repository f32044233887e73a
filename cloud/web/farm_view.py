"""What the farmer's page shows, assembled from the shared scoped services."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import psycopg

from cloud.api.pagination import PageParams
from cloud.api.scope import Scope
from cloud.api.services import alerts, catalog, records, telemetry
from cloud.api.services.paging import one, rows
from cloud.web import charts, comfort
from farming.growth import standard_curve

ENV_METRICS = ("temperature_c", "humidity_pct", "nh3_ppm", "co2_ppm")
UNITS = {"temperature_c": "°C", "humidity_pct": "%", "nh3_ppm": "ppm", "co2_ppm": "ppm"}
LEVEL_TEXT = {"ok": "comfort_ok", "warn": "comfort_warn", "bad": "comfort_bad"}


def flock_panel(conn: psycopg.Connection, scope: Scope, flock: dict[str, Any], today: date, now: datetime,
                t: Any, record_day: date | None = None) -> dict[str, Any]:
    age = (today - flock["placed_on"]).days
    deaths_week = one(conn, "SELECT coalesce(sum(deaths), 0) AS n FROM daily_records WHERE flock_id = %s "
                            "AND day > %s AND day <= %s", (flock["id"], today - timedelta(days=7), today))
    weights = telemetry.weight_days(conn, scope, flock["house_id"], max(flock["placed_on"], today - timedelta(days=28)),
                                    today + timedelta(days=1))
    curve = standard_curve(flock["breed"])
    first_age = max(0, age - 28)
    measured = [((w["day"] - flock["placed_on"]).days, w["mean_g"]) for w in weights]
    series = [charts.Series(t("mean_weight"), [(float(a), float(g)) for a, g in measured], "#1f5fbf")]
    if curve is not None:
        series.append(charts.Series(t("standard"), [(float(a), curve(a)) for a in range(first_age, age + 1)],
                                    "#b34700", dashed=True))
    ticks = [(float(a), str(a)) for a in range(first_age, age + 1, max(1, (age - first_age) // 4 or 1))]
    chart = charts.line_chart(series, title=f"{t('mean_weight')} / {t('standard')} (g)", x_labels=ticks, y_unit="")
    latest = weights[-1] if weights else None
    env = []
    readings = rows(conn, "SELECT DISTINCT ON (metric) metric, bucket, avg FROM env_hourly WHERE house_id = %s "
                          "AND metric = ANY(%s) AND bucket >= %s AND bucket <= %s ORDER BY metric, bucket DESC",
                    (flock["house_id"], list(ENV_METRICS), now - timedelta(hours=48), now))
    # The alert engine judges temperature against the birds' weight (today's mean; else the
    # standard for their age) and the air's humidity.
    fresh = latest is not None and latest["day"] >= today - timedelta(days=1)
    weight_g = float(latest["mean_g"]) if latest and fresh else curve(age) if curve else None
    rh = next((float(r["avg"]) for r in readings if r["metric"] == "humidity_pct"), None)
    for r in readings:
        level, low, high = comfort.band(r["metric"], float(r["avg"]), age, weight_g, rh)
        env.append({"metric": r["metric"], "value": float(r["avg"]), "unit": UNITS[r["metric"]], "level": level,
                    "level_text": t(LEVEL_TEXT[level]), "low": low, "high": high, "at": r["bucket"]})
    # The record form opens on today; a farmer catching up picks an earlier day of the flock's life.
    day = min(max(record_day or today, flock["placed_on"]), today)
    record = one(conn, "SELECT deaths, culls, feed_kg, water_l, eggs FROM daily_records WHERE flock_id = %s AND day = %s",
                 (flock["id"], day))
    return {"flock": flock, "age": age, "deaths_week": int(deaths_week["n"]) if deaths_week else 0,
            "weight": latest, "expected_now": curve(age) if curve else None, "chart": chart, "env": env,
            "record": record or {}, "record_day": day}


PHOTOS_PER_PAGE = 6  # a phone screen or two of photo cards; more wait behind "next"


def farm_page(conn: psycopg.Connection, scope: Scope, farm_id: str, now: datetime, today: date, t: Any,
              record_day: date | None = None, photo_page: int = 0) -> dict[str, Any]:
    farm = catalog.get_farm(conn, scope, farm_id)
    flocks, _ = catalog.list_flocks(conn, scope, PageParams(limit=20, offset=0), farm_id=farm_id, active=True)
    panels = [flock_panel(conn, scope, f, today, now, t, record_day) for f in flocks if f["placed_on"] <= today]
    live, _ = alerts.list_alerts(conn, scope, PageParams(limit=50, offset=0), state="live", farm_id=farm_id)
    photos, photo_total = records.list_mortality(
        conn, scope, PageParams(limit=PHOTOS_PER_PAGE, offset=photo_page * PHOTOS_PER_PAGE), farm_id=farm_id,
        pending=True)
    return {"farm": farm, "panels": panels, "alerts": live, "photos": photos, "photo_page": photo_page,
            "photo_pages": max(1, -(-photo_total // PHOTOS_PER_PAGE)), "photo_total": photo_total,
            "open_alerts": sum(1 for a in live if a["state"] == "open")}
