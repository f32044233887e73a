"""The SMS outbox on the real `notifications` table."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import psycopg
import pytest

from cloud.alerts.lifecycle import AlertEngine
from cloud.alerts.model import NH3_HIGH, AlertKey, Finding, Severity
from cloud.alerts.store_pg import PgAlertStore
from cloud.notify.outbox import Outbox, OutMessage, OutState
from cloud.notify.outbox_pg import PgOutboxStore
from cloud.notify.providers import GenericHttpProvider
from tests.alerts.factories import T0
from tests.alerts.sms_server import SmsServer
from tests.support.databases import TestDatabase

MIN = timedelta(minutes=1)


@pytest.fixture
def server() -> Iterator[SmsServer]:
    s = SmsServer().start()
    yield s
    s.stop()


def _users(conn: psycopg.Connection, n: int) -> list[int]:
    ids = []
    for i in range(n):
        row = conn.execute(
            "INSERT INTO users (username, password_hash, role, phone) VALUES (%s, 'x', 'farmer', %s) RETURNING id",
            (f"farmer{i}", f"+86138000000{i:02d}"),
        ).fetchone()
        assert row is not None
        ids.append(row[0])
    conn.commit()
    return ids


def _message(
    user: int, i: int, alert_id: str = "a", severity: Severity = Severity.WARNING
) -> OutMessage:
    return OutMessage(
        key=f"{alert_id}{i}:farmer:{severity.label}:{user}",
        alert_id=f"{alert_id}{i}",
        recipient=str(user),
        phone=f"+86138000000{i:02d}",
        text=f"【富慧养】警告：测试{i}",
        severity=severity,
        created_at=T0,
        not_before=T0,
        kind=NH3_HIGH,
        cost=0.045,
    )


def test_provider_down_for_an_hour_on_the_database(any_db: TestDatabase, server: SmsServer) -> None:
    db = any_db
    with db.connect() as conn:
        if db.timescaledb:
            conn.prepare_threshold = None  # one shared PGlite backend
        users = _users(conn, 12)
        store = PgOutboxStore(conn)
        outbox = Outbox(store, GenericHttpProvider(url=server.url + "/sms"))
        for i, user in enumerate(users):
            assert outbox.enqueue(_message(user, i))
        assert not outbox.enqueue(_message(users[0], 0))  # ON CONFLICT DO NOTHING
        now = T0
        while now <= T0 + 90 * MIN:
            server.down = now < T0 + 60 * MIN
            outbox.deliver_due(now)
            now += MIN
        rows = conn.execute("SELECT state, count(*) FROM notifications GROUP BY state").fetchall()
        assert rows == [("sent", 12)]
        assert set(server.accepted.values()) == {1} and len(server.accepted) == 12
        sent = store.get(_message(users[3], 3).key)
        assert sent is not None and sent.state is OutState.SENT and sent.provider == "http"
        assert sent.attempts > 1 and sent.recipient == str(users[3])
        assert outbox.receipt(str(sent.provider_id), True, now) is not None
        assert conn.execute(
            "SELECT count(*) FROM notifications WHERE state = 'delivered'"
        ).fetchone() == (1,)


def test_two_workers_never_claim_the_same_row(db: TestDatabase) -> None:
    with db.connect() as a, db.connect() as b:
        users = _users(a, 4)
        first, second = PgOutboxStore(a), PgOutboxStore(b)
        for i, user in enumerate(users):
            first.add(_message(user, i, severity=Severity.CRITICAL if i == 3 else Severity.WARNING))
        claimed = first.due(T0, 3)
        assert claimed[0].severity is Severity.CRITICAL  # critical first
        rest = second.due(T0, 10)
        assert {m.key for m in claimed}.isdisjoint({m.key for m in rest}) and len(rest) == 1
        assert second.due(T0 + MIN, 10) == []  # all leased
        # The first worker died mid-send: after the lease its rows go out again.
        assert len(second.due(T0 + 6 * MIN, 10)) == 4


def test_cancel_pending_messages_of_a_resolved_alert(db: TestDatabase) -> None:
    with db.connect() as conn:
        users = _users(conn, 1)
        alerts = PgAlertStore(conn)
        engine = AlertEngine(store=alerts)
        engine.observe(
            Finding(AlertKey("f", "h", NH3_HIGH), Severity.WARNING, T0, "nh3_above", 22.0, 20.0)
        )
        alert = alerts.active()[0]
        store = PgOutboxStore(conn)
        message = _message(users[0], 0)
        message.alert_id, message.key = alert.id, f"{alert.id}:farmer:warning:{users[0]}"
        outbox = Outbox(store, GenericHttpProvider(url="http://127.0.0.1:9/none"))
        assert outbox.enqueue(message)
        assert outbox.cancel_for_alert(alert.id) == 1
        assert conn.execute("SELECT state, alert_id IS NOT NULL FROM notifications").fetchone() == (
            "suppressed",
            True,
        )
        reread = store.get(message.key)
        assert (
            reread is not None
            and reread.state is OutState.CANCELLED
            and reread.alert_id == alert.id
        )
