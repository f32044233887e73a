"""A technician's onboarding steps that the plain catalog does not cover: a new village under a
township of their area, and a farmer's account made (or found) by phone number for a farm."""

from __future__ import annotations

import re
import secrets
from dataclasses import replace
from typing import Any

import psycopg

from cloud.api import audit
from cloud.api.errors import forbidden, invalid, not_found
from cloud.api.scope import Role, Scope, may
from cloud.api.services import catalog, users
from cloud.api.services.paging import one, rows

PHONE = re.compile(r"^\+?[0-9][0-9 -]{5,30}$")


def new_id(prefix: str) -> str:
    """An id for something a person named in words (ids are for machines and URLs)."""
    return f"{prefix}-{secrets.token_hex(3)}"


def places(conn: psycopg.Connection, scope: Scope) -> list[dict[str, Any]]:
    """Townships of the caller's area with their villages, for the new-farm form."""
    params = catalog.scope_params(scope)
    towns = rows(conn, "SELECT id, name FROM regions WHERE level = 'township' AND "
                       f"{catalog.REGION_IN_SCOPE.format(col='id')} ORDER BY name", params)
    villages = rows(conn, "SELECT id, parent_id, name FROM regions WHERE level = 'village' AND "
                          f"{catalog.REGION_IN_SCOPE.format(col='id')} ORDER BY name", params)
    return [{**t, "villages": [v for v in villages if v["parent_id"] == t["id"]]} for t in towns]


def village_in(conn: psycopg.Connection, scope: Scope, township_id: str, name: str) -> tuple[str, Scope]:
    """The village called `name` in a township of the caller's area, created if new; and the
    caller's scope with it (a new village is in their area from now on)."""
    if not may(scope.principal, "manage_farms"):
        raise forbidden()
    town = one(conn, "SELECT id FROM regions WHERE id = %s AND level = 'township'", (township_id,))
    if town is None or not scope.region_visible(township_id):
        raise not_found("township", township_id)
    name = name.strip()
    if not name or len(name) > 120:
        raise invalid("请填写村名（最多120字）", "enter the village's name (at most 120 characters)")
    found = one(conn, "SELECT id FROM regions WHERE parent_id = %s AND level = 'village' AND name = %s",
                (township_id, name))
    if found is not None:
        return str(found["id"]), scope
    village = new_id(township_id)
    conn.execute("INSERT INTO regions (id, parent_id, level, name) VALUES (%s, %s, 'village', %s)",
                 (village, township_id, name))
    audit.record(conn, scope.principal.user_id, "create", "region", village,
                 {"parent_id": township_id, "level": "village", "name": name})
    wider = None if scope.regions is None else scope.regions | {village}
    return village, replace(scope, regions=wider)


def add_farmer(conn: psycopg.Connection, scope: Scope, farm_id: str, phone: str,
               display_name: str | None) -> tuple[dict[str, Any], str | None]:
    """The farmer with this phone gets the farm: an existing farmer's account is linked, else a
    new one is made with a one-time password to hand over (their phone signs them in later).
    Returns the account and the new password (None when the account already existed)."""
    catalog.get_farm(conn, scope, farm_id)
    if not may(scope.principal, "manage_farms"):
        raise forbidden()
    phone = phone.strip()
    if not PHONE.match(phone):
        raise invalid(f"手机号 {phone[:20]} 格式不对", f"{phone[:20]!r} is not a phone number")
    digits = re.sub(r"\D", "", phone)
    existing = one(conn, "SELECT id, role FROM users WHERE phone = %s OR username = %s", (phone, digits))
    if existing is not None:
        if existing["role"] != Role.FARMER:
            raise invalid("这个手机号属于工作人员账号，不能作为养殖户", "this phone belongs to a staff account")
        conn.execute("INSERT INTO user_scopes (user_id, farm_id) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                     (existing["id"], farm_id))
        audit.record(conn, scope.principal.user_id, "assign", "user", str(existing["id"]), {"farm_id": farm_id})
        return _account(conn, int(existing["id"])), None
    password = secrets.token_urlsafe(9)
    created = users.create_user(conn, None, {"username": digits, "password": password, "role": Role.FARMER,
                                             "display_name": display_name or None, "phone": phone,
                                             "farms": [farm_id]})
    audit.record(conn, scope.principal.user_id, "create_farmer", "user", str(created["id"]), {"farm_id": farm_id})
    return created, password


def farmers_of(conn: psycopg.Connection, scope: Scope, farm_id: str) -> list[dict[str, Any]]:
    catalog.get_farm(conn, scope, farm_id)
    return rows(conn, "SELECT u.id, u.username, u.display_name, u.phone, u.active FROM users u "
                      "JOIN user_scopes s ON s.user_id = u.id WHERE s.farm_id = %s AND u.role = 'farmer' "
                      "ORDER BY u.id", (farm_id,))


def _account(conn: psycopg.Connection, user_id: int) -> dict[str, Any]:
    row = one(conn, f"SELECT {users.USER_SELECT} FROM users u WHERE u.id = %s", (user_id,))
    assert row is not None
    return row
