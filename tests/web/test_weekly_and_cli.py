"""The scheduled weekly report files and the user bootstrap command."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

from cloud.reports.weekly import last_full_week, write_weekly
from tests.api import world
from tests.support.databases import TestDatabase


def test_last_full_week() -> None:
    assert last_full_week(date(2026, 11, 28)) == (date(2026, 11, 16), date(2026, 11, 23))  # a Saturday
    assert last_full_week(date(2026, 11, 23)) == (date(2026, 11, 16), date(2026, 11, 23))  # a Monday


def test_weekly_reports_per_county(db: TestDatabase, tmp_path: Path) -> None:
    with db.connect() as conn:
        world.seed(conn)
        paths = write_weekly(conn, tmp_path, date(2026, 12, 1))  # the week of the seeded records
    names = sorted(str(p.relative_to(tmp_path)) for p in paths)
    assert names == [f"{c}/2026-11-23_2026-11-30.{ext}" for c in ("c1", "c2") for ext in ("csv", "pdf", "xlsx")]
    csv = (tmp_path / "c1" / "2026-11-23_2026-11-30.csv").read_text(encoding="utf-8-sig").splitlines()
    assert csv[-1].startswith("c1,县,凤冈县,3,")


def test_create_user_command(db: TestDatabase) -> None:
    env = {**db.env(), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-m", "fuhuiyang", "cloud", "web", "create-user", "boss", "--role", "admin",
                          "--password", "a-long-password"], env=env, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout)["role"] == "admin"
    again = subprocess.run([sys.executable, "-m", "fuhuiyang", "cloud", "web", "create-user", "boss", "--role",
                            "admin", "--password", "a-long-password"], env=env, capture_output=True, text=True)
    assert again.returncode != 0 and "exists" in again.stderr
    with db.connect() as conn:
        assert conn.execute("SELECT role FROM users WHERE username = 'boss'").fetchone() == ("admin",)
