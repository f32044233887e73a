"""The analysts' tables: a regional report, daily flock records, daily weights and alerts as
pandas DataFrames with typed columns, scoped exactly as the API is.

Nothing here computes a figure of its own. The regional report's tables are the RegionReport
that `service.regional_report` builds for the report page and its exports, turned into frames;
records, weights and alerts read the rows the API lists, under the same scope rules
(`Scope.farms`, the alert routes' `ALERT_SCOPE`, `telemetry.weight_days` per house).

Column types: days are `datetime64[ns]` (farm-local dates, no time zone), instants are
`datetime64[ns, Asia/Shanghai]`, counts `Int64` (missing stays missing), rates and measures
`float64`, regions and other small vocabularies `category`, free text `string`.
"""

from __future__ import annotations

import dataclasses
import io
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import pandas as pd
import psycopg

from cloud.api.deps import load_principal
from cloud.api.errors import ApiError, not_found
from cloud.api.scope import Principal, Role, Scope, region_subtree, resolve
from cloud.api.security import TokenIssuer
from cloud.api.services.alerts import ALERT_SCOPE
from cloud.api.services.catalog import get_flock, scope_params
from cloud.api.services.paging import rows
from cloud.api.services.telemetry import weight_days
from cloud.reports import service
from cloud.reports.queries import ALIVE_AT_DAY_START
from cloud.reports.rollup import RegionReport, Row

Kind = Literal["region", "records", "weights", "alerts"]
KINDS: tuple[Kind, ...] = ("region", "records", "weights", "alerts")
TZ = "Asia/Shanghai"  # farm-local days, as everywhere in the cloud
DAY = "datetime64[ns]"
INSTANT = f"datetime64[ns, {TZ}]"
PLACE = {"county": "category", "township": "category", "region_id": "category", "farm_id": "category"}


@dataclass(frozen=True)
class Filters:
    """What to include; every filter narrows the caller's scope, never widens it."""

    county: str | None = None
    township: str | None = None
    start: date | None = None  # first day
    end: date | None = None  # exclusive, like the API's report period
    flock: str | None = None

    def period(self, today: date) -> tuple[date, date]:
        """The given days, else the report's default (the last four weeks to `today`)."""
        default_start, default_end = service.default_period(today)
        return self.start or default_start, self.end or default_end


@dataclass
class RegionFrames:
    table: pd.DataFrame  # one row per child region (or farm) and the total (is_total)
    daily: pd.DataFrame  # day, mortality_pct, expected_pct
    weekly: pd.DataFrame  # week_start, mortality_pct_week, expected_pct_week
    alerts_by_type: pd.DataFrame  # type, severity, count


# --- the regional report ---------------------------------------------------------------------

def _row_schema() -> dict[str, str]:
    kinds = {"int": "Int64", "float": "float64", "float | None": "float64", "str": "string"}
    schema = {f.name: kinds[str(f.type)] for f in dataclasses.fields(Row)}
    schema["level"] = "category"
    return schema


def report_frames(report: RegionReport) -> RegionFrames:
    """The RegionReport the report page shows, as DataFrames (the same figures, typed)."""
    meta = {"region_id": report.region["id"], "period_start": report.start, "period_end": report.end}
    schema = {"region_id": "category", "period_start": DAY, "period_end": DAY, "is_total": "bool",
              **_row_schema()}
    table = _typed([{**meta, "is_total": row is report.total, **dataclasses.asdict(row)}
                    for row in [*report.children, report.total]], schema)
    table.attrs.update({k: str(v) for k, v in meta.items()})
    daily = _typed([{"day": d, "mortality_pct": r, "expected_pct": report.expected_pct_day} for d, r in report.daily],
                   {"day": DAY, "mortality_pct": "float64", "expected_pct": "float64"})
    weekly = _typed([{"week_start": w, "mortality_pct_week": r, "expected_pct_week": 7 * report.expected_pct_day}
                     for w, r in report.weekly],
                    {"week_start": DAY, "mortality_pct_week": "float64", "expected_pct_week": "float64"})
    by_type = _typed([{"type": t, "severity": s, "count": n} for t, s, n in report.alerts_by_type],
                     {"type": "category", "severity": "category", "count": "Int64"})
    return RegionFrames(table, daily, weekly, by_type)


def region_frames(conn: psycopg.Connection, scope: Scope, region_id: str, start: date, end: date,
                  side: psycopg.Connection | None = None) -> RegionFrames:
    """The report of `region_id` over [start, end) for this caller, as the report page computes it."""
    return report_frames(service.regional_report(conn, scope, region_id, start, end, side))


# --- daily flock records ---------------------------------------------------------------------

RECORDS_SQL = """
SELECT * FROM (
    SELECT d.day, h.farm_id, fl.house_id, d.flock_id, fl.breed, (d.day - fl.placed_on) AS age_days,
           greatest(""" + ALIVE_AT_DAY_START + """, 0)::bigint AS birds_start,
           d.deaths, d.culls, d.eggs, d.feed_kg::float8 AS feed_kg, d.water_l::float8 AS water_l,
           d.birds AS birds_counted, d.mean_weight_g::float8 AS mean_weight_g,
           d.uniformity_pct::float8 AS uniformity_pct, d.source
    FROM daily_records d JOIN flocks fl ON fl.id = d.flock_id JOIN houses h ON h.id = fl.house_id
    WHERE (%(farms)s::text[] IS NULL OR h.farm_id = ANY(%(farms)s::text[]))
      AND (%(flock)s::text IS NULL OR d.flock_id = %(flock)s::text)
      AND (%(end)s::date IS NULL OR d.day < %(end)s::date)
) r
WHERE %(start)s::date IS NULL OR r.day >= %(start)s::date
ORDER BY r.farm_id, r.flock_id, r.day
"""
RECORDS = {"day": DAY, **PLACE, "house_id": "category", "flock_id": "category", "breed": "category",
           "age_days": "Int64", "birds_start": "Int64", "deaths": "Int64", "culls": "Int64", "eggs": "Int64",
           "feed_kg": "float64", "water_l": "float64", "mortality_pct": "float64",
           "birds_counted": "Int64", "mean_weight_g": "float64", "uniformity_pct": "float64", "source": "category"}


def records_frame(conn: psycopg.Connection, scope: Scope, filters: Filters = Filters()) -> pd.DataFrame:
    """One row per flock and recorded day. `birds_start` is the report's bird-day: birds placed
    minus the flock's earlier recorded losses; `mortality_pct` = deaths / birds_start. A farm's
    imported book adds what it counted (`birds_counted`, `mean_weight_g`, `uniformity_pct`);
    `source` says app or import."""
    farms = _farms(conn, scope, filters)
    found = rows(conn, RECORDS_SQL, {"farms": farms, "flock": filters.flock, "start": filters.start,
                                     "end": filters.end})
    places = _places(conn)
    for r in found:
        r.update(places.farm(r["farm_id"]))
        r["mortality_pct"] = 100 * r["deaths"] / r["birds_start"] if r["deaths"] is not None and r["birds_start"] else None
    return _typed(found, RECORDS)


# --- daily weights ---------------------------------------------------------------------------

WEIGHTS = {"day": DAY, **PLACE, "house_id": "category", "source": "category", "n": "Int64", "mean_g": "float64",
           "cv_pct": "float64", "uniformity_pct": "float64", "expected_g": "float64", "vs_standard_pct": "float64"}


def weights_frame(conn: psycopg.Connection, scope: Scope, filters: Filters = Filters(),
                  today: date | None = None) -> pd.DataFrame:
    """Each house's daily mean weight as the API's weights route gives it (the gateway's summary,
    else the weighings aggregate) with the breed standard; default period: the last four weeks."""
    start, end = filters.period(today or datetime.now(ZoneInfo(TZ)).date())
    farms = _farms(conn, scope, filters)
    life: tuple[date, date | None] | None = None
    if filters.flock is not None:
        flock = get_flock(conn, scope, filters.flock)
        houses = [(flock["house_id"], flock["farm_id"])]
        life = (flock["placed_on"], flock["ended_on"])
    else:
        houses = [(r[0], r[1]) for r in conn.execute(
            "SELECT id, farm_id FROM houses WHERE %(farms)s::text[] IS NULL OR farm_id = ANY(%(farms)s::text[]) "
            "ORDER BY farm_id, id", {"farms": farms})]
    places = _places(conn)
    found = []
    for house_id, farm_id in houses:
        for day in weight_days(conn, scope, house_id, start, end):
            if life is not None and (day["day"] < life[0] or (life[1] is not None and day["day"] > life[1])):
                continue
            expected = day["expected_g"]
            found.append({**day, **places.farm(farm_id), "house_id": house_id,
                          "vs_standard_pct": 100 * day["mean_g"] / expected if expected else None})
    return _typed(found, WEIGHTS)


# --- alerts ----------------------------------------------------------------------------------

ALERTS_SQL = f"""
SELECT id, type, severity, state, farm_id, house_id, gateway_id, region_id, event_start, event_end,
       raised_at, acknowledged_at, title, advice
FROM alerts
WHERE {ALERT_SCOPE}
  AND (%(sel_farms)s::text[] IS NULL OR farm_id = ANY(%(sel_farms)s::text[])
       OR (farm_id IS NULL AND region_id = ANY(%(sel_regions)s::text[])))
  AND (%(house)s::text IS NULL OR house_id = %(house)s::text)
  AND (%(ts_start)s::timestamptz IS NULL OR event_start >= %(ts_start)s::timestamptz)
  AND (%(ts_end)s::timestamptz IS NULL OR event_start < %(ts_end)s::timestamptz)
ORDER BY event_start, id
"""
ALERTS = {"id": "Int64", "type": "category", "severity": "category", "state": "category", **PLACE,
          "house_id": "category", "gateway_id": "category", "event_start": INSTANT, "event_end": INSTANT,
          "raised_at": INSTANT, "acknowledged_at": INSTANT, "ack_minutes": "float64", "title": "string",
          "advice": "string"}


def alerts_frame(conn: psycopg.Connection, scope: Scope, filters: Filters = Filters()) -> pd.DataFrame:
    """Alerts whose event began in the period (farm-local days; event time, as the report counts
    them), farm alerts and the regional ones (no farm) of the selected regions, as the alert
    routes scope them."""
    farms = _farms(conn, scope, filters)
    regions = _selected_regions(conn, scope, filters)
    house = get_flock(conn, scope, filters.flock)["house_id"] if filters.flock is not None else None
    tz = ZoneInfo(TZ)
    # ALERT_SCOPE keeps the caller's scope; the filters narrow it only when one is given.
    params = {**scope_params(scope), "sel_farms": farms if (regions is not None or house is not None) else None,
              "sel_regions": sorted(regions or ()), "house": house,
              "ts_start": None if filters.start is None else datetime.combine(filters.start, time(), tz),
              "ts_end": None if filters.end is None else datetime.combine(filters.end, time(), tz)}
    found = rows(conn, ALERTS_SQL, params)
    places = _places(conn)
    for r in found:
        r.update(places.farm(r["farm_id"]) if r["farm_id"] else places.region(r["region_id"]))
        ack = r["acknowledged_at"]
        r["ack_minutes"] = max(0.0, (ack - r["raised_at"]).total_seconds() / 60) if ack else None
    return _typed(found, ALERTS)


# --- one entry point for the command line ----------------------------------------------------

def frame(conn: psycopg.Connection, scope: Scope, kind: Kind, filters: Filters = Filters(),
          today: date | None = None) -> pd.DataFrame:
    """The table of one kind; for `region`, the report table of the township (else the county)."""
    if kind == "region":
        region_id = filters.township or filters.county
        if region_id is None:
            raise ApiError(422, "invalid", "a regional report needs --county or --township")
        if filters.flock is not None:
            raise ApiError(422, "invalid", "a regional report has no --flock filter")
        if _selected_regions(conn, scope, filters) == set():  # checks each id's level and visibility too
            raise ApiError(422, "invalid", f"township {filters.township} is not in county {filters.county}")
        start, end = filters.period(today or datetime.now(ZoneInfo(TZ)).date())
        return region_frames(conn, scope, region_id, start, end).table
    if kind == "records":
        return records_frame(conn, scope, filters)
    if kind == "weights":
        return weights_frame(conn, scope, filters, today)
    return alerts_frame(conn, scope, filters)


def write(df: pd.DataFrame, path: Path) -> None:
    """Parquet keeps every column type; CSV is plain UTF-8 for pandas.read_csv and R."""
    if path.suffix == ".parquet":
        df.to_parquet(path, index=False)
    elif path.suffix == ".csv":
        df.to_csv(path, index=False)
    else:
        raise ApiError(422, "invalid", f"{path.name}: the output must end in .parquet or .csv")


def parquet_bytes(df: pd.DataFrame) -> bytes:
    out = io.BytesIO()
    df.to_parquet(out, index=False)
    return out.getvalue()


# --- whose view ----------------------------------------------------------------------------

def scope_of(conn: psycopg.Connection, who: str, jwt_secret: str | None = None) -> Scope:
    """The scope of an active user by login name, or of the user and live session behind an API
    token (checked with the API's secret): the frames then hold what that user's API shows."""
    principal: Principal | None
    if who.count(".") == 2:  # a JWT: header.claims.signature
        if jwt_secret is None:
            raise ApiError(422, "invalid", "FUHUIYANG_JWT_SECRET is not set: a token cannot be checked")
        claims = TokenIssuer(jwt_secret, timedelta(minutes=1)).claims(who)
        principal = None if claims is None else load_principal(conn, claims.user_id, claims.session_id,
                                                               datetime.now(UTC))
        if principal is None:
            raise ApiError(401, "unauthorized", "the token is invalid, expired or its session was revoked")
    else:
        row = conn.execute("SELECT id, username, role, display_name, locale FROM users "
                           "WHERE username = %s AND active", (who,)).fetchone()
        if row is None:
            raise ApiError(404, "not_found", f"no active user {who}")
        principal = Principal(row[0], row[1], Role(row[2]), row[3], row[4])
    return resolve(conn, principal)


def everything() -> Scope:
    """An operator's view (database access already is): every farm and region."""
    return Scope(Principal(0, "operator", Role.ADMIN, None, "zh-CN"), None, None)


# --- scope and places ------------------------------------------------------------------------

def _selected_regions(conn: psycopg.Connection, scope: Scope, filters: Filters) -> set[str] | None:
    """The regions under --county and --township (both: their intersection); None: no filter."""
    selected: set[str] | None = None
    for level, region_id in (("county", filters.county), ("township", filters.township)):
        if region_id is None:
            continue
        row = conn.execute("SELECT level FROM regions WHERE id = %s", (region_id,)).fetchone()
        if row is None or not scope.region_visible(region_id):
            raise not_found("region", region_id)
        if row[0] != level:
            raise ApiError(422, "invalid", f"region {region_id} is a {row[0]}, not a {level}")
        subtree = set(region_subtree(conn, [region_id]))
        selected = subtree if selected is None else selected & subtree
    return selected


def _farms(conn: psycopg.Connection, scope: Scope, filters: Filters) -> list[str] | None:
    """The farms the caller may see, narrowed by the filters; None: every farm (administrators)."""
    farms: set[str] | None = None if scope.farms is None else set(scope.farms)
    regions = _selected_regions(conn, scope, filters)
    if regions is not None:
        inside = {r[0] for r in conn.execute("SELECT id FROM farms WHERE region_id = ANY(%s)", (sorted(regions),))}
        farms = inside if farms is None else farms & inside
    if filters.flock is not None:
        flock_farm = get_flock(conn, scope, filters.flock)["farm_id"]  # 404 outside the scope
        farms = {flock_farm} if farms is None else farms & {flock_farm}
    return None if farms is None else sorted(farms)


@dataclass
class _Places:
    regions: dict[str, tuple[str | None, str]]  # id -> (parent, level)
    farm_regions: dict[str, str]

    def region(self, region_id: str | None) -> dict[str, str | None]:
        out: dict[str, str | None] = {"region_id": region_id, "county": None, "township": None}
        current = region_id
        while current is not None and current in self.regions:
            parent, level = self.regions[current]
            if level in ("county", "township"):
                out[level] = current
            current = parent
        return out

    def farm(self, farm_id: str) -> dict[str, str | None]:
        return {**self.region(self.farm_regions.get(farm_id)), "farm_id": farm_id}


def _places(conn: psycopg.Connection) -> _Places:
    regions = {r[0]: (r[1], r[2]) for r in conn.execute("SELECT id, parent_id, level FROM regions")}
    return _Places(regions, dict(conn.execute("SELECT id, region_id FROM farms").fetchall()))


def _typed(records: list[dict[str, Any]], schema: dict[str, str]) -> pd.DataFrame:
    df = pd.DataFrame.from_records(records, columns=list(schema))
    for column, dtype in schema.items():
        values = df[column]
        if dtype == DAY:
            df[column] = pd.to_datetime(values).astype(DAY)
        elif dtype == INSTANT:
            df[column] = pd.to_datetime(values, utc=True).dt.tz_convert(TZ).astype(INSTANT)
        elif dtype == "Int64":  # psycopg hands sums over as Decimal
            df[column] = pd.array([None if pd.isna(v) else int(v) for v in values], dtype="Int64")
        elif dtype == "float64":
            df[column] = pd.Series([float("nan") if pd.isna(v) else float(v) for v in values],
                                   index=df.index, dtype="float64")
        elif dtype == "category":  # text categories, sorted, so equal data gives equal frames
            present = sorted({str(v) for v in values if not pd.isna(v)})
            df[column] = pd.Categorical([None if pd.isna(v) else str(v) for v in values],
                                        categories=pd.Index(present, dtype="str"))
        else:
            df[column] = values.astype(dtype)
    return df
