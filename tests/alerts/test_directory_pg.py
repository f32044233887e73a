"""Recipients from users and user_scopes, through the region tree."""

from __future__ import annotations

import psycopg

from cloud.alerts.model import NH3_HIGH, AlertKey
from cloud.alerts.policy import Audience
from cloud.notify.directory_pg import PgDirectory
from tests.support.databases import TestDatabase


def _user(
    conn: psycopg.Connection, name: str, role: str, phone: str | None, active: bool = True
) -> int:
    row = conn.execute(
        "INSERT INTO users (username, password_hash, role, phone, active, locale) VALUES (%s, 'x', %s, %s, %s, %s) RETURNING id",
        (name, role, phone, active, "en" if name.endswith("-en") else "zh-CN"),
    ).fetchone()
    assert row is not None
    return int(row[0])


def _scope(
    conn: psycopg.Connection, user: int, farm: str | None = None, region: str | None = None
) -> None:
    conn.execute(
        "INSERT INTO user_scopes (user_id, farm_id, region_id) VALUES (%s, %s, %s)",
        (user, farm, region),
    )


def test_recipients_by_farm_and_region(db: TestDatabase) -> None:
    with db.connect() as conn:
        for row in [
            ("p", None, "province", "重庆市"),
            ("c", "p", "county", "秀山县"),
            ("t", "c", "township", "青华镇"),
            ("t2", "c", "township", "龙潭镇"),
            ("v", "t", "village", "一村"),
        ]:
            conn.execute(
                "INSERT INTO regions (id, parent_id, level, name) VALUES (%s, %s, %s, %s)", row
            )
        owner = _user(conn, "owner", "farmer", "+8613800000001")
        conn.execute(
            "INSERT INTO farms (id, name, region_id, owner_user_id) VALUES ('f1', '李家坪鸡场', 'v', %s)",
            (owner,),
        )
        conn.execute("INSERT INTO farms (id, name, region_id) VALUES ('f2', '龙潭鸡场', 't2')")
        conn.execute(
            "INSERT INTO houses (id, farm_id, name) VALUES ('f1-h1', 'f1', '1'), ('f1-e', 'f1', '东舍')"
        )
        helper = _user(conn, "helper-en", "farmer", "+447700900001")
        _scope(conn, helper, farm="f1")
        _scope(conn, _user(conn, "other-farmer", "farmer", "+8613800000003"), farm="f2")
        _scope(conn, _user(conn, "no-phone", "farmer", None), farm="f1")
        _scope(conn, _user(conn, "gone", "farmer", "+8613800000004", active=False), farm="f1")
        tech = _user(conn, "tech", "technician", "+8613900000001")
        _scope(conn, tech, region="t")
        _scope(conn, _user(conn, "tech2", "technician", "+8613900000002"), region="t2")
        staff = _user(conn, "staff", "program_staff", "+8613700000001")
        _scope(conn, staff, region="c")
        conn.commit()

        directory = PgDirectory(conn)
        farmers = directory.recipients(Audience.FARMER, "f1", None)
        assert [(r.id, r.lang) for r in farmers] == [(str(owner), "zh-CN"), (str(helper), "en")]
        assert [r.id for r in directory.recipients(Audience.TECHNICIAN, "f1", None)] == [str(tech)]
        assert [r.id for r in directory.recipients(Audience.PROGRAM_STAFF, "f1", None)] == [
            str(staff)
        ]
        assert [r.id for r in directory.recipients(Audience.TECHNICIAN, None, "t")] == [str(tech)]
        assert [r.id for r in directory.recipients(Audience.PROGRAM_STAFF, None, "t2")] == [
            str(staff)
        ]
        assert (
            directory.recipients(Audience.FARMER, None, "t") == []
        )  # farmers hear of their farms only
        assert directory.place(AlertKey("f1", "f1-h1", NH3_HIGH), "zh-CN") == "李家坪鸡场1号舍"
        assert directory.place(AlertKey("f1", "f1-e", NH3_HIGH), "zh-CN") == "李家坪鸡场东舍"
        assert directory.region_name("t") == "青华镇"
