"""`AlertStore` on the `alerts` table (cloud/db/migrations/0001_core.sql).

Columns hold what reports and the app query (type, severity, state, farm/house/region,
event window, acknowledgement); the engine's own bookkeeping (deterministic uid, findings,
trigger count, who was told, audit trail) rides in `evidence`. The partial unique index on
`dedup_key` enforces one live alert per key in the database too.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from cloud.alerts.advice import advice_for
from cloud.alerts.model import AlertKey, Finding, Severity
from cloud.alerts.store import Alert, AuditEntry, State, actor_user, user_actor
from cloud.db.transactions import end_read

NOTIFY_PREFIX = "fhy_alerts"


def notify_channel(schema: str) -> str:
    """One channel per schema: NOTIFY is database-wide, and tests (or a second deployment)
    in another schema must not see our alerts."""
    return f"{NOTIFY_PREFIX}.{schema}"


_COLUMNS = (
    "evidence, type, severity, state, farm_id, house_id, region_id, gateway_id, acknowledged_at, "
    "resolved_at, id, event_start, event_end, acknowledged_by"
)
# Rows written by other code (API seeds, imports) carry none of our bookkeeping: we adopt
# them under this id and write the bookkeeping on their next save.
_ADOPTED = "db"
_MATCH = "(evidence->>'uid' = %(uid)s OR id = %(row_id)s)"


class PgAlertStore:
    """One connection, used by one worker; each save is its own short transaction.

    With `caller_commits` (an API request, whose transaction also holds its audit row) reads
    leave the caller's transaction open and a save is a savepoint in it: the change and its
    NOTIFY take effect when the caller commits.
    """

    def __init__(self, conn: psycopg.Connection, *, caller_commits: bool = False) -> None:
        self.conn = conn
        self._ends_reads = not caller_commits
        self._notify_channel: str | None = None
        self._latest: dict[str, Alert] | None = None  # per-cycle snapshot, see `snapshot`

    def snapshot(self) -> None:
        """Read the latest alert of every key once; `current` answers from it until `release`.

        A cycle asks `current` for every rule key of every house (most have no alert at all):
        one query instead of a thousand. Saves keep the snapshot up to date; changes made by
        other processes (an acknowledgement in the API) are seen from the next cycle on.
        """
        rows = self.conn.execute(
            f"SELECT DISTINCT ON (dedup_key) {_COLUMNS} FROM alerts "  # noqa: S608 - fixed fragments
            "ORDER BY dedup_key, event_start DESC, id DESC"
        ).fetchall()
        self._end_read()
        self._latest = {str(alert.key): alert for alert in map(_alert, rows)}

    def release(self) -> None:
        self._latest = None

    def _channel(self) -> str:
        if self._notify_channel is None:
            row = self.conn.execute("SELECT current_schema()").fetchone()
            self._notify_channel = notify_channel(str(row[0]) if row else "public")
        return self._notify_channel

    def get(self, alert_id: str) -> Alert | None:
        return self._one(f"WHERE {_MATCH}", {"uid": alert_id, "row_id": _row_id(alert_id)})

    def by_row(self, row_id: int) -> Alert | None:
        """The alert stored in row `row_id` (the id the app and the API know it by)."""
        return self._one("WHERE id = %s", (row_id,))

    def current(self, key: AlertKey) -> Alert | None:
        if self._latest is not None:
            return self._latest.get(str(key))
        return self._one(
            "WHERE dedup_key = %s ORDER BY event_start DESC, id DESC LIMIT 1", (str(key),)
        )

    def active(self) -> list[Alert]:
        return self._many("WHERE state <> 'resolved' ORDER BY event_start", ())

    def overlapping(self, since: datetime, until: datetime) -> list[Alert]:
        return self._many(
            "WHERE event_start <= %s AND (resolved_at IS NULL OR resolved_at >= %s) ORDER BY event_start",
            (until, since),
        )

    def save(self, alert: Alert) -> None:
        self._write(alert)
        if self._latest is not None:
            self._latest[str(alert.key)] = alert

    def _write(self, alert: Alert) -> None:
        row = _row(alert)
        with self.conn.transaction():
            before = self.conn.execute(
                f"SELECT coalesce(jsonb_array_length(evidence->'audit'), 0) FROM alerts WHERE {_MATCH}",
                row,
            ).fetchone()
            if before is not None:
                self.conn.execute(
                    """UPDATE alerts SET severity = %(severity)s, state = %(state)s, event_end = %(event_end)s,
                           acknowledged_at = %(acknowledged_at)s, acknowledged_by = %(acknowledged_by)s,
                           resolved_at = %(resolved_at)s,
                           escalation = %(escalation)s, advice = %(advice)s, evidence = %(evidence)s
                       WHERE """
                    + _MATCH,
                    row,
                )
            else:
                self.conn.execute(
                    """INSERT INTO alerts (type, severity, state, dedup_key, farm_id, house_id, region_id,
                           gateway_id, event_start, event_end, acknowledged_at, acknowledged_by, resolved_at,
                           escalation, advice, evidence)
                       VALUES (%(type)s, %(severity)s, %(state)s, %(dedup_key)s, %(farm_id)s, %(house_id)s,
                           %(region_id)s, %(gateway_id)s, %(event_start)s, %(event_end)s,
                           %(acknowledged_at)s, %(acknowledged_by)s, %(resolved_at)s, %(escalation)s, %(advice)s, %(evidence)s)""",
                    row,
                )
            # Other processes (the API's SSE stream) follow changes without polling; a save that
            # only counted another trigger (a storm) adds no audit entry and tells nobody.
            if before is None or len(alert.audit) != before[0]:
                self.conn.execute(
                    "SELECT pg_notify(%s, %s)",
                    (self._channel(), f"{alert.id}:{_last_transition(alert)}"),
                )

    def _one(self, where: str, params: Any) -> Alert | None:
        found = self._many(where, params)
        return found[0] if found else None

    def _many(self, where: str, params: Any) -> list[Alert]:
        rows = self.conn.execute(f"SELECT {_COLUMNS} FROM alerts {where}", params).fetchall()  # noqa: S608 - fixed fragments
        self._end_read()
        return [_alert(row) for row in rows]

    def _end_read(self) -> None:
        if self._ends_reads:
            end_read(self.conn)  # a long-lived worker must not hold a read transaction open


_TRANSITIONS = {
    "opened",
    "reopened",
    "recurred",
    "severity_raised",
    "acknowledged",
    "cleared",
    "resolved",
}


def _last_transition(alert: Alert) -> str:
    """What the app should show for this save: the latest lifecycle step, else "updated"."""
    for entry in reversed(alert.audit):
        if entry.action in _TRANSITIONS:
            return entry.action
    return "updated"


def _row(alert: Alert) -> dict[str, Any]:
    key = alert.key
    book = {
        "uid": alert.id,
        "first": _finding_json(alert.first),
        "last": _finding_json(alert.last),
        "last_seen_at": alert.last_seen_at.isoformat(),
        "trigger_count": alert.trigger_count,
        "cleared_since": _iso(alert.cleared_since),
        "escalation_from": _iso(alert.escalation_from),
        "acknowledged_by": alert.acknowledged_by,
        "notified": {aud: sev.label for aud, sev in alert.notified.items()},
        "audit": [[_iso(a.at), a.action, a.actor, a.detail] for a in alert.audit],
    }
    return {
        "uid": alert.id,
        "row_id": _row_id(alert.id),
        "type": key.type,
        "severity": alert.severity.label,
        "state": alert.state.value,
        "dedup_key": str(key),
        "farm_id": key.farm,
        "house_id": key.house,
        "region_id": key.region,
        "gateway_id": key.subject,
        "event_start": alert.opened_at,
        "event_end": alert.last_seen_at,
        "acknowledged_at": alert.acknowledged_at,
        "acknowledged_by": actor_user(alert.acknowledged_by),  # the column names app users only
        "resolved_at": alert.resolved_at,
        "escalation": len(alert.notified),
        "advice": advice_for(key.type, alert.first.rule, "zh-CN") or None,
        "evidence": Jsonb(book),
    }


def _row_id(alert_id: str) -> int:
    digits = alert_id.removeprefix(_ADOPTED)
    return int(digits) if alert_id.startswith(_ADOPTED) and digits.isdigit() else -1


def _alert(row: tuple[Any, ...]) -> Alert:
    (
        book,
        kind,
        severity,
        state,
        farm,
        house,
        region,
        gateway,
        acknowledged_at,
        resolved_at,
        row_id,
        event_start,
        event_end,
        acknowledged_user,
    ) = row
    key = AlertKey(farm, house, kind, region=region, subject=gateway)
    if "uid" not in book or "first" not in book:
        book = _adopt(book, row_id, severity, event_start, event_end)
    first, last = _finding(key, book["first"]), _finding(key, book["last"])
    return Alert(
        id=book["uid"],
        key=key,
        severity=Severity.parse(severity),
        state=State(state),
        opened_at=first.at,
        first=first,
        last=last,
        last_seen_at=datetime.fromisoformat(book["last_seen_at"]),
        trigger_count=int(book["trigger_count"]),
        cleared_since=_time(book.get("cleared_since")),
        acknowledged_at=acknowledged_at,
        # Rows acknowledged before the app went through the engine name the user in the column only.
        acknowledged_by=book.get("acknowledged_by")
        or (None if acknowledged_user is None else user_actor(acknowledged_user)),
        resolved_at=resolved_at,
        escalation_from=_time(book.get("escalation_from")),
        notified={aud: Severity.parse(sev) for aud, sev in book.get("notified", {}).items()},
        audit=[
            AuditEntry(datetime.fromisoformat(at), action, actor, detail)
            for at, action, actor, detail in book["audit"]
        ],
    )


def _adopt(
    evidence: dict[str, Any], row_id: int, severity: str, start: datetime, end: datetime | None
) -> dict[str, Any]:
    """Bookkeeping for a row the engine did not write; its own evidence is kept as is."""
    first = {
        "severity": severity,
        "at": start.isoformat(),
        "rule": "external",
        "evidence": evidence,
    }
    return {
        "uid": f"{_ADOPTED}{row_id}",
        "first": first,
        "last": first,
        "last_seen_at": (end or start).isoformat(),
        "trigger_count": 1,
        "audit": [],
    }


def _finding_json(f: Finding) -> dict[str, Any]:
    return {
        "severity": f.severity.label,
        "at": f.at.isoformat(),
        "rule": f.rule,
        "value": f.value,
        "threshold": f.threshold,
        "evidence": dict(f.evidence),
    }


def _finding(key: AlertKey, data: dict[str, Any]) -> Finding:
    return Finding(
        key=key,
        severity=Severity.parse(data["severity"]),
        at=datetime.fromisoformat(data["at"]),
        rule=data["rule"],
        value=data.get("value"),
        threshold=data.get("threshold"),
        evidence=data.get("evidence", {}),
    )


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)
