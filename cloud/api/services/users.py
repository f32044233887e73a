"""Users and their scopes (administrators manage them; everyone may read themselves)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg

from cloud.api import audit, sessions
from cloud.api.errors import ApiError, forbidden, not_found
from cloud.api.login_throttle import LoginThrottle
from cloud.api.pagination import PageParams
from cloud.api.scope import Scope, may
from cloud.api.security import hash_password
from cloud.api.services import accounts
from cloud.api.services.paging import one, page

USER_SELECT = """u.id, u.username, u.role, u.display_name, u.phone, u.locale, u.active,
coalesce(array(SELECT farm_id FROM user_scopes s WHERE s.user_id = u.id AND farm_id IS NOT NULL ORDER BY 1),
         '{}') AS farms,
coalesce(array(SELECT region_id FROM user_scopes s WHERE s.user_id = u.id AND region_id IS NOT NULL ORDER BY 1),
         '{}') AS regions"""


def list_users(conn: psycopg.Connection, scope: Scope, paging: PageParams) -> tuple[list[dict[str, Any]], int]:
    if not may(scope.principal, "manage_users"):
        raise forbidden()
    return page(conn, USER_SELECT, "users u", "u.id", {}, paging)


def get_user(conn: psycopg.Connection, scope: Scope, user_id: int) -> dict[str, Any]:
    if user_id != scope.principal.user_id and not may(scope.principal, "manage_users"):
        raise not_found("user", user_id)
    row = one(conn, f"SELECT {USER_SELECT} FROM users u WHERE u.id = %s", (user_id,))
    if row is None:
        raise not_found("user", user_id)
    return row


def create_user(conn: psycopg.Connection, scope: Scope | None, data: dict[str, Any]) -> dict[str, Any]:
    """Create a user; `scope=None` is the bootstrap path (CLI), which needs no caller."""
    if scope is not None and not may(scope.principal, "manage_users"):
        raise forbidden()
    if one(conn, "SELECT 1 FROM users WHERE username = %s", (data["username"],)) is not None:
        raise ApiError(409, "conflict", f"user {data['username']} exists")
    farms, regions = list(data.get("farms") or []), list(data.get("regions") or [])
    if data["role"] == "farmer" and regions:
        raise ApiError(422, "invalid", "a farmer is scoped to farms, not regions")
    if data["role"] in ("technician", "program_staff") and farms:
        raise ApiError(422, "invalid", "technicians and programme staff are scoped to regions")
    missing = [f for f in farms if one(conn, "SELECT 1 FROM farms WHERE id = %s", (f,)) is None]
    missing += [r for r in regions if one(conn, "SELECT 1 FROM regions WHERE id = %s", (r,)) is None]
    if missing:
        raise ApiError(422, "invalid", f"unknown farms or regions: {', '.join(missing)}")
    row = conn.execute(
        "INSERT INTO users (username, password_hash, role, display_name, phone, locale) "
        "VALUES (%s, %s, %s, %s, %s, %s) RETURNING id",
        (data["username"], hash_password(data["password"]), str(data["role"]), data.get("display_name"),
         data.get("phone"), data.get("locale") or "zh-CN"),
    ).fetchone()
    assert row is not None
    user_id = int(row[0])
    for farm in farms:
        conn.execute("INSERT INTO user_scopes (user_id, farm_id) VALUES (%s, %s)", (user_id, farm))
    for region in regions:
        conn.execute("INSERT INTO user_scopes (user_id, region_id) VALUES (%s, %s)", (user_id, region))
    detail = {k: v for k, v in data.items() if k != "password"}
    audit.record(conn, scope.principal.user_id if scope else None, "create", "user", str(user_id),
                 {**detail, "role": str(data["role"])})
    created = one(conn, f"SELECT {USER_SELECT} FROM users u WHERE u.id = %s", (user_id,))
    assert created is not None
    return created


def patch_user(conn: psycopg.Connection, scope: Scope, user_id: int, changes: dict[str, Any],
               now: datetime, throttle: LoginThrottle) -> dict[str, Any]:
    """Administrators change anyone; a user changes their own name and locale here, their password
    only with the current one, and their phone only through an SMS code (POST /me/phone)."""
    is_self = user_id == scope.principal.user_id
    current = get_user(conn, scope, user_id)
    if not may(scope.principal, "manage_users") and (not is_self or "active" in changes):
        raise forbidden()
    current_password = changes.pop("current_password", None)
    if is_self and changes.get("phone") not in (None, current["phone"]):
        raise ApiError(403, "verify_phone", "a new phone must be confirmed by SMS code: POST /api/v1/me/phone")
    new_password = changes.pop("password", None)
    if new_password is not None and is_self:
        if current_password is None:
            raise ApiError(403, "wrong_password", "changing your password needs current_password")
        accounts.change_own_password(conn, throttle, scope.principal, current_password, new_password, now)
    elif new_password is not None:
        accounts.set_password(conn, user_id, new_password, scope.principal.user_id, now)
    for key, value in changes.items():
        conn.execute(f"UPDATE users SET {key} = %s WHERE id = %s", (value, user_id))  # keys from UserPatch
    if changes.get("active") is False:
        sessions.revoke_all(conn, user_id, "deactivated", now)
    if changes:
        audit.record(conn, scope.principal.user_id, "update", "user", str(user_id), changes)
    return get_user(conn, scope, user_id)


def revoke_sessions(conn: psycopg.Connection, scope: Scope, user_id: int, now: datetime) -> int:
    """An administrator ends every session of a user (a lost phone, a departed employee)."""
    get_user(conn, scope, user_id)  # others' ids look absent, as everywhere
    if not may(scope.principal, "manage_users"):
        raise forbidden()
    revoked = sessions.revoke_all(conn, user_id, f"revoked by user {scope.principal.user_id}", now)
    audit.record(conn, scope.principal.user_id, "revoke_sessions", "user", str(user_id), {"revoked": revoked})
    return revoked


def list_audit(conn: psycopg.Connection, scope: Scope, paging: PageParams, entity: str | None = None
               ) -> tuple[list[dict[str, Any]], int]:
    if not may(scope.principal, "read_audit"):
        raise forbidden()
    params: dict[str, Any] = {"entity": entity}
    return page(conn, "id, at, user_id, action, entity, entity_id, detail",
                "audit_log WHERE (%(entity)s::text IS NULL OR entity = %(entity)s::text)", "id DESC", params, paging)
