"""`OutboxStore` on the `notifications` table (cloud/db/migrations/0001_core.sql).

- `add` is INSERT ... ON CONFLICT (idempotency_key) DO NOTHING: a replayed notification is
  never queued twice, whichever worker sees it.
- `due` claims rows (state 'sending', a lease in `next_attempt_at`) with FOR UPDATE SKIP
  LOCKED, so several delivery workers share the queue without sending a row twice; a worker
  that dies mid-send leaves a lease that expires and the row is claimed again.
- Recipients are users: `user_id` is the recipient id, `recipient` the phone number.
- `template` is "<alert type>.<severity>" (the table has no severity column; ordering and
  "critical is never cancelled" need it). Our 'cancelled' is the table's 'suppressed'.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from cloud.alerts.model import Severity
from cloud.db.transactions import end_read
from cloud.notify.outbox import REPLY_WINDOW, OutMessage, OutState
from cloud.notify.provider_pacing import SentSms

LEASE = timedelta(minutes=5)
_STATE_TO_DB = {OutState.CANCELLED: "suppressed"}
_STATE_FROM_DB = {"suppressed": OutState.CANCELLED, "sending": OutState.PENDING}
_SELECT = """SELECT n.idempotency_key, a.evidence->>'uid', n.user_id, n.recipient, n.body, n.template,
    n.created_at, n.next_attempt_at, n.segments, n.locale, n.cost, n.state, n.attempts, n.last_error,
    n.provider_message_id, n.provider, n.sent_at, n.delivered_at, n.sms_template, n.params, n.reply_code
  FROM notifications n LEFT JOIN alerts a ON a.id = n.alert_id"""


class PgOutboxStore:
    def __init__(self, conn: psycopg.Connection, lease: timedelta = LEASE) -> None:
        self.conn = conn
        self.lease = lease

    def add(self, message: OutMessage) -> bool:
        with self.conn.transaction():
            cur = self.conn.execute(
                """INSERT INTO notifications (alert_id, channel, recipient, user_id, locale, template, body,
                       segments, cost, state, attempts, next_attempt_at, idempotency_key, created_at,
                       sms_template, params, reply_code)
                   VALUES ((SELECT id FROM alerts WHERE evidence->>'uid' = %s LIMIT 1), 'sms', %s, %s, %s,
                       %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
                   ON CONFLICT (idempotency_key) DO NOTHING""",
                (
                    message.alert_id,
                    message.phone,
                    _user_id(message.recipient),
                    message.lang,
                    f"{message.kind}.{message.severity.label}",
                    message.text,
                    message.segments,
                    message.cost,
                    _STATE_TO_DB.get(message.state, message.state.value),
                    message.attempts,
                    message.not_before,
                    message.key,
                    message.created_at,
                    message.template,
                    Jsonb(message.params) if message.template else None,
                    message.reply_code,
                ),
            )
            return cur.rowcount == 1

    def get(self, key: str) -> OutMessage | None:
        return self._one("WHERE n.idempotency_key = %s", (key,))

    def due(self, now: datetime, limit: int) -> list[OutMessage]:
        """Claim up to `limit` due rows, critical first, then oldest."""
        with self.conn.transaction():
            keys = self.conn.execute(
                """UPDATE notifications SET state = 'sending', next_attempt_at = %s
                   WHERE id IN (
                       SELECT id FROM notifications
                       WHERE state IN ('pending', 'sending') AND next_attempt_at <= %s
                       ORDER BY (template LIKE '%%.critical') DESC, next_attempt_at, idempotency_key
                       LIMIT %s FOR UPDATE SKIP LOCKED)
                   RETURNING idempotency_key""",
                (now + self.lease, now, limit),
            ).fetchall()
        claimed = {k for (k,) in keys}
        if not claimed:
            return []
        rows = self._many("WHERE n.idempotency_key = ANY(%s)", (list(claimed),))
        rows.sort(key=lambda m: (-m.severity, m.created_at, m.key))
        return rows

    def save(self, message: OutMessage) -> None:
        with self.conn.transaction():
            self.conn.execute(
                """UPDATE notifications SET state = %s, attempts = %s, next_attempt_at = %s, last_error = %s,
                       provider = %s, provider_message_id = %s, sent_at = %s, delivered_at = %s,
                       body = %s, segments = %s, cost = %s
                   WHERE idempotency_key = %s""",
                (
                    _STATE_TO_DB.get(message.state, message.state.value),
                    message.attempts,
                    message.not_before,
                    message.last_error,
                    message.provider,
                    message.provider_id,
                    message.sent_at,
                    message.delivered_at,
                    message.text,
                    message.segments,
                    message.cost,
                    message.key,
                ),
            )

    def by_provider_id(self, provider_id: str) -> OutMessage | None:
        return self._one("WHERE n.provider_message_id = %s", (provider_id,))

    def pending_for_alert(self, alert_id: str) -> list[OutMessage]:
        return self._many(
            "WHERE a.evidence->>'uid' = %s AND n.state IN ('pending', 'sending')", (alert_id,)
        )

    def scheduled_for(self, recipient: str, since: datetime) -> list[datetime]:
        user_id = _user_id(recipient)
        column = "n.user_id" if user_id is not None else "n.recipient"
        rows = self.conn.execute(
            f"""SELECT coalesce(n.sent_at, n.next_attempt_at) FROM notifications n
                WHERE {column} = %s AND n.state <> 'suppressed'
                  AND coalesce(n.sent_at, n.next_attempt_at) >= %s""",  # noqa: S608 - fixed column names
            (user_id if user_id is not None else recipient, since),
        ).fetchall()
        self._end_read()
        return [r[0] for r in rows]

    def sent_to(self, phone: str, since: datetime) -> list[SentSms]:
        rows = self.conn.execute(
            """SELECT sent_at, sms_template, body FROM notifications
               WHERE right(recipient, 11) = right(%s, 11) AND sent_at >= %s
                 AND state IN ('sent', 'delivered')""",
            (phone, since),
        ).fetchall()
        self._end_read()
        return [SentSms(at, template, body) for at, template, body in rows]

    def reply_codes(self, phone: str, since: datetime) -> dict[str, str]:
        rows = self.conn.execute(
            """SELECT n.reply_code, coalesce(a.evidence->>'uid', split_part(n.idempotency_key, ':', 1))
               FROM notifications n LEFT JOIN alerts a ON a.id = n.alert_id
               WHERE right(n.recipient, 11) = right(%s, 11) AND n.reply_code IS NOT NULL
                 AND n.created_at >= %s ORDER BY n.created_at, n.id""",
            (phone, since),
        ).fetchall()
        self._end_read()
        return {code: alert for code, alert in rows}

    def alert_for_reply(self, phone: str, code: str, at: datetime) -> str | None:
        row = self.conn.execute(
            """SELECT a.evidence->>'uid' FROM notifications n JOIN alerts a ON a.id = n.alert_id
               WHERE right(n.recipient, 11) = right(%s, 11) AND n.reply_code = %s
                 AND n.sent_at BETWEEN %s AND %s
               ORDER BY n.sent_at DESC, n.id DESC LIMIT 1""",
            (phone, code, at - REPLY_WINDOW, at),
        ).fetchone()
        self._end_read()
        return None if row is None else str(row[0])

    def _one(self, where: str, params: tuple[Any, ...]) -> OutMessage | None:
        found = self._many(where, params)
        return found[0] if found else None

    def _many(self, where: str, params: tuple[Any, ...]) -> list[OutMessage]:
        rows = self.conn.execute(f"{_SELECT} {where}", params).fetchall()  # noqa: S608 - fixed fragments
        self._end_read()
        return [_message(row) for row in rows]

    def _end_read(self) -> None:
        end_read(self.conn)


def _user_id(recipient: str) -> int | None:
    return int(recipient) if recipient.isdigit() else None


def _message(row: tuple[Any, ...]) -> OutMessage:
    (
        key,
        uid,
        user_id,
        phone,
        body,
        template,
        created_at,
        next_at,
        segments,
        locale,
        cost,
        state,
        attempts,
        last_error,
        provider_id,
        provider,
        sent_at,
        delivered_at,
        sms_template,
        params,
        code,
    ) = row
    kind, _, severity = str(template).rpartition(".")
    return OutMessage(
        key=key,
        alert_id=uid if uid is not None else key.split(":", 1)[0],
        recipient=str(user_id) if user_id is not None else phone,
        phone=phone,
        text=body,
        severity=Severity.parse(severity),
        created_at=created_at,
        not_before=next_at,
        segments=segments,
        lang=locale,
        kind=kind,
        cost=float(cost),
        state=_STATE_FROM_DB.get(state) or OutState(state),
        attempts=attempts,
        last_error=last_error,
        provider_id=provider_id,
        provider=provider,
        sent_at=sent_at,
        delivered_at=delivered_at,
        template=sms_template,
        params=dict(params or {}),
        reply_code=code,
    )
