"""Farmer-entered daily records and dead-bird (mortality) records."""

from __future__ import annotations

from datetime import date
from typing import Any

import psycopg

from cloud.api import audit
from cloud.api.errors import ApiError, forbidden, not_found
from cloud.api.pagination import PageParams
from cloud.api.scope import Scope, may
from cloud.api.services.catalog import FARM_IN_SCOPE, get_flock, scope_params
from cloud.api.services.paging import one, page
from cloud.labels import store as labels

RECORD_COLS = "flock_id, day, deaths, culls, feed_kg, water_l, eggs, entered_by, entered_at"
FIELDS = ("deaths", "culls", "feed_kg", "water_l", "eggs")


def list_daily(conn: psycopg.Connection, scope: Scope, flock_id: str, paging: PageParams,
               start: date | None = None, end: date | None = None) -> tuple[list[dict[str, Any]], int]:
    get_flock(conn, scope, flock_id)
    return page(conn, RECORD_COLS,
                "daily_records WHERE flock_id = %(flock)s AND (%(start)s::date IS NULL OR day >= %(start)s::date) "
                "AND (%(end)s::date IS NULL OR day < %(end)s::date)",
                "day DESC", {"flock": flock_id, "start": start, "end": end}, paging)


def put_daily(conn: psycopg.Connection, scope: Scope, flock_id: str, day: date, values: dict[str, Any]
              ) -> dict[str, Any]:
    """Create or replace the farmer's record for one day; deaths and culls also lower birds_now."""
    flock = get_flock(conn, scope, flock_id)
    if not may(scope.principal, "record_daily"):
        raise forbidden()
    if day < flock["placed_on"] or (flock["ended_on"] is not None and day > flock["ended_on"]):
        raise ApiError(422, "invalid", f"{day} is outside the flock's life ({flock['placed_on']} onwards)")
    if all(values.get(k) is None for k in FIELDS):
        raise ApiError(422, "invalid", "enter at least one value")
    before = one(conn, f"SELECT {RECORD_COLS} FROM daily_records WHERE flock_id = %s AND day = %s FOR UPDATE",
                 (flock_id, day))
    removed_before = (before["deaths"] or 0) + (before["culls"] or 0) if before else 0
    removed_now = (values.get("deaths") or 0) + (values.get("culls") or 0)
    conn.execute(
        "INSERT INTO daily_records (flock_id, day, deaths, culls, feed_kg, water_l, eggs, entered_by, entered_at) "
        "VALUES (%(flock)s, %(day)s, %(deaths)s, %(culls)s, %(feed_kg)s, %(water_l)s, %(eggs)s, %(uid)s, now()) "
        "ON CONFLICT (flock_id, day) DO UPDATE SET deaths = EXCLUDED.deaths, culls = EXCLUDED.culls, "
        "feed_kg = EXCLUDED.feed_kg, water_l = EXCLUDED.water_l, eggs = EXCLUDED.eggs, "
        "entered_by = EXCLUDED.entered_by, entered_at = EXCLUDED.entered_at",
        {**{k: values.get(k) for k in FIELDS}, "flock": flock_id, "day": day, "uid": scope.principal.user_id},
    )
    if removed_now != removed_before:
        conn.execute("UPDATE flocks SET birds_now = greatest(0, coalesce(birds_now, birds_placed) - %s) "
                     "WHERE id = %s", (removed_now - removed_before, flock_id))
    audit.record(conn, scope.principal.user_id, "update" if before else "create", "daily_record",
                 f"{flock_id}/{day}", {k: values.get(k) for k in FIELDS})
    row = one(conn, f"SELECT {RECORD_COLS} FROM daily_records WHERE flock_id = %s AND day = %s", (flock_id, day))
    assert row is not None
    return row


MORTALITY_SELECT = ("m.id, m.flock_id, m.house_id, m.farm_id, m.ts, m.count, m.source, m.confirmed, "
                    "m.evidence ->> 'frame' AS frame, m.evidence ->> 'crop' AS crop")


def list_mortality(conn: psycopg.Connection, scope: Scope, paging: PageParams, farm_id: str | None = None,
                   pending: bool | None = None) -> tuple[list[dict[str, Any]], int]:
    where = FARM_IN_SCOPE.format(col="m.farm_id")
    params = scope_params(scope)
    if farm_id is not None:
        where += " AND m.farm_id = %(farm)s"
        params["farm"] = farm_id
    if pending is not None:
        where += " AND (m.confirmed IS NULL) = %(pending)s"
        params["pending"] = pending
    return page(conn, MORTALITY_SELECT, f"mortality_records m WHERE {where}", "m.ts DESC, m.id DESC", params, paging)


def decide_mortality(conn: psycopg.Connection, scope: Scope, record_id: int, confirmed: bool) -> dict[str, Any]:
    row = one(conn, f"SELECT {MORTALITY_SELECT} FROM mortality_records m WHERE m.id = %s FOR UPDATE", (record_id,))
    if row is None or not scope.farm_visible(row["farm_id"]):
        raise not_found("mortality record", record_id)
    if not may(scope.principal, "confirm_mortality"):
        raise forbidden()
    evidence = conn.execute("UPDATE mortality_records SET confirmed = %s WHERE id = %s RETURNING evidence",
                            (confirmed, record_id)).fetchone()
    if evidence is not None and isinstance(evidence[0], dict):
        labels.feed_verdict(conn, evidence[0], confirmed, scope.principal.user_id)  # the farm's label set
    audit.record(conn, scope.principal.user_id, "confirm" if confirmed else "reject", "mortality_record",
                 str(record_id), {"confirmed": confirmed, "previous": row["confirmed"]})
    row["confirmed"] = confirmed
    return row
