"""Regions, farms, houses and flocks, filtered by the caller's scope."""

from __future__ import annotations

from typing import Any

import psycopg

from cloud.api import audit
from cloud.api.errors import ApiError, forbidden, invalid, not_found
from cloud.api.pagination import PageParams
from cloud.api.scope import Scope, may, region_subtree
from cloud.api.services.paging import one, page

# `%(farms)s` / `%(regions)s` are NULL for an unrestricted scope.
FARM_IN_SCOPE = "(%(farms)s::text[] IS NULL OR {col} = ANY(%(farms)s::text[]))"
REGION_IN_SCOPE = "(%(regions)s::text[] IS NULL OR {col} = ANY(%(regions)s::text[]))"


def scope_params(scope: Scope) -> dict[str, Any]:
    return {"farms": scope.farm_list(), "regions": scope.region_list()}


def list_regions(conn: psycopg.Connection, scope: Scope, paging: PageParams,
                 parent_id: str | None = None) -> tuple[list[dict[str, Any]], int]:
    where = REGION_IN_SCOPE.format(col="id")
    params = scope_params(scope)
    if parent_id is not None:
        where += " AND parent_id = %(parent)s"
        params["parent"] = parent_id
    return page(conn, "id, parent_id, level, name, name_en", f"regions WHERE {where}", "level, id", params, paging)


def get_region(conn: psycopg.Connection, scope: Scope, region_id: str) -> dict[str, Any]:
    if not scope.region_visible(region_id):
        raise not_found("region", region_id)
    row = one(conn, "SELECT id, parent_id, level, name, name_en FROM regions WHERE id = %s", (region_id,))
    if row is None:
        raise not_found("region", region_id)
    return row


def create_region(conn: psycopg.Connection, scope: Scope, data: dict[str, Any]) -> dict[str, Any]:
    if not may(scope.principal, "manage_regions"):
        raise forbidden()
    if data.get("parent_id") and one(conn, "SELECT 1 FROM regions WHERE id = %s", (data["parent_id"],)) is None:
        raise ApiError(422, "invalid", f"parent region {data['parent_id']} does not exist")
    if one(conn, "SELECT 1 FROM regions WHERE id = %s", (data["id"],)) is not None:
        raise ApiError(409, "conflict", f"region {data['id']} exists")
    conn.execute("INSERT INTO regions (id, parent_id, level, name, name_en) "
                 "VALUES (%(id)s, %(parent_id)s, %(level)s, %(name)s, %(name_en)s)", data)
    audit.record(conn, scope.principal.user_id, "create", "region", data["id"], data)
    return get_region(conn, scope, data["id"])


FARM_COLS = "id, name, region_id, owner_user_id, kind, lat, lon"


def list_farms(conn: psycopg.Connection, scope: Scope, paging: PageParams,
               region_id: str | None = None) -> tuple[list[dict[str, Any]], int]:
    where = FARM_IN_SCOPE.format(col="id")
    params = scope_params(scope)
    if region_id is not None:
        params["under"] = region_subtree(conn, [region_id])
        where += " AND region_id = ANY(%(under)s::text[])"
    return page(conn, FARM_COLS, f"farms WHERE {where}", "id", params, paging)


def get_farm(conn: psycopg.Connection, scope: Scope, farm_id: str) -> dict[str, Any]:
    if not scope.farm_visible(farm_id):
        raise not_found("farm", farm_id)
    row = one(conn, f"SELECT {FARM_COLS} FROM farms WHERE id = %s", (farm_id,))
    if row is None:
        raise not_found("farm", farm_id)
    return row


def create_farm(conn: psycopg.Connection, scope: Scope, data: dict[str, Any]) -> dict[str, Any]:
    if not may(scope.principal, "manage_farms"):
        raise forbidden()
    if not scope.region_visible(data["region_id"]) or one(
            conn, "SELECT 1 FROM regions WHERE id = %s", (data["region_id"],)) is None:
        raise not_found("region", data["region_id"])
    if data.get("owner_user_id") is not None and one(
            conn, "SELECT 1 FROM users WHERE id = %s AND role = 'farmer'", (data["owner_user_id"],)) is None:
        raise ApiError(422, "invalid", "owner_user_id must be a farmer")
    if one(conn, "SELECT 1 FROM farms WHERE id = %s", (data["id"],)) is not None:
        raise ApiError(409, "conflict", f"farm {data['id']} exists")
    conn.execute("INSERT INTO farms (id, name, region_id, owner_user_id, kind, lat, lon) VALUES "
                 "(%(id)s, %(name)s, %(region_id)s, %(owner_user_id)s, %(kind)s, %(lat)s, %(lon)s)", data)
    if data.get("owner_user_id") is not None:
        conn.execute("INSERT INTO user_scopes (user_id, farm_id) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                     (data["owner_user_id"], data["id"]))
    audit.record(conn, scope.principal.user_id, "create", "farm", data["id"], data)
    row = one(conn, f"SELECT {FARM_COLS} FROM farms WHERE id = %s", (data["id"],))
    assert row is not None
    return row


def patch_farm(conn: psycopg.Connection, scope: Scope, farm_id: str, changes: dict[str, Any]) -> dict[str, Any]:
    get_farm(conn, scope, farm_id)
    if not may(scope.principal, "manage_farms"):
        raise forbidden()
    for key, value in changes.items():
        conn.execute(f"UPDATE farms SET {key} = %s WHERE id = %s", (value, farm_id))  # keys come from FarmPatch
    audit.record(conn, scope.principal.user_id, "update", "farm", farm_id, changes)
    return get_farm(conn, scope, farm_id)


def list_houses(conn: psycopg.Connection, scope: Scope, farm_id: str, paging: PageParams
                ) -> tuple[list[dict[str, Any]], int]:
    get_farm(conn, scope, farm_id)
    return page(conn, "id, farm_id, name, capacity", "houses WHERE farm_id = %(farm)s", "id",
                {"farm": farm_id}, paging)


def get_house(conn: psycopg.Connection, scope: Scope, house_id: str) -> dict[str, Any]:
    row = one(conn, "SELECT id, farm_id, name, capacity FROM houses WHERE id = %s", (house_id,))
    if row is None or not scope.farm_visible(row["farm_id"]):
        raise not_found("house", house_id)
    return row


def create_house(conn: psycopg.Connection, scope: Scope, farm_id: str, data: dict[str, Any]) -> dict[str, Any]:
    get_farm(conn, scope, farm_id)
    if not may(scope.principal, "manage_farms"):
        raise forbidden()
    if one(conn, "SELECT 1 FROM houses WHERE id = %s", (data["id"],)) is not None:
        raise ApiError(409, "conflict", f"house {data['id']} exists")
    conn.execute("INSERT INTO houses (id, farm_id, name, capacity) VALUES (%(id)s, %(farm)s, %(name)s, %(capacity)s)",
                 {**data, "farm": farm_id})
    audit.record(conn, scope.principal.user_id, "create", "house", data["id"], {**data, "farm_id": farm_id})
    return get_house(conn, scope, data["id"])


FLOCK_SELECT = ("f.id, f.house_id, h.farm_id, f.breed, f.placed_on, f.birds_placed, f.birds_now, f.ended_on "
                "FROM flocks f JOIN houses h ON h.id = f.house_id")


def list_flocks(conn: psycopg.Connection, scope: Scope, paging: PageParams, house_id: str | None = None,
                farm_id: str | None = None, active: bool | None = None) -> tuple[list[dict[str, Any]], int]:
    where = FARM_IN_SCOPE.format(col="h.farm_id")
    params = scope_params(scope)
    if house_id is not None:
        where += " AND f.house_id = %(house)s"
        params["house"] = house_id
    if farm_id is not None:
        where += " AND h.farm_id = %(farm)s"
        params["farm"] = farm_id
    if active is not None:
        where += " AND (f.ended_on IS NULL) = %(active)s"
        params["active"] = active
    select, _, from_ = FLOCK_SELECT.partition(" FROM ")
    return page(conn, select, f"{from_} WHERE {where}", "f.placed_on DESC, f.id", params, paging)


def get_flock(conn: psycopg.Connection, scope: Scope, flock_id: str) -> dict[str, Any]:
    row = one(conn, f"SELECT {FLOCK_SELECT} WHERE f.id = %s", (flock_id,))
    if row is None or not scope.farm_visible(row["farm_id"]):
        raise not_found("flock", flock_id)
    return row


def create_flock(conn: psycopg.Connection, scope: Scope, house_id: str, data: dict[str, Any]) -> dict[str, Any]:
    get_house(conn, scope, house_id)
    if not may(scope.principal, "manage_farms"):
        raise forbidden()
    if one(conn, "SELECT 1 FROM flocks WHERE id = %s", (data["id"],)) is not None:
        raise ApiError(409, "conflict", f"flock {data['id']} exists")
    conn.execute("INSERT INTO flocks (id, house_id, breed, placed_on, birds_placed, birds_now) VALUES "
                 "(%(id)s, %(house)s, %(breed)s, %(placed_on)s, %(birds_placed)s, %(birds_placed)s)",
                 {**data, "house": house_id})
    audit.record(conn, scope.principal.user_id, "create", "flock", data["id"],
                 {**data, "placed_on": str(data["placed_on"]), "house_id": house_id})
    return get_flock(conn, scope, data["id"])


def recount_birds(conn: psycopg.Connection, flock_id: str) -> None:
    """The one place a flock's live count is set: birds placed less every recorded death and cull.

    Derived, never incremented, so correcting any day's record (or the placement) corrects it.
    """
    conn.execute(
        "UPDATE flocks f SET birds_now = greatest(0, f.birds_placed - coalesce((SELECT sum(coalesce(d.deaths, 0) "
        "+ coalesce(d.culls, 0)) FROM daily_records d WHERE d.flock_id = f.id), 0)) WHERE f.id = %s",
        (flock_id,))


def patch_flock(conn: psycopg.Connection, scope: Scope, flock_id: str, changes: dict[str, Any]) -> dict[str, Any]:
    get_flock(conn, scope, flock_id)
    if not may(scope.principal, "manage_farms"):
        raise forbidden()
    placed = changes.get("birds_placed")
    if placed is not None:
        conn.execute("SELECT 1 FROM flocks WHERE id = %s FOR UPDATE", (flock_id,))
        removed = one(conn, "SELECT coalesce(sum(coalesce(deaths, 0) + coalesce(culls, 0)), 0) AS n "
                            "FROM daily_records WHERE flock_id = %s", (flock_id,))
        if removed is not None and placed < removed["n"]:
            raise invalid(f"入栏数 {placed} 少于已记录的死亡和淘汰 {removed['n']} 只",
                          f"birds placed ({placed}) is less than the deaths and culls recorded ({removed['n']})")
    for key, value in changes.items():
        conn.execute(f"UPDATE flocks SET {key} = %s WHERE id = %s", (value, flock_id))  # keys from FlockPatch
    recount_birds(conn, flock_id)
    audit.record(conn, scope.principal.user_id, "update", "flock", flock_id,
                 {k: str(v) if v is not None else None for k, v in changes.items()})
    return get_flock(conn, scope, flock_id)
