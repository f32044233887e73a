"""The SMS budget as the console shows it: per person, what was sent, held for the digest, or
suppressed, and why (the `sms_budget` ledger and the digest SMS in `notifications`).

An entry is shown when its alert is in the reader's scope: the farm of a farm alert, the
region of a regional one (reading is governed by scope alone, as everywhere in the API).
"""

from __future__ import annotations

from typing import Any

import psycopg

from cloud.api.scope import Scope
from cloud.api.services.paging import rows

# An entry's scope is its alert's farm id, or "region:<code>" for a regional alert.
_VISIBLE = """(%(farms)s::text[] IS NULL OR b.scope = ANY(%(farms)s)
    OR (b.scope LIKE 'region:%%' AND substr(b.scope, 8) = ANY(%(regions)s)))"""


def _window(conn: psycopg.Connection, days: int) -> Any:
    """The last `days` days of the ledger (event time: the demo's month is in the past)."""
    row = conn.execute("SELECT max(at) - make_interval(days => %s) FROM sms_budget", (days,)).fetchone()
    return None if row is None else row[0]


def per_person(conn: psycopg.Connection, scope: Scope, days: int = 7) -> list[dict[str, Any]]:
    since = _window(conn, days)
    if since is None:
        return []
    params = {"since": since, "farms": scope.farm_list(), "regions": scope.region_list() or []}
    people = rows(conn, f"""
        SELECT b.recipient, b.role, max(u.display_name) AS name, max(b.phone) AS phone,
               count(*) FILTER (WHERE b.action = 'sent') AS sent,
               count(*) FILTER (WHERE b.action = 'held') AS held,
               count(*) FILTER (WHERE b.action = 'suppressed') AS suppressed,
               count(DISTINCT b.digest) FILTER (WHERE b.action = 'held' AND b.digest IS NOT NULL) AS digests
        FROM sms_budget b LEFT JOIN users u ON u.id = b.user_id
        WHERE b.at >= %(since)s AND {_VISIBLE}
        GROUP BY b.recipient, b.role ORDER BY b.role, b.recipient""", params)  # noqa: S608 - fixed fragment
    reasons = rows(conn, f"""
        SELECT b.recipient, b.action, b.reason, count(*) AS n FROM sms_budget b
        WHERE b.at >= %(since)s AND {_VISIBLE}
        GROUP BY b.recipient, b.action, b.reason ORDER BY b.recipient, n DESC""", params)  # noqa: S608
    why: dict[str, list[dict[str, Any]]] = {}
    for r in reasons:
        why.setdefault(r["recipient"], []).append({"action": r["action"], "reason": r["reason"], "count": r["n"]})
    return [{**p, "phone": _mask(p["phone"]), "sms": p["sent"] + p["digests"], "why": why.get(p["recipient"], [])}
            for p in people]


def _mask(phone: str | None) -> str:
    """Phone numbers are personal data: the console needs the last four digits only."""
    return "" if not phone else "*" * max(len(phone) - 4, 0) + phone[-4:]


def refusals(conn: psycopg.Connection, scope: Scope, limit: int = 20) -> list[dict[str, Any]]:
    """The latest provider refusals a person must act on (template/signature/credentials: an
    operator; a refused number: correct the person's phone), in the reader's scope."""
    params = {"farms": scope.farm_list(), "regions": scope.region_list() or [], "limit": limit}
    found = rows(conn, f"""
        SELECT r.at, r.provider, r.code, r.cause, r.template, r.phone, u.display_name AS name
        FROM sms_refusals r LEFT JOIN users u ON u.id = r.user_id
        WHERE {_VISIBLE.replace("b.scope", "r.scope")}
        ORDER BY r.at DESC LIMIT %(limit)s""", params)  # noqa: S608 - fixed fragment
    return [{**r, "phone": _mask(r["phone"])} for r in found]
