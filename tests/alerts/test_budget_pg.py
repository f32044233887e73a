"""The SMS budget's ledger on the real database: held lines, the digest, and a restart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg

from cloud.alerts.lifecycle import AlertEngine
from cloud.alerts.model import NH3_HIGH, AlertKey, Finding, Severity
from cloud.alerts.policy import Audience
from cloud.alerts.store_pg import PgAlertStore
from cloud.db.transactions import unit_of_work
from cloud.notify.budget import Action
from cloud.notify.dispatch import Dispatcher
from cloud.notify.ledger_pg import PgLedger
from cloud.notify.outbox import Outbox
from cloud.notify.outbox_pg import PgOutboxStore
from cloud.notify.providers import GenericHttpProvider
from cloud.notify.recipients import MemoryDirectory, Recipient
from tests.support.databases import TestDatabase

NOW = datetime(2026, 7, 10, 6, 0, tzinfo=UTC)  # 14:00 in China
EVENING = NOW.replace(hour=10, minute=30)


def _technician(conn: psycopg.Connection) -> Recipient:
    row = conn.execute(
        "INSERT INTO users (username, password_hash, role, phone) "
        "VALUES ('tech', 'x', 'technician', '+8613900000001') RETURNING id"
    ).fetchone()
    assert row is not None
    conn.commit()
    return Recipient(str(row[0]), "+8613900000001", Audience.TECHNICIAN, townships=frozenset({"t1"}))


def _worker(conn: psycopg.Connection, tech: Recipient) -> tuple[AlertEngine, Dispatcher]:
    """What a (re)started worker builds: all memory is in the database."""
    alerts = PgAlertStore(conn)
    outbox = Outbox(PgOutboxStore(conn), GenericHttpProvider(url="http://127.0.0.1:9/sms"))
    dispatcher = Dispatcher(MemoryDirectory([tech], {"f1": "t1"}), outbox, alerts, ledger=PgLedger(conn))
    return AlertEngine(store=alerts), dispatcher


def test_held_warnings_become_one_digest_once_across_a_restart(db: TestDatabase) -> None:
    with db.connect() as conn:
        tech = _technician(conn)
        engine, dispatcher = _worker(conn, tech)
        for house in ("1", "2"):
            key = AlertKey("f1", house, NH3_HIGH)
            with unit_of_work(conn):
                effects = engine.observe(Finding(key, Severity.WARNING, NOW, "nh3_above", 24.0, 20.0))
                dispatcher.handle(effects, NOW)
        later = NOW + timedelta(minutes=31)
        with unit_of_work(conn):
            assert dispatcher.handle(engine.tick(later), later) == []  # held, not sent
        ledger = PgLedger(conn)
        held = ledger.undigested(EVENING)
        assert [(e.action, e.role, e.recipient) for e in held] == [(Action.HELD, Audience.TECHNICIAN, tech.id)] * 2
        assert ledger.sent_at_once(tech.id, NOW) == 0

        # The worker restarts: a new engine and dispatcher on the same database.
        engine, dispatcher = _worker(conn, tech)
        with unit_of_work(conn):
            assert dispatcher.handle(engine.tick(later), later) == []  # nothing decided twice
        with unit_of_work(conn):
            digests = dispatcher.send_digests(EVENING)
        assert len(digests) == 1 and digests[0].text.startswith("【富慧养】今日摘要2项：")
        engine, dispatcher = _worker(conn, tech)
        with unit_of_work(conn):
            assert dispatcher.send_digests(EVENING + timedelta(hours=3)) == []
        rows = conn.execute(
            "SELECT action, digest, user_id FROM sms_budget ORDER BY at, entry_key"
        ).fetchall()
        assert rows == [("held", f"digest:{tech.id}:20260710", int(tech.id))] * 2
        sms = conn.execute("SELECT count(*) FROM notifications WHERE template = 'digest.warning'").fetchone()
        assert sms == (1,)


def test_a_rolled_back_unit_forgets_its_decisions(db: TestDatabase) -> None:
    with db.connect() as conn:
        tech = _technician(conn)
        engine, dispatcher = _worker(conn, tech)
        key = AlertKey("f1", "1", NH3_HIGH)
        engine.observe(Finding(key, Severity.WARNING, NOW, "nh3_above", 24.0, 20.0))
        later = NOW + timedelta(minutes=31)
        try:
            with unit_of_work(conn):
                dispatcher.handle(engine.tick(later), later)
                assert len(PgLedger(conn).undigested(EVENING)) == 1
                raise RuntimeError("the unit fails after the decision")
        except RuntimeError:
            pass
        assert PgLedger(conn).undigested(EVENING) == []
