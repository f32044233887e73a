"""Applying authenticated receipts and replies to the database (API process side).

A receipt updates its notification row; a reply that acknowledges finds the alert last
texted to that phone and acknowledges it through the lifecycle engine, so the escalation
ladder stops and the audit trail says who (sms:<phone>) and when.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

import psycopg
from psycopg.types.json import Jsonb

from cloud.alerts.lifecycle import AlertEngine
from cloud.alerts.store_pg import PgAlertStore
from cloud.notify.inbound import Inbound, Receipt, Reply
from cloud.notify.outbox import Outbox
from cloud.notify.outbox_pg import PgOutboxStore
from cloud.notify.settings import PrintProvider


@dataclass
class InboundOutcome:
    counters: Counter[str] = field(default_factory=Counter)
    acknowledged: list[str] = field(default_factory=list)


def last_alert_texted(conn: psycopg.Connection, phone: str) -> str | None:
    """The alert (uid) of the latest SMS that reached this phone."""
    row = conn.execute(
        """SELECT a.evidence->>'uid' FROM notifications n JOIN alerts a ON a.id = n.alert_id
           WHERE right(n.recipient, 11) = right(%s, 11) AND n.state IN ('sent', 'delivered')
           ORDER BY n.sent_at DESC NULLS LAST, n.id DESC LIMIT 1""",
        (phone,),
    ).fetchone()
    return None if row is None else str(row[0])


def apply_inbound(
    conn: psycopg.Connection, items: Iterable[Inbound], now: datetime
) -> InboundOutcome:
    outcome = InboundOutcome()
    # The outbox only records receipts here; it never sends from the API process.
    outbox = Outbox(PgOutboxStore(conn), PrintProvider())
    engine = AlertEngine(store=PgAlertStore(conn))
    for item in items:
        if isinstance(item, Receipt):
            found = outbox.receipt(item.provider_id, item.delivered, item.at or now, item.error)
            outcome.counters["receipt" if found else "receipt_unknown"] += 1
        elif isinstance(item, Reply):
            _reply(conn, engine, item, now, outcome)
    return outcome


def _reply(
    conn: psycopg.Connection,
    engine: AlertEngine,
    reply: Reply,
    now: datetime,
    outcome: InboundOutcome,
) -> None:
    if not reply.acknowledges:
        # Anything else a farmer writes back is for a person to read: keep it in the audit log.
        conn.execute(
            "INSERT INTO audit_log (action, entity, entity_id, detail) VALUES ('sms_reply', 'phone', %s, %s)",
            (reply.phone, Jsonb({"text": reply.text[:500], "at": (reply.at or now).isoformat()})),
        )
        outcome.counters["reply_other"] += 1
        return
    if reply.code is not None:  # matched by phone, code and time: no message id needed
        alert_id = PgOutboxStore(conn).alert_for_reply(reply.phone, reply.code, reply.at or now)
        if alert_id is None:
            conn.execute(
                "INSERT INTO audit_log (action, entity, entity_id, detail) VALUES ('sms_reply', 'phone', %s, %s)",
                (reply.phone, Jsonb({"text": reply.text[:500], "at": (reply.at or now).isoformat(),
                                     "unmatched_code": reply.code})),
            )
            outcome.counters["reply_code_unknown"] += 1
            return
    else:
        alert_id = last_alert_texted(conn, reply.phone)
    if alert_id is None:
        outcome.counters["reply_no_alert"] += 1
        return
    if engine.acknowledge(alert_id, by=f"sms:{reply.phone}", at=reply.at or now):
        outcome.acknowledged.append(alert_id)
    outcome.counters["reply_ack"] += 1
