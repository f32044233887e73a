"""`BudgetLedger` on the `sms_budget` table (cloud/db/migrations/0009_sms_budget.sql).

Written inside the worker's unit of work, with the alerts and the outbox rows: a rolled-back
unit forgets its decisions too, and the next cycle decides again.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import psycopg

from cloud.alerts.model import Severity
from cloud.alerts.policy import Audience
from cloud.db.transactions import end_read
from cloud.notify.budget import LOCAL_KEY_PREFIX, Action, Told
from cloud.notify.ledger import BudgetEntry

_COLUMNS = (
    "entry_key, recipient, phone, role, alert_uid, condition, kind, severity, action, reason, at, line, "
    "locale, repeat, digest, scope"
)


class PgLedger:
    def __init__(self, conn: psycopg.Connection) -> None:
        self.conn = conn

    def add(self, entry: BudgetEntry) -> bool:
        with self.conn.transaction():
            cur = self.conn.execute(
                f"""INSERT INTO sms_budget ({_COLUMNS}, user_id)
                    VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,
                            (SELECT id FROM users WHERE id::text = %s))
                    ON CONFLICT (entry_key) DO NOTHING""",  # noqa: S608 - fixed column list
                (
                    entry.key,
                    entry.recipient,
                    entry.phone,
                    entry.role.value,
                    entry.alert_id,
                    entry.condition,
                    entry.kind,
                    entry.severity.label,
                    entry.action.value,
                    entry.reason,
                    entry.at,
                    entry.line,
                    entry.lang,
                    entry.repeat,
                    entry.digest,
                    entry.scope,
                    entry.recipient,
                ),
            )
            return cur.rowcount == 1

    def get(self, key: str) -> BudgetEntry | None:
        found = self._select("WHERE entry_key = %s", (key,))
        return found[0] if found else None

    def history(self, recipient: str, condition: str, since: datetime) -> list[Told]:
        rows = self.conn.execute(
            "SELECT at, severity, entry_key FROM sms_budget WHERE recipient = %s AND condition = %s AND at >= %s",
            (recipient, condition, since),
        ).fetchall()
        end_read(self.conn)
        return [Told(at, Severity.parse(sev), key.startswith(LOCAL_KEY_PREFIX)) for at, sev, key in rows]

    def sent_at_once(self, recipient: str, since: datetime) -> int:
        row = self.conn.execute(
            "SELECT count(*) FROM sms_budget WHERE recipient = %s AND action = 'sent' "
            "AND severity <> 'critical' AND at >= %s",
            (recipient, since),
        ).fetchone()
        end_read(self.conn)
        return int(row[0]) if row else 0

    def undigested(self, before: datetime) -> list[BudgetEntry]:
        return self._select(
            "WHERE action = 'held' AND digest IS NULL AND at < %s ORDER BY at, entry_key", (before,)
        )

    def close_digest(self, keys: Sequence[str], digest: str, action: Action, reason: str | None) -> None:
        with self.conn.transaction():
            self.conn.execute(
                "UPDATE sms_budget SET digest = %s, action = %s, reason = coalesce(%s, reason) "
                "WHERE entry_key = ANY(%s)",
                (digest, action.value, reason, list(keys)),
            )

    def recent(self, since: datetime, recipients: Sequence[str] | None = None) -> list[BudgetEntry]:
        return self._select(
            "WHERE at >= %s AND (%s::text[] IS NULL OR recipient = ANY(%s)) ORDER BY at DESC, entry_key DESC",
            (since, None if recipients is None else list(recipients), None if recipients is None else list(recipients)),
        )

    def _select(self, where: str, params: tuple[Any, ...]) -> list[BudgetEntry]:
        rows = self.conn.execute(f"SELECT {_COLUMNS} FROM sms_budget {where}", params).fetchall()  # noqa: S608
        end_read(self.conn)
        return [_entry(r) for r in rows]


def _entry(row: tuple[Any, ...]) -> BudgetEntry:
    (key, recipient, phone, role, alert, condition, kind, sev, action, reason, at, line, lang, repeat, digest,
     scope) = row
    return BudgetEntry(
        key=key,
        recipient=recipient,
        phone=phone,
        role=Audience(role),
        alert_id=alert,
        condition=condition,
        kind=kind,
        severity=Severity.parse(sev),
        action=Action(action),
        reason=reason,
        at=at,
        line=line,
        lang=lang,
        repeat=repeat,
        digest=digest,
        scope=scope,
    )
