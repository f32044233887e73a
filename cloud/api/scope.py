"""Who may see what: a farmer their farms, technicians and programme staff their region subtrees.

A request's scope is resolved once, with a recursive CTE over the region tree, into the sets
of farm and region ids it may touch; every query then filters on those sets.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import psycopg


class Role(StrEnum):
    FARMER = "farmer"
    TECHNICIAN = "technician"
    PROGRAM_STAFF = "program_staff"
    ADMIN = "admin"


@dataclass(frozen=True)
class Principal:
    user_id: int
    username: str
    role: Role
    display_name: str | None
    locale: str


@dataclass(frozen=True)
class Scope:
    principal: Principal
    farms: frozenset[str] | None  # None: every farm (admin)
    regions: frozenset[str] | None  # regions visible: the scoped subtrees (or farms' regions)

    @property
    def all(self) -> bool:
        return self.farms is None

    def farm_visible(self, farm_id: str | None) -> bool:
        return self.farms is None or (farm_id is not None and farm_id in self.farms)

    def region_visible(self, region_id: str | None) -> bool:
        return self.regions is None or (region_id is not None and region_id in self.regions)

    def farm_list(self) -> list[str] | None:
        return None if self.farms is None else sorted(self.farms)

    def region_list(self) -> list[str] | None:
        return None if self.regions is None else sorted(self.regions)


SUBTREE_SQL = """
WITH RECURSIVE sub(id) AS (
    SELECT r.id FROM regions r WHERE r.id = ANY(%(roots)s)
    UNION
    SELECT r.id FROM regions r JOIN sub ON r.parent_id = sub.id
)
SELECT id FROM sub
"""


def region_subtree(conn: psycopg.Connection, roots: list[str]) -> list[str]:
    return [r[0] for r in conn.execute(SUBTREE_SQL, {"roots": roots}).fetchall()]


def resolve(conn: psycopg.Connection, principal: Principal) -> Scope:
    if principal.role is Role.ADMIN:
        return Scope(principal, None, None)
    uid = {"uid": principal.user_id}
    if principal.role is Role.FARMER:
        farms = [r[0] for r in conn.execute(
            "SELECT farm_id FROM user_scopes WHERE user_id = %(uid)s AND farm_id IS NOT NULL "
            "UNION SELECT id FROM farms WHERE owner_user_id = %(uid)s", uid).fetchall()]
        regions = [r[0] for r in conn.execute(
            "SELECT DISTINCT region_id FROM farms WHERE id = ANY(%s)", (farms,)).fetchall()]
        return Scope(principal, frozenset(farms), frozenset(regions))
    roots = [r[0] for r in conn.execute(
        "SELECT region_id FROM user_scopes WHERE user_id = %(uid)s AND region_id IS NOT NULL", uid).fetchall()]
    regions = region_subtree(conn, roots)
    farms = [r[0] for r in conn.execute("SELECT id FROM farms WHERE region_id = ANY(%s)", (regions,)).fetchall()]
    return Scope(principal, frozenset(farms), frozenset(regions))


# What each role may change (reading is governed by scope alone).
CAN = {
    "record_daily": {Role.FARMER, Role.TECHNICIAN, Role.ADMIN},
    "acknowledge_alert": {Role.FARMER, Role.TECHNICIAN, Role.ADMIN},
    "confirm_mortality": {Role.FARMER, Role.TECHNICIAN, Role.ADMIN},
    "push_config": {Role.TECHNICIAN, Role.ADMIN},
    "manage_farms": {Role.TECHNICIAN, Role.ADMIN},
    "manage_users": {Role.ADMIN},
    "manage_regions": {Role.ADMIN},
    "read_audit": {Role.ADMIN},
    "read_reports": {Role.PROGRAM_STAFF, Role.TECHNICIAN, Role.ADMIN},
    "label_frames": {Role.TECHNICIAN, Role.ADMIN},
}


def may(principal: Principal, action: str) -> bool:
    return principal.role in CAN[action]
