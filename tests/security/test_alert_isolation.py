"""Issue 23 item 4: one farm's impossible readings must not stop, or silence, the alerts of the others.

Rows are inserted straight into `readings`, as older data or a direct insert would be: the
ingest range checks are the first line of defence, this is the second.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from cloud.db.series import env_series
from cloud.notify.settings import PrintProvider, SmsSettings
from fuhuiyang.processes.alerts import build_worker
from protocol.messages import METRIC_RANGES
from tests.support.databases import TestDatabase

NOW = datetime(2025, 7, 20, 6, 0, tzinfo=UTC)  # 14:00 in China: a hot afternoon, not quiet hours
TODAY = NOW.date()
_INSERT_READING = (
    "INSERT INTO readings (ts, gateway_id, seq, idx, house_id, sensor_id, metric, value) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
)


def _farm(conn: psycopg.Connection, farm: str, house: str, flock: str, phone: str) -> None:
    owner = conn.execute(
        "INSERT INTO users (username, password_hash, role, phone) VALUES (%s, 'x', 'farmer', %s) RETURNING id",
        (f"owner-{farm}", phone),
    ).fetchone()
    assert owner is not None
    conn.execute(
        "INSERT INTO farms (id, name, region_id, owner_user_id) VALUES (%s, %s, 't', %s)",
        (farm, farm, owner[0]),
    )
    conn.execute("INSERT INTO houses (id, farm_id, name) VALUES (%s, %s, '1')", (house, farm))
    conn.execute(
        "INSERT INTO flocks (id, house_id, breed, placed_on, birds_placed) VALUES (%s, %s, 'ross308', %s, 2000)",
        (flock, house, TODAY - timedelta(days=35)),
    )


def _heat(conn: psycopg.Connection, gateway: str, house: str, hours: int = 4) -> None:
    """Hot, humid hours up to now: 36 °C at 80 % RH is a heat-stress emergency for grown broilers."""
    rows = []
    for hour in range(hours):
        at = NOW - timedelta(hours=hours - hour) + timedelta(minutes=10)
        rows += [
            (at, gateway, hour, 0, house, f"{house}-t", "temperature_c", 36.0),
            (at, gateway, hour, 1, house, f"{house}-rh", "humidity_pct", 80.0),
        ]
    conn.cursor().executemany(_INSERT_READING, rows)


def _seed(conn: psycopg.Connection, impossible: bool = True) -> None:
    conn.execute("INSERT INTO regions (id, level, name) VALUES ('t', 'township', '青华镇')")
    # The healthy farm's flock is judged first: before the fix, its alert was saved as
    # notified and its SMS lost when the bad farm's query failed later in the same step.
    _farm(conn, "f-good", "h-good", "fl-1", "+8613800000001")
    _farm(conn, "f-bad", "h-bad", "fl-2", "+8613800000002")
    _heat(conn, "gw-good", "h-good")
    _heat(conn, "gw-bad", "h-bad")
    if impossible:  # two readings in one house-hour whose sum overflows a double
        at = NOW - timedelta(hours=2) + timedelta(minutes=30)
        conn.cursor().executemany(
            _INSERT_READING,
            [
                (at, "gw-bad", 100, 0, "h-bad", "h-bad-t", "temperature_c", 1e308),
                (at, "gw-bad", 101, 0, "h-bad", "h-bad-t", "temperature_c", 1e308),
            ],
        )
    conn.commit()


def _heat_alert(conn: psycopg.Connection, farm: str) -> tuple[str, int] | None:
    """The farm's heat-stress alert: its severity and how many SMS were queued for it."""
    row = conn.execute(
        """SELECT a.severity, (SELECT count(*) FROM notifications n WHERE n.alert_id = a.id)
           FROM alerts a WHERE a.type = 'heat_stress' AND a.farm_id = %s""",
        (farm,),
    ).fetchone()
    return None if row is None else (str(row[0]), int(row[1]))


def _refuse(conn: psycopg.Connection, table: str, when: str) -> None:
    """A database fault no bound in SQL foresees: the table refuses rows matching `when`."""
    conn.execute(
        """CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$
           BEGIN RAISE EXCEPTION 'refused by test'; END $$"""
    )
    conn.execute(
        f"CREATE TRIGGER refuse BEFORE INSERT OR UPDATE ON {table} FOR EACH ROW "  # noqa: S608 - test constants
        f"WHEN ({when}) EXECUTE FUNCTION refuse()"
    )
    conn.commit()


def _allow(conn: psycopg.Connection, table: str) -> None:
    conn.execute(f"DROP TRIGGER refuse ON {table}")  # noqa: S608 - test constant
    conn.execute("DROP FUNCTION refuse()")
    conn.commit()


def _connect(db: TestDatabase) -> psycopg.Connection:
    conn = db.connect()
    if db.timescaledb:
        conn.prepare_threshold = None  # one shared PGlite backend
    return conn


@pytest.fixture
def conn(any_db: TestDatabase) -> Iterator[psycopg.Connection]:
    with _connect(any_db) as conn:
        yield conn


def test_impossible_readings_neither_stop_nor_steer_the_alert_cycle(conn: psycopg.Connection) -> None:
    _seed(conn)
    worker = build_worker(conn, PrintProvider(), SmsSettings())
    report = worker.cycle(NOW)
    assert report.failures == [] and report.errors == [] and report.flocks == 2
    # Both farms' critical alerts are opened and texted: the 1e308 rows are faults, not heat.
    assert _heat_alert(conn, "f-good") == ("critical", 1)
    assert _heat_alert(conn, "f-bad") == ("critical", 1)
    value = conn.execute(
        "SELECT evidence->'last'->>'value' FROM alerts WHERE type = 'heat_stress' AND farm_id = 'f-bad'"
    ).fetchone()
    assert value is not None and float(value[0]) < 40


def test_aggregates_leave_out_impossible_readings(any_db: TestDatabase) -> None:
    with _connect(any_db) as conn:
        _seed(conn)
        hour = (NOW - timedelta(hours=2)).replace(minute=0)
        for bucket in ("hour", "day"):
            start = hour if bucket == "hour" else hour - timedelta(days=1)
            points = env_series(conn, "h-bad", "temperature_c", start, NOW, bucket)
            assert points and all(p.max == 36.0 and p.sum == 36.0 * p.n for p in points)


def test_plausible_ranges_are_the_protocols(any_db: TestDatabase) -> None:
    """The SQL definition and protocol.METRIC_RANGES (gateway and ingest) agree at every edge."""
    with _connect(any_db) as conn:
        for metric, (low, high) in METRIC_RANGES.items():
            edges = [(low, True), (high, True), (low - 0.01, False), (high + 0.01, False)]
            for value, plausible in edges:
                row = conn.execute(
                    "SELECT reading_plausible(%s, %s::double precision)", (metric.value, value)
                ).fetchone()
                assert row == (plausible,), (metric, value)
        for odd in ("NaN", "Infinity", "-Infinity", "1e308"):
            row = conn.execute("SELECT reading_plausible('temperature_c', %s::double precision)", (odd,)).fetchone()
            assert row == (False,)


def test_a_farm_whose_step_fails_is_reported_and_the_others_go_on(
    conn: psycopg.Connection, caplog: pytest.LogCaptureFixture
) -> None:
    _seed(conn)
    _refuse(conn, "alerts", "NEW.farm_id = 'f-bad'")
    caplog.set_level(logging.INFO, logger="cloud.alerts.failures")
    worker = build_worker(conn, PrintProvider(), SmsSettings())
    report = worker.cycle(NOW)
    # The healthy farm: its critical alert is opened and its SMS queued.
    assert _heat_alert(conn, "f-good") == ("critical", 1)
    # The bad farm's step failed, is reported with the farm and why, and nothing of it is kept.
    assert [(f.step, f.farm) for f in report.failures] == [("flocks", "f-bad")]
    assert "refused by test" in report.failures[0].reason
    assert report.errors == [f"flocks f-bad: {report.failures[0].reason}"]
    assert _heat_alert(conn, "f-bad") is None and report.flocks == 1
    # Still broken a moment later: counted again, not logged again.
    assert worker.cycle(NOW + timedelta(seconds=30)).failures == report.failures
    failures = worker.metrics.registry.get_sample_value(
        "fhy_alerts_step_failures_total", {"step": "flocks"}
    )
    assert failures == 2
    # The fault is gone: the bad farm's own alerts proceed, the good farm is not texted twice.
    _allow(conn, "alerts")
    again = worker.cycle(NOW + timedelta(minutes=1))
    logged = [r.getMessage() for r in caplog.records if r.name == "cloud.alerts.failures"]
    assert logged == [
        "alert step flocks failed for farm f-bad: refused by test",
        "alert step flocks works again for farm f-bad",
    ]
    assert again.failures == [] and again.flocks == 2
    assert _heat_alert(conn, "f-bad") == ("critical", 1)
    assert _heat_alert(conn, "f-good") == ("critical", 1)


def test_an_alert_is_not_notified_when_queueing_its_sms_rolls_back(conn: psycopg.Connection) -> None:
    conn.execute("INSERT INTO regions (id, level, name) VALUES ('t', 'township', '青华镇')")
    _farm(conn, "f-good", "h-good", "fl-1", "+8613800000001")
    tech = conn.execute(
        "INSERT INTO users (username, password_hash, role, phone) "
        "VALUES ('tech', 'x', 'technician', '+8613900000001') RETURNING id"
    ).fetchone()
    assert tech is not None
    conn.execute("INSERT INTO user_scopes (user_id, region_id) VALUES (%s, 't')", (tech[0],))
    _heat(conn, "gw-good", "h-good", hours=1)  # it turned hot in the last hour: opened now
    conn.commit()
    worker = build_worker(conn, PrintProvider(), SmsSettings())
    assert worker.cycle(NOW).failures == []
    told = "SELECT evidence->'notified' FROM alerts WHERE type = 'heat_stress' AND farm_id = 'f-good'"
    # The hot house opens heat stress and temperature alerts: one condition for the SMS budget,
    # so each person is texted about it through whichever alert came first.
    sms = (
        "SELECT n.user_id FROM notifications n JOIN alerts a ON a.id = n.alert_id "
        "WHERE a.farm_id = 'f-good' ORDER BY n.id"
    )
    assert conn.execute(told).fetchone() == ({"farmer": "critical"},)
    # Thirty minutes unacknowledged: the technician is owed an SMS, but the outbox refuses it.
    _refuse(conn, "notifications", "true")
    failed = worker.cycle(NOW + timedelta(minutes=31))
    assert [(f.step, f.farm) for f in failed.failures] == [("tick", "f-good")]
    assert conn.execute(told).fetchone() == ({"farmer": "critical"},)  # not marked as told
    # The outbox works again: the next cycle queues what was owed, once.
    _allow(conn, "notifications")
    retried = worker.cycle(NOW + timedelta(minutes=32))
    assert retried.failures == []
    assert conn.execute(told).fetchone() == ({"farmer": "critical", "technician": "critical"},)
    owner = conn.execute("SELECT id FROM users WHERE username = 'owner-f-good'").fetchone()
    assert owner is not None
    texted = [r[0] for r in conn.execute(sms).fetchall()]
    assert owner[0] in texted and texted.count(tech[0]) == 1
    worker.cycle(NOW + timedelta(minutes=33))
    assert [r[0] for r in conn.execute(sms).fetchall()] == texted


def test_an_odd_gateway_health_payload_does_not_fail_the_fleets_read(conn: psycopg.Connection) -> None:
    """The clock offset was cast in SQL: one gateway's "abc" failed every farm's gateway step."""
    _seed(conn, impossible=False)
    conn.execute(
        "INSERT INTO gateways (id, farm_id, status, last_seen) VALUES "
        "('gw-good', 'f-good', 'online', %s), ('gw-bad', 'f-bad', 'online', %s)",
        (NOW - timedelta(hours=1), NOW),
    )
    payloads = ['"abc"', "1e400", '{"x": 1}', "2.5"]  # JSON text: 1e400 is no Python float
    for seq, offset in enumerate(payloads):
        gateway = "gw-good" if offset == "2.5" else "gw-bad"
        conn.execute(
            "INSERT INTO health (ts, gateway_id, seq, outbox_depth, payload) "
            "VALUES (%s, %s, %s, 0, jsonb_build_object('clock_offset_s', %s::jsonb))",
            (NOW - timedelta(minutes=10 - seq), gateway, seq, offset),
        )
    conn.commit()
    report = build_worker(conn, PrintProvider(), SmsSettings()).cycle(NOW)
    assert report.failures == [] and report.gateways == 2
    offline = conn.execute("SELECT farm_id FROM alerts WHERE type = 'gateway_offline'").fetchall()
    assert offline == [("f-good",)]
