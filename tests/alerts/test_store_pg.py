"""The lifecycle on the real `alerts` table gives the same alerts as in memory."""

from __future__ import annotations

from datetime import timedelta

import psycopg
import pytest
from psycopg import sql

from cloud.alerts.lifecycle import AlertEngine
from cloud.alerts.model import MORTALITY, NH3_HIGH, REGIONAL_OUTBREAK, AlertKey, Finding, Severity
from cloud.alerts.store import AlertStore, MemoryAlertStore, State
from cloud.alerts.store_pg import PgAlertStore, notify_channel
from tests.alerts.factories import T0
from tests.support.databases import TestDatabase

MIN = timedelta(minutes=1)
KEYS = [
    AlertKey("farm-1", "h1", NH3_HIGH),
    AlertKey("farm-1", "h1", MORTALITY),
    AlertKey(None, None, REGIONAL_OUTBREAK, region="qinghua"),
    AlertKey("farm-2", None, "gateway_offline", subject="gw-7"),
]


def _script(engine: AlertEngine, store: AlertStore) -> None:
    for i, key in enumerate(KEYS):
        sev = Severity.CRITICAL if i % 2 else Severity.WARNING
        engine.observe(
            Finding(key, sev, T0 + i * MIN, "r", 1.5, 1.0, {"deaths": 3, "nested": {"a": [1, 2]}})
        )
    for i in range(50):
        engine.observe(Finding(KEYS[0], Severity.WARNING, T0 + (5 + i * 0.01) * MIN, "r", 2.0, 1.0))
    engine.tick(T0 + 40 * MIN)
    nh3 = store.current(KEYS[0])
    assert nh3 is not None
    engine.acknowledge(nh3.id, "farmer:1", T0 + 41 * MIN)
    engine.clear(KEYS[0], T0 + 42 * MIN)
    engine.tick(T0 + 80 * MIN)
    engine.observe(Finding(KEYS[0], Severity.CRITICAL, T0 + 90 * MIN, "r", 30.0, 25.0))  # reopens


def test_pg_store_matches_memory(any_db: TestDatabase) -> None:
    db = any_db
    memory = MemoryAlertStore()
    _script(AlertEngine(store=memory), memory)
    with db.connect() as conn:
        if db.timescaledb:
            conn.prepare_threshold = None  # one shared PGlite backend
        pg = PgAlertStore(conn)
        _script(AlertEngine(store=pg), pg)
        expected = {a.id: a for a in memory.all()}
        got = {a.id: a for a in pg.overlapping(T0 - MIN, T0 + 200 * MIN)}
        assert set(got) == set(expected)
        for alert_id, alert in expected.items():
            assert got[alert_id].to_dict() == alert.to_dict()
            assert got[alert_id].audit == alert.audit
            assert got[alert_id].notified == alert.notified
        reopened = pg.current(KEYS[0])
        assert (
            reopened is not None
            and reopened.state is State.OPEN
            and reopened.severity is Severity.CRITICAL
        )
        assert {a.key for a in pg.active()} == set(KEYS)
        rows = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE advice IS NOT NULL) FROM alerts"
        ).fetchone()
        assert rows == (4, 4)  # every row carries its advice line for the app


def test_database_refuses_a_second_live_alert_for_one_key(db: TestDatabase) -> None:
    with db.connect() as conn:
        store = PgAlertStore(conn)
        engine = AlertEngine(store=store)
        engine.observe(Finding(KEYS[0], Severity.WARNING, T0, "r"))
        rogue = store.current(KEYS[0])
        assert rogue is not None
        rogue.id = "another-engine"
        with pytest.raises(psycopg.errors.UniqueViolation):
            store.save(rogue)


def test_only_lifecycle_steps_notify_listeners(db: TestDatabase) -> None:
    with db.connect(autocommit=True) as listener, db.connect() as conn:
        listener.execute(sql.SQL("LISTEN {}").format(sql.Identifier(notify_channel(db.schema))))
        engine = AlertEngine(store=PgAlertStore(conn))
        for i in range(50):  # a storm: one opening, 49 more triggers
            engine.observe(
                Finding(KEYS[0], Severity.WARNING, T0 + i * MIN / 100, "r", 22.0 + i, 20.0)
            )
        engine.clear(KEYS[0], T0 + 5 * MIN)
        payloads = [n.payload.split(":")[1] for n in listener.notifies(timeout=1.0)]
        assert payloads == ["opened", "cleared"]


def test_rows_written_by_other_code_are_adopted_not_fatal(db: TestDatabase) -> None:
    with db.connect() as conn:
        foreign = conn.execute(
            """INSERT INTO alerts (type, severity, dedup_key, farm_id, house_id, event_start, evidence)
               VALUES ('nh3_high', 'warning', %s, 'farm-1', 'h1', %s, '{"note": "imported"}') RETURNING id""",
            (str(KEYS[0]), T0),
        ).fetchone()
        conn.execute(
            """INSERT INTO alerts (type, severity, dedup_key, farm_id, event_start, title)
               VALUES ('mortality', 'critical', 'farm-9/mortality', 'farm-9', %s, '死亡数异常')""",
            (T0,),
        )
        conn.commit()
        assert foreign is not None
        store = PgAlertStore(conn)
        engine = AlertEngine(store=store)
        assert {a.id for a in store.active()} >= {f"db{foreign[0]}"}
        engine.observe(
            Finding(KEYS[0], Severity.CRITICAL, T0 + MIN, "nh3_above", 30.0, 25.0)
        )  # no second live row
        engine.acknowledge(f"db{foreign[0]}", "farmer:1", T0 + 2 * MIN)
        adopted = store.get(f"db{foreign[0]}")
        assert (
            adopted is not None
            and adopted.severity is Severity.CRITICAL
            and adopted.state is State.ACKNOWLEDGED
        )
        assert adopted.first.evidence == {"note": "imported"}
        assert conn.execute(
            "SELECT count(*) FROM alerts WHERE dedup_key = %s", (str(KEYS[0]),)
        ).fetchone() == (1,)
