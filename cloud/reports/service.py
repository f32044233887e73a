"""The regional report for a caller: scope checks, then load and roll up."""

from __future__ import annotations

from datetime import date, timedelta

import psycopg

from cloud.api.errors import ApiError, forbidden, not_found
from cloud.api.scope import Scope, may, region_subtree
from cloud.api.services.paging import rows
from cloud.reports import queries, rollup

MAX_DAYS = 400


def default_period(today: date) -> tuple[date, date]:
    """The last four full weeks ending today (exclusive of tomorrow)."""
    end = today + timedelta(days=1)
    return end - timedelta(days=28), end


def regional_report(conn: psycopg.Connection, scope: Scope, region_id: str, start: date, end: date,
                    side: psycopg.Connection | None = None) -> rollup.RegionReport:
    if not may(scope.principal, "read_reports"):
        raise forbidden("reports are for technicians, programme staff and administrators")
    if not scope.region_visible(region_id):
        raise not_found("region", region_id)
    if end <= start or (end - start).days > MAX_DAYS:
        raise ApiError(422, "invalid", f"the period must be 1-{MAX_DAYS} days")
    return report(conn, region_id, start, end, scope.farms, side)


def report(conn: psycopg.Connection, region_id: str, start: date, end: date,
           allowed_farms: frozenset[str] | None = None, side: psycopg.Connection | None = None
           ) -> rollup.RegionReport:
    """Unchecked: for the scheduled job and the benchmark (callers check scope). `side`: an
    optional second connection to the same database that some sections run on concurrently."""
    subtree = region_subtree(conn, [region_id])
    if not subtree:
        raise not_found("region", region_id)
    regions = rows(conn, "SELECT id, parent_id, level, name, name_en FROM regions WHERE id = ANY(%s)", (subtree,))
    farm_ids = [r[0] for r in conn.execute("SELECT id FROM farms WHERE region_id = ANY(%s)", (subtree,))]
    if allowed_farms is not None:
        farm_ids = [f for f in farm_ids if f in allowed_farms]
    with conn.transaction():  # scopes the report's work_mem setting
        data = queries.load(conn, farm_ids, start, end, side)
    by_id = {r["id"]: r for r in regions}
    region = by_id[region_id]
    built = rollup.build(region, regions, data, start, end)
    # The breadcrumb goes above the subtree too, as far as the caller may see.
    parent = region["parent_id"]
    while parent is not None:
        row = conn.execute("SELECT id, parent_id, level, name, name_en FROM regions WHERE id = %s", (parent,)).fetchone()
        if row is None:
            break
        built.path.insert(0, dict(zip(("id", "parent_id", "level", "name", "name_en"), row, strict=True)))
        parent = row[1]
    return built
