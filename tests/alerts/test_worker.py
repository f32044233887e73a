"""The alert worker's cycle against the real database and a real local SMS gateway."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from click.testing import CliRunner
from psycopg.types.json import Jsonb

from cloud.notify.providers import GenericHttpProvider
from cloud.notify.settings import SmsSettings
from fuhuiyang.commands.alerts import alerts
from fuhuiyang.processes.alerts import build_worker
from tests.alerts.sms_server import SmsServer
from tests.support.databases import TestDatabase

NOW = datetime(2025, 3, 20, 4, 0, tzinfo=UTC)  # 12:00 in China: not quiet hours
TODAY = NOW.date()


@pytest.fixture
def server() -> Iterator[SmsServer]:
    s = SmsServer().start()
    yield s
    s.stop()


def _seed(conn: psycopg.Connection) -> None:
    conn.execute("INSERT INTO regions (id, level, name) VALUES ('t', 'township', '青华镇')")
    farmer = conn.execute(
        "INSERT INTO users (username, password_hash, role, phone) VALUES ('li', 'x', 'farmer', '+8613800000001') RETURNING id"
    ).fetchone()
    tech = conn.execute(
        "INSERT INTO users (username, password_hash, role, phone) VALUES ('tech', 'x', 'technician', '+8613900000001') RETURNING id"
    ).fetchone()
    assert farmer and tech
    conn.execute(
        "INSERT INTO farms (id, name, region_id, owner_user_id) VALUES ('f1', '李家坪鸡场', 't', %s)",
        (farmer[0],),
    )
    conn.execute("INSERT INTO user_scopes (user_id, region_id) VALUES (%s, 't')", (tech[0],))
    conn.execute("INSERT INTO houses (id, farm_id, name) VALUES ('h1', 'f1', '1')")
    conn.execute(
        "INSERT INTO flocks (id, house_id, breed, placed_on, birds_placed) VALUES ('fl1', 'h1', 'ross308', %s, 2000)",
        (TODAY - timedelta(days=30),),
    )
    for back in range(10, 0, -1):  # growing birds drink a little more every day
        conn.execute(
            "INSERT INTO daily_records (flock_id, day, deaths, water_l) VALUES ('fl1', %s, 1, %s)",
            (TODAY - timedelta(days=back), 400 - 10 * back),
        )
    # Today so far: 45 dead by noon (2.3 %); the water meter has only half a day in it.
    conn.execute(
        "INSERT INTO daily_records (flock_id, day, deaths, water_l) VALUES ('fl1', %s, 45, 150)",
        (TODAY,),
    )
    # A gateway silent for an hour, with its outbox growing before it went quiet.
    conn.execute(
        "INSERT INTO gateways (id, farm_id, status, last_seen) VALUES ('gw1', 'f1', 'online', %s)",
        (NOW - timedelta(hours=1),),
    )
    conn.execute(
        "INSERT INTO gateways (id, farm_id, status, last_seen) VALUES ('gw2', 'f1', 'online', %s)",
        (NOW,),
    )
    for i, depth in enumerate([100, 300, 600, 900]):
        conn.execute(
            """INSERT INTO health (ts, gateway_id, seq, outbox_depth, payload)
               VALUES (%s, 'gw2', %s, %s, %s)""",
            (NOW - timedelta(minutes=20 - 5 * i), i, depth, Jsonb({"clock_offset_s": 2.0})),
        )
    conn.commit()


def test_one_cycle_judges_and_texts_and_a_second_adds_nothing(
    db: TestDatabase, server: SmsServer
) -> None:
    with db.connect() as conn:
        _seed(conn)
        worker = build_worker(conn, GenericHttpProvider(url=server.url + "/sms"), SmsSettings())
        report = worker.cycle(NOW)
        assert report.errors == [] and report.flocks == 1 and report.gateways == 2
        kinds: dict[str, str] = dict(conn.execute("SELECT type, severity FROM alerts").fetchall())
        assert kinds == {
            "mortality": "critical",
            "gateway_offline": "warning",
            "outbox_backlog": "warning",
        }
        assert "water_drop" not in kinds  # half a day of water is not a drop
        texts = [r.body.decode() for r in server.requests]
        assert any("24小时死亡45只" in json.loads(t)["text"] for t in texts)
        sent_before = len(server.requests)
        again = worker.cycle(NOW + timedelta(minutes=1))
        assert again.queued == 0 and len(server.requests) == sent_before
        assert conn.execute("SELECT count(*) FROM alerts").fetchone() == (3,)
        audit_sql = "SELECT type, jsonb_array_length(evidence->'audit') FROM alerts ORDER BY type"
        audits = conn.execute(audit_sql).fetchall()
        worker.cycle(NOW + timedelta(minutes=2))  # re-reading the same data adds nothing
        assert conn.execute(audit_sql).fetchall() == audits
        # Thirty minutes unacknowledged: the technician is told about the deaths.
        later = worker.cycle(NOW + timedelta(minutes=31))
        assert later.sent >= 1
        to_tech = [json.loads(r.body) for r in server.requests[sent_before:]]
        assert [m["to"] for m in to_tech if "24小时死亡45只" in m["text"]] == ["+8613900000001"]
        opened = conn.execute("SELECT event_start FROM alerts WHERE type = 'mortality'").fetchone()
        assert opened == (NOW,)  # judged as of now, not at the end of a day still under way


def test_run_once_cli(db: TestDatabase) -> None:
    with db.connect() as conn:
        _seed(conn)
    result = CliRunner().invoke(
        alerts, ["run", "--once", "--json"], env={**db.env(), "FUHUIYANG_SMS_PROVIDER": "print"}
    )
    assert result.exit_code == 0, result.output + result.stderr
    line = json.loads(result.stdout.strip().splitlines()[-1])
    assert line["flocks"] == 1 and line["errors"] == []


def test_local_breed_is_judged_against_the_farms_own_earlier_flocks(
    db: TestDatabase, server: SmsServer
) -> None:
    from farming.growth import Gompertz

    local = Gompertz(a=1900.0, k=0.032, ti=50.0)
    with db.connect() as conn:
        conn.execute("INSERT INTO regions (id, level, name) VALUES ('t', 'township', '青华镇')")
        conn.execute("INSERT INTO farms (id, name, region_id) VALUES ('f1', '石板溪', 't')")
        conn.execute(
            "INSERT INTO houses (id, farm_id, name) VALUES ('h1', 'f1', '1'), ('h2', 'f1', '2')"
        )
        first = TODAY - timedelta(days=300)
        conn.execute(
            "INSERT INTO flocks (id, house_id, breed, placed_on, birds_placed, ended_on) VALUES ('old', 'h1', 'local_xiushan', %s, 300, %s)",
            (first, first + timedelta(days=120)),
        )
        for age in range(0, 120, 10):  # the last flock's weighings: the farm's own curve
            conn.execute(
                """INSERT INTO weighing_summaries (gateway_id, scale_id, day, house_id, count, mean_g, median_g,
                       sd_g, cv_pct, uniformity_pct, seq) VALUES ('gw', 's', %s, 'h1', 50, %s, %s, 1, 1, 85, %s)""",
                (first + timedelta(days=age), local(age), local(age), age),
            )
        conn.execute(
            "INSERT INTO flocks (id, house_id, breed, placed_on, birds_placed) VALUES ('new', 'h2', 'local_xiushan', %s, 300)",
            (TODAY - timedelta(days=60),),
        )
        conn.execute(
            "INSERT INTO daily_records (flock_id, day, deaths) VALUES ('new', %s, 0)",
            (TODAY - timedelta(days=1),),
        )
        conn.execute(
            """INSERT INTO weighing_summaries (gateway_id, scale_id, day, house_id, count, mean_g, median_g,
                   sd_g, cv_pct, uniformity_pct, seq) VALUES ('gw2', 's', %s, 'h2', 50, %s, %s, 1, 1, 85, 1)""",
            (TODAY - timedelta(days=1), local(59) * 0.7, local(59) * 0.7),
        )
        conn.commit()
        worker = build_worker(conn, GenericHttpProvider(url=server.url + "/sms"), SmsSettings())
        assert worker.cycle(NOW).errors == []
        rows = conn.execute("SELECT type, farm_id, house_id FROM alerts").fetchall()
        assert ("weight_below_curve", "f1", "h2") in rows


def test_an_nh3_cell_creeping_away_from_co2_is_reported_as_drift(db: TestDatabase) -> None:
    """Ten days of hourly NH3 and CO2 that move together; for the last three an NH3 cell adds 4 ppm a day."""
    from cloud.notify.settings import PrintProvider

    with db.connect() as conn:
        _seed(conn)
        start = datetime.combine(TODAY - timedelta(days=10), datetime.min.time(), UTC) - timedelta(hours=8)
        rows = []
        for hour in range(10 * 24):
            at = start + timedelta(hours=hour)
            excess = 600 + 400 * ((hour % 24) in range(0, 8))  # less air at night: more of both
            drift = max(0.0, (hour - 7 * 24) / 24 * 4.0)  # the last three days
            rows += [(at, "gw1", hour, 0, "h1", "h1-nh3", "nh3_ppm", 0.004 * excess + drift),
                     (at, "gw1", hour, 1, "h1", "h1-co2", "co2_ppm", 420 + excess)]
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO readings (ts, gateway_id, seq, idx, house_id, sensor_id, metric, value) "
                            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)", rows)
        conn.commit()
        worker = build_worker(conn, PrintProvider(), SmsSettings())
        assert worker.cycle(NOW).errors == []
        drift = conn.execute("SELECT house_id, evidence->'last'->'evidence'->>'nh3_ppm' FROM alerts "
                             "WHERE type = 'sensor_drift'").fetchall()
        assert len(drift) == 1 and drift[0][0] == "h1" and float(drift[0][1]) > 5
