"""`fuhuiyang alerts replay` over real stored data."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import psycopg
import pytest
from click.testing import CliRunner

from fuhuiyang.commands.alerts import alerts
from tests.support.databases import TestDatabase

D0 = date(2025, 3, 1)
FARMS = [
    ("f-li", "李家坪鸡场", "v-1"),
    ("f-wang", "王家沟鸡场", "v-2"),
    ("f-shi", "石板溪散养户", "v-2"),
    ("f-long", "龙潭鸡场", "v-9"),
]


def _seed(conn: psycopg.Connection) -> None:
    regions = [
        ("p", None, "province", "重庆市"),
        ("c", "p", "county", "秀山县"),
        ("t-qh", "c", "township", "青华镇"),
        ("t-lt", "c", "township", "龙潭镇"),
        ("v-1", "t-qh", "village", "一村"),
        ("v-2", "t-qh", "village", "二村"),
        ("v-9", "t-lt", "village", "九村"),
    ]
    for row in regions:
        conn.execute(
            "INSERT INTO regions (id, parent_id, level, name) VALUES (%s, %s, %s, %s)", row
        )
    onsets = {"f-li": 20, "f-wang": 21, "f-shi": 22, "f-long": 999}
    sizes = {"f-li": 3000, "f-wang": 1200, "f-shi": 150, "f-long": 2000}
    for farm, name, village in FARMS:
        conn.execute(
            "INSERT INTO farms (id, name, region_id) VALUES (%s, %s, %s)", (farm, name, village)
        )
        conn.execute(
            "INSERT INTO houses (id, farm_id, name) VALUES (%s, %s, '1')", (f"{farm}-h1", farm)
        )
        conn.execute(
            "INSERT INTO flocks (id, house_id, breed, placed_on, birds_placed) VALUES (%s, %s, 'local', %s, %s)",
            (f"{farm}-fl", f"{farm}-h1", D0 - timedelta(days=40), sizes[farm]),
        )
        alive = sizes[farm]
        for i in range(30):
            k = i - onsets[farm]
            dead = (1 if i % 4 == 0 else 0) if k < 0 else min(alive, round(alive * 0.01 * 2**k))
            water = sizes[farm] * 0.25 * (1 if k < 0 else max(0.2, 1 - 0.25 * (k + 1)))
            conn.execute(
                "INSERT INTO daily_records (flock_id, day, deaths, water_l) VALUES (%s, %s, %s, %s)",
                (f"{farm}-fl", D0 + timedelta(days=i), dead, water),
            )
            alive -= dead
    # Ammonia climbs in 龙潭's house on the afternoon of day 5 (hourly readings, 2 a minute-ish).
    start = datetime(2025, 3, 6, 0, 0, tzinfo=UTC)
    for minute in range(0, 24 * 60, 30):
        ts = start + timedelta(minutes=minute)
        nh3 = 27.0 if 6 * 60 <= minute < 9 * 60 else 12.0
        conn.execute(
            """INSERT INTO readings (ts, gateway_id, seq, idx, house_id, sensor_id, metric, value)
               VALUES (%s, 'gw-long', %s, 0, 'f-long-h1', 'nh3-1', 'nh3_ppm', %s)""",
            (ts, minute, nh3),
        )
    conn.commit()


@pytest.fixture
def seeded(db: TestDatabase) -> TestDatabase:
    with db.connect() as conn:
        _seed(conn)
    return db


def _replay(db: TestDatabase, *args: str) -> list[dict[str, object]]:
    result = CliRunner().invoke(
        alerts,
        ["replay", "--from", "2025-03-01", "--to", "2025-03-30", *args, "--json"],
        env=db.env(),
    )
    assert result.exit_code == 0, result.output + result.stderr
    assert "replayed 30 days, 4 flocks" in result.stderr
    return json.loads(result.stdout)


def test_replay_finds_farm_regional_and_climate_alerts(seeded: TestDatabase) -> None:
    rows = _replay(seeded)
    kinds = {(r["farm"], r["type"]) for r in rows}
    for farm in ("f-li", "f-wang", "f-shi"):
        assert (farm, "mortality") in kinds and (farm, "suspected_notifiable_disease") in kinds
    regional = [r for r in rows if r["type"] == "regional_outbreak"]
    assert len(regional) == 1 and regional[0]["region"] == "t-qh"
    nh3 = [r for r in rows if r["type"] == "nh3_high"]
    assert len(nh3) == 1 and nh3[0]["farm"] == "f-long" and nh3[0]["severity"] == "critical"
    assert not [r for r in rows if r["farm"] == "f-long" and r["type"] != "nh3_high"]
    li = next(r for r in rows if r["farm"] == "f-li" and r["type"] == "mortality")
    assert li["date"] == "2025-03-21" and "李家坪鸡场" in str(li["message"])
    with seeded.connect() as conn:
        assert conn.execute("SELECT count(*) FROM alerts").fetchone() == (0,)  # dry run


def test_replay_write_is_idempotent(seeded: TestDatabase) -> None:
    first = _replay(seeded, "--write")
    with seeded.connect() as conn:
        count = conn.execute("SELECT count(*) FROM alerts").fetchone()
    assert count == (len(first),)
    _replay(seeded, "--write")
    with seeded.connect() as conn:
        assert conn.execute("SELECT count(*) FROM alerts").fetchone() == count


def test_replay_rejects_a_backwards_period(seeded: TestDatabase) -> None:
    result = CliRunner().invoke(
        alerts, ["replay", "--from", "2025-03-05", "--to", "2025-03-01"], env=seeded.env()
    )
    assert result.exit_code != 0 and "before --from" in result.output + result.stderr
    result = CliRunner().invoke(
        alerts, ["replay", "--from", "March", "--to", "2025-03-01"], env=seeded.env()
    )
    assert result.exit_code != 0 and "not a date" in result.output + result.stderr


@pytest.mark.timescaledb
def test_replay_on_timescaledb(tsdb: TestDatabase) -> None:
    with tsdb.connect() as conn:
        _seed(conn)
    rows = _replay(tsdb)
    kinds = {(r["farm"], r["type"]) for r in rows}
    assert ("f-li", "mortality") in kinds and ("f-long", "nh3_high") in kinds
    assert len([r for r in rows if r["type"] == "regional_outbreak"]) == 1
