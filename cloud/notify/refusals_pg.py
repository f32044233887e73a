"""`RefusalLog` on `sms_refusals` (cloud/db/migrations/0013_sms_templates.sql).

A refused number also marks its user (`users.phone_refused_at`): the directory stops texting
that number, and the console shows whose number to correct; changing the number clears it.
"""

from __future__ import annotations

from datetime import datetime

import psycopg

from cloud.notify.outbox import OutMessage
from cloud.notify.providers import PermanentSendError
from cloud.notify.refusals import MemoryRefusalLog, refusal_of


class PgRefusalLog:
    def __init__(self, conn: psycopg.Connection) -> None:
        self.conn = conn
        self._log = MemoryRefusalLog()  # logs the operator line; keeps this process's list

    def record(self, message: OutMessage, error: PermanentSendError, at: datetime) -> None:
        self._log.record(message, error, at)
        refusal = refusal_of(message, error, at)
        user_id = int(message.recipient) if message.recipient.isdigit() else None
        with self.conn.transaction():
            self.conn.execute(
                """INSERT INTO sms_refusals (at, provider, code, cause, template, user_id, phone,
                       notification_key, detail, scope)
                   VALUES (%s, %s, %s, %s, %s, (SELECT id FROM users WHERE id = %s), %s, %s, %s,
                       coalesce((SELECT coalesce(a.farm_id, 'region:' || a.region_id) FROM alerts a
                                 WHERE a.evidence->>'uid' = %s LIMIT 1), ''))""",
                (refusal.at, refusal.provider, refusal.code, refusal.cause, refusal.template, user_id,
                 refusal.phone, refusal.key, refusal.detail, message.alert_id),
            )
            if refusal.cause == "recipient" and user_id is not None:
                self.conn.execute(
                    "UPDATE users SET phone_refused_at = %s, phone_refused_reason = %s WHERE id = %s AND phone = %s",
                    (at, f"{refusal.provider} {refusal.code}", user_id, message.phone),
                )
