"""A small region with two counties, four farms and one user of each role, for API and web tests.

The expected visibility of every entity is written here by hand (VISIBLE), independently of the
scope code under test.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from cloud.api.security import hash_password

TODAY = date(2026, 11, 28)
NOW = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)

REGIONS = [  # id, parent, level, name, name_en
    ("p", None, "province", "贵州省", "Guizhou"),
    ("c1", "p", "county", "凤冈县", "Fenggang"),
    ("t1", "c1", "township", "永安镇", "Yong'an"),
    ("v1", "t1", "village", "田坝村", "Tianba"),
    ("t2", "c1", "township", "琊川镇", "Yachuan"),
    ("v2", "t2", "village", "大都村", "Dadu"),
    ("c2", "p", "county", "湄潭县", "Meitan"),
    ("t3", "c2", "township", "兴隆镇", "Xinglong"),
    ("v3", "t3", "village", "龙凤村", "Longfeng"),
]
FARMS = {"f1": "v1", "f2": "v2", "f3": "v3", "f4": "v1"}
USERS = {  # username: role, farms, regions
    "admin": ("admin", [], []),
    "farmer1": ("farmer", ["f1"], []),
    "farmer3": ("farmer", ["f3"], []),
    "tech1": ("technician", [], ["c1"]),
    "staff2": ("program_staff", [], ["c2"]),
}
PASSWORD = "pass-{}-word"
# Ross 308 standard (DESIGN.md §5) interpolated by age, days 13..19 used by the seeded summaries.
ROSS308_BY_AGE = {a: 533 + (1012 - 533) * (a - 14) / 7 if a >= 14 else 213 + (533 - 213) * (a - 7) / 7
                  for a in range(7, 22)}

ALL_FARMS = set(FARMS)
VISIBLE_FARMS = {
    "admin": ALL_FARMS,
    "farmer1": {"f1"},
    "farmer3": {"f3"},
    "tech1": {"f1", "f2", "f4"},
    "staff2": {"f3"},
}
VISIBLE_REGIONS = {
    "admin": {r[0] for r in REGIONS},
    "farmer1": {"v1"},
    "farmer3": {"v3"},
    "tech1": {"c1", "t1", "v1", "t2", "v2"},
    "staff2": {"c2", "t3", "v3"},
}


def password(username: str) -> str:
    return PASSWORD.format(username)


def house(farm: str) -> str:
    return f"{farm}-h1"


def flock(farm: str) -> str:
    return f"{farm}-fl1"


def gateway(farm: str) -> str:
    return f"gw-{farm}"


def seed(conn: psycopg.Connection) -> dict[str, Any]:
    """Insert the world; returns ids the database generated (users, alerts, mortality records)."""
    ids: dict[str, Any] = {"users": {}, "alerts": {}, "mortality": {}}
    # PGlite serves every connection from one backend: prepared statements would collide.
    conn.prepare_threshold = None
    conn.execute("DEALLOCATE ALL")
    for r in REGIONS:
        conn.execute("INSERT INTO regions (id, parent_id, level, name, name_en) VALUES (%s, %s, %s, %s, %s)", r)
    for username, (role, _, _) in USERS.items():
        row = conn.execute(
            "INSERT INTO users (username, password_hash, role, display_name, phone) VALUES (%s, %s, %s, %s, %s) "
            "RETURNING id", (username, hash_password(password(username)), role, username.title(), "13800000000"),
        ).fetchone()
        assert row is not None
        ids["users"][username] = row[0]
    for farm, region in FARMS.items():
        owner = next((ids["users"][u] for u, (_, farms, _) in USERS.items() if farm in farms), None)
        conn.execute("INSERT INTO farms (id, name, region_id, owner_user_id) VALUES (%s, %s, %s, %s)",
                     (farm, f"农场 {farm}", region, owner))
        conn.execute("INSERT INTO houses (id, farm_id, name, capacity) VALUES (%s, %s, %s, 500)",
                     (house(farm), farm, "一号鸡舍"))
        conn.execute("INSERT INTO flocks (id, house_id, breed, placed_on, birds_placed, birds_now) "
                     "VALUES (%s, %s, 'ross308', %s, 300, 294)", (flock(farm), house(farm), TODAY - timedelta(days=20)))
        conn.execute("INSERT INTO gateways (id, farm_id, software, status, last_seen, desired_version, desired_config) "
                     "VALUES (%s, %s, 'edge 0.1.0', 'online', %s, 1, %s)",
                     (gateway(farm), farm, NOW - timedelta(minutes=3), Jsonb({"telemetry_batch_s": 60})))
        conn.execute("INSERT INTO gateway_configs (gateway_id, version, config) VALUES (%s, 1, %s)",
                     (gateway(farm), Jsonb({"telemetry_batch_s": 60})))
        conn.execute("INSERT INTO sensors (gateway_id, id, house_id, metric, state, faults) VALUES "
                     "(%s, 'env1', %s, 'temperature_c', 'ok', '{}'), (%s, 'nh3', %s, 'nh3_ppm', 'fault', '{stuck}')",
                     (gateway(farm), house(farm), gateway(farm), house(farm)))
        conn.execute("INSERT INTO cameras (gateway_id, id, house_id, state) VALUES (%s, 'cam1', %s, 'ok')",
                     (gateway(farm), house(farm)))
        conn.execute("INSERT INTO health (ts, gateway_id, seq, outbox_depth, outbox_oldest_age_s, payload) "
                     "VALUES (%s, %s, 1, 12, 40.0, '{}')", (NOW - timedelta(minutes=5), gateway(farm)))
        row = conn.execute(
            "INSERT INTO alerts (type, severity, dedup_key, farm_id, house_id, region_id, event_start, raised_at, "
            "title, advice) VALUES ('mortality', 'critical', %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
            (f"{farm}/mortality", farm, house(farm), region, NOW - timedelta(hours=2), NOW - timedelta(hours=2),
             "死亡数异常", "隔离病鸡，联系兽医"),
        ).fetchone()
        assert row is not None
        ids["alerts"][farm] = row[0]
        row = conn.execute(
            "INSERT INTO mortality_records (flock_id, house_id, farm_id, ts, count, source, evidence) "
            "VALUES (%s, %s, %s, %s, 1, 'detector', %s) RETURNING id",
            (flock(farm), house(farm), farm, NOW - timedelta(hours=1),
             Jsonb({"frame": f"ab/cd/{'ab' * 32}.jpg", "crop": f"cd/ef/{'cd' * 32}.jpg", "track_id": 3})),
        ).fetchone()
        assert row is not None
        ids["mortality"][farm] = row[0]
        for d in range(7):
            conn.execute("INSERT INTO daily_records (flock_id, day, deaths, feed_kg, water_l) VALUES (%s, %s, %s, 30, 60)",
                         (flock(farm), TODAY - timedelta(days=d + 1), d % 3))
        for h in range(24):
            ts = NOW - timedelta(hours=h)
            conn.execute("INSERT INTO readings (ts, gateway_id, seq, idx, house_id, sensor_id, metric, value) "
                         "VALUES (%s, %s, %s, 0, %s, 'env1', 'temperature_c', %s), "
                         "(%s, %s, %s, 1, %s, 'env1', 'humidity_pct', %s), (%s, %s, %s, 2, %s, 'nh3', 'nh3_ppm', %s)",
                         (ts, gateway(farm), 100 + h, house(farm), 26.0 + h % 4,
                          ts, gateway(farm), 100 + h, house(farm), 62.0 + h % 3,
                          ts, gateway(farm), 100 + h, house(farm), 12.0 + h % 8))
        for d in range(1, 8):  # the gateway's daily weight summaries, a little under the Ross 308 standard
            day = TODAY - timedelta(days=d)
            expected = ROSS308_BY_AGE[(day - (TODAY - timedelta(days=20))).days]
            conn.execute("INSERT INTO weighing_summaries (gateway_id, scale_id, day, house_id, count, mean_g, "
                         "median_g, sd_g, cv_pct, uniformity_pct, expected_g, seq) "
                         "VALUES (%s, 'scale1', %s, %s, 60, %s, %s, %s, 9.5, 82, %s, %s)",
                         (gateway(farm), day, house(farm), 0.95 * expected, 0.95 * expected, 0.09 * expected,
                          expected, d))
    # A regional alert (no farm) in county c2.
    row = conn.execute(
        "INSERT INTO alerts (type, severity, dedup_key, region_id, event_start, raised_at, title) "
        "VALUES ('regional_mortality', 'warning', 'c2/regional', 'c2', %s, %s, 'Regional cluster') RETURNING id",
        (NOW - timedelta(hours=3), NOW - timedelta(hours=3))).fetchone()
    assert row is not None
    ids["alerts"]["c2"] = row[0]
    for username, (_, farms, regions) in USERS.items():
        for f in farms:
            conn.execute("INSERT INTO user_scopes (user_id, farm_id) VALUES (%s, %s)", (ids["users"][username], f))
        for region_id in regions:
            conn.execute("INSERT INTO user_scopes (user_id, region_id) VALUES (%s, %s)",
                         (ids["users"][username], region_id))
    conn.commit()
    return ids
