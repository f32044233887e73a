"""Farmer-entered daily records and dead-bird (mortality) records."""

from __future__ import annotations

import struct
from datetime import date
from typing import Any

import psycopg

from cloud.api import audit
from cloud.api.errors import forbidden, invalid, not_found
from cloud.api.pagination import PageParams
from cloud.api.scope import Scope, may
from cloud.api.services.catalog import FARM_IN_SCOPE, get_flock, recount_birds, scope_params
from cloud.api.services.paging import one, page

RECORD_COLS = ("flock_id, day, deaths, culls, feed_kg, water_l, eggs, birds, mean_weight_g, uniformity_pct, source, "
               "entered_by, entered_at")
FIELDS = ("deaths", "culls", "feed_kg", "water_l", "eggs")
# Everything a day may hold: the form's fields and what a farm's book adds.
DAY_FIELDS = (*FIELDS, "birds", "mean_weight_g", "uniformity_pct")
REMOVED = ("deaths", "culls")  # the fields that lower the live count


def list_daily(conn: psycopg.Connection, scope: Scope, flock_id: str, paging: PageParams,
               start: date | None = None, end: date | None = None) -> tuple[list[dict[str, Any]], int]:
    get_flock(conn, scope, flock_id)
    return page(conn, RECORD_COLS,
                "daily_records WHERE flock_id = %(flock)s AND (%(start)s::date IS NULL OR day >= %(start)s::date) "
                "AND (%(end)s::date IS NULL OR day < %(end)s::date)",
                "day DESC", {"flock": flock_id, "start": start, "end": end}, paging)


def put_daily(conn: psycopg.Connection, scope: Scope, flock_id: str, day: date, values: dict[str, Any],
              today: date | None = None) -> dict[str, Any]:
    """Create or replace the farmer's record for one day, then recount the flock's live birds.

    `today` is the farm's date: records are for any day of the flock's life up to it, never ahead.
    """
    flock = get_flock(conn, scope, flock_id)
    if not may(scope.principal, "record_daily"):
        raise forbidden()
    _check_day(flock, day, today)
    if all(values.get(k) is None for k in FIELDS):
        raise invalid("请至少填写一项", "enter at least one value")
    before = one(conn, f"SELECT {RECORD_COLS} FROM daily_records WHERE flock_id = %s AND day = %s",
                 (flock_id, day))
    # The same entry sent twice (a phone resending after a dropped link) changes nothing, once.
    if store_day(conn, flock_id, day, {k: values.get(k) for k in FIELDS}, scope.principal.user_id) != "unchanged":
        audit.record(conn, scope.principal.user_id, "update" if before else "create", "daily_record",
                     f"{flock_id}/{day}", {k: values.get(k) for k in FIELDS})
    row = one(conn, f"SELECT {RECORD_COLS} FROM daily_records WHERE flock_id = %s AND day = %s", (flock_id, day))
    assert row is not None
    return row


def store_day(conn: psycopg.Connection, flock_id: str, day: date, values: dict[str, Any], user_id: int | None,
              source: str = "app") -> str:
    """Create or update one day of a flock with the fields in `values`, the others kept.

    The one writer of daily records (the app's form and a farm's imported book). Losses over the
    flock's life never exceed its birds placed, and the live count is recounted from the records.
    Returns "inserted", "updated" or "unchanged" (then nothing is written).
    """
    # The flock row is the lock: two corrections of one flock cannot both pass the removals check.
    flock = one(conn, "SELECT birds_placed FROM flocks WHERE id = %s FOR UPDATE", (flock_id,))
    assert flock is not None
    before = one(conn, f"SELECT {', '.join(DAY_FIELDS)} FROM daily_records WHERE flock_id = %s AND day = %s "
                 "FOR UPDATE", (flock_id, day))
    after = {k: (before or {}).get(k) for k in DAY_FIELDS} | {k: values[k] for k in DAY_FIELDS if k in values}
    if before is not None and all(_same(before[k], after[k]) for k in DAY_FIELDS):
        return "unchanged"
    _check_removals(conn, flock_id, flock["birds_placed"], day, sum(after[k] or 0 for k in REMOVED))
    conn.execute(
        f"INSERT INTO daily_records (flock_id, day, {', '.join(DAY_FIELDS)}, entered_by, entered_at, source) "
        f"VALUES (%(flock)s, %(day)s, {', '.join(f'%({k})s' for k in DAY_FIELDS)}, %(uid)s, now(), %(source)s) "
        f"ON CONFLICT (flock_id, day) DO UPDATE SET "
        f"{', '.join(f'{k} = EXCLUDED.{k}' for k in DAY_FIELDS)}, entered_by = EXCLUDED.entered_by, "
        "entered_at = EXCLUDED.entered_at, source = EXCLUDED.source",
        {**after, "flock": flock_id, "day": day, "uid": user_id, "source": source},
    )
    recount_birds(conn, flock_id)
    return "updated" if before is not None else "inserted"


def _same(stored: Any, new: Any) -> bool:
    if stored is None or new is None:
        return stored is new
    if isinstance(stored, float) or isinstance(new, float):
        # `real` columns hold single precision: compare what would be stored.
        return bool(struct.pack("f", float(stored)) == struct.pack("f", float(new)))
    return bool(stored == new)


def _check_day(flock: dict[str, Any], day: date, today: date | None) -> None:
    placed, ended = flock["placed_on"], flock["ended_on"]
    if day < placed or (ended is not None and day > ended):
        raise invalid(f"{day} 不在这批鸡的饲养期内（{placed} 入栏）",
                      f"{day} is outside the flock's life ({placed} onwards)")
    if today is not None and day > today:
        raise invalid(f"{day} 还没到，不能提前填写记录", f"{day} is in the future: records are for past days")


def _check_removals(conn: psycopg.Connection, flock_id: str, placed: int, day: date, removed: int) -> None:
    """Deaths and culls over the flock's life can never exceed the birds placed.

    Removals only accumulate, so the running total is largest on the last day: checking the
    total is checking every day's "no more than the birds alive that morning".
    """
    other = one(conn, "SELECT coalesce(sum(coalesce(deaths, 0) + coalesce(culls, 0)), 0) AS n "
                      "FROM daily_records WHERE flock_id = %s AND day <> %s", (flock_id, day))
    alive = placed - (other["n"] if other else 0)
    if removed > alive:
        raise invalid(f"死亡和淘汰共 {removed} 只，超过了存栏 {alive} 只",
                      f"deaths and culls ({removed}) exceed the birds alive ({alive})",
                      {"alive": alive, "removed": removed})


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
    conn.execute("UPDATE mortality_records SET confirmed = %s WHERE id = %s", (confirmed, record_id))
    audit.record(conn, scope.principal.user_id, "confirm" if confirmed else "reject", "mortality_record",
                 str(record_id), {"confirmed": confirmed, "previous": row["confirmed"]})
    row["confirmed"] = confirmed
    return row
