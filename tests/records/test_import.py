"""Importing a farm's book into a flock, against the real database: one transaction, idempotent,
a corrected book updates only what changed, the live count follows, and the rules see the history."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from cloud.alerts.replay import replay
from cloud.alerts.source_pg import load_flocks, load_history
from cloud.api.scope import Principal, Role, Scope
from cloud.api.services import record_import
from cloud.records import read_book
from fuhuiyang.commands.records import records
from tests.api import world
from tests.records.books import Book, farm_book
from tests.support.databases import TestDatabase

FLOCK = world.flock("f1")
START = date(2026, 10, 20)  # the book's first day; the flock was placed on 2026-10-01
TODAY = world.TODAY  # 2026-11-28
BIRDS = 1000


@pytest.fixture
def farm(any_db: TestDatabase) -> Iterator[TestDatabase]:
    """The test world on both engines, flock f1 placed earlier and no records yet: the farm is new to us."""
    db = any_db
    with db.connect() as conn:
        world.seed(conn)
        conn.execute("DELETE FROM daily_records WHERE flock_id = %s", (FLOCK,))
        conn.execute("UPDATE flocks SET placed_on = '2026-10-01', birds_placed = %s, birds_now = NULL "
                     "WHERE id = %s", (BIRDS, FLOCK))
    yield db


def _env(db: TestDatabase) -> dict[str, str]:
    # The TimescaleDB engine in tests is PGlite: one backend shared by every connection.
    return {**db.env(), "FUHUIYANG_DATABASE_PREPARED_STATEMENTS": "false" if db.timescaledb else "true"}


def _import(db: TestDatabase, path: Path, *args: str) -> dict[str, Any]:
    result = CliRunner().invoke(records, ["import", "--file", str(path), "--flock", FLOCK, "--today",
                                          TODAY.isoformat(), "--json", *args], env=_env(db))
    assert result.exit_code == 0, result.output + (result.stderr or "")
    out: dict[str, Any] = json.loads(result.stdout)
    return out


def _write(tmp_path: Path, book: Book, name: str = "book.xlsx") -> Path:
    path = tmp_path / name
    path.write_bytes(book.xlsx())
    return path


def _stored(db: TestDatabase) -> tuple[dict[date, tuple[Any, ...]], int | None]:
    with db.connect() as conn:
        rows = conn.execute("SELECT day, birds, deaths, culls, feed_kg, water_l, mean_weight_g, source "
                            "FROM daily_records WHERE flock_id = %s ORDER BY day", (FLOCK,)).fetchall()
        row = conn.execute("SELECT birds_now FROM flocks WHERE id = %s", (FLOCK,)).fetchone()
    assert row is not None
    return {r[0]: r[1:] for r in rows}, row[0]


def test_import_then_reimport_then_a_corrected_book(farm: TestDatabase, tmp_path: Path) -> None:
    book = farm_book(START, 38, birds_placed=BIRDS)
    path = _write(tmp_path, book)
    first = _import(farm, path)
    n = len(book.days)
    assert first["rows"] == {"read": n + 1, "inserted": n, "updated": 0, "unchanged": 0, "empty": 0,
                             "rejected": 1}  # the split day is two rows
    assert first["sheets"] == ["2026年10月", "2026年11月"]
    assert {m["column"]: m["field"] for m in first["mapping"]}["饲料(kg)"] == "feed_kg"
    [typo] = [e for e in first["errors"] if e["action"] == "该格未导入"]
    assert (typo["sheet"], typo["column"], typo["value"], typo["reason"]) == ("2026年11月", "E", "3O.5", "不是数字")
    stored, alive = _stored(farm)
    assert sorted(stored) == [d.day for d in book.days]
    removed = sum(d.deaths + d.culls for d in book.days)
    assert alive == BIRDS - removed  # the live count follows the imported losses
    typo_day = stored[book.typo]
    assert typo_day[3] is None and typo_day[1] is not None  # the typo'd feed left out, the rest kept
    weighed = next(d for d in book.days if d.weight)
    assert stored[weighed.day][5] == weighed.weight and stored[weighed.day][6] == "import"

    # The same book again: nothing changes, not even the audit log.
    with farm.connect() as conn:
        audits = conn.execute("SELECT count(*) FROM audit_log WHERE action = 'import'").fetchone()
    again = _import(farm, path)
    assert again["rows"]["inserted"] == again["rows"]["updated"] == 0 and again["rows"]["unchanged"] == n
    assert _stored(farm) == (stored, alive)
    with farm.connect() as conn:
        assert conn.execute("SELECT count(*) FROM audit_log WHERE action = 'import'").fetchone() == audits

    # The farmer corrects the typo and one day's deaths: only those two days change.
    for d in book.days:
        if d.day == book.typo:
            d.feed = "37.0"
    fixed = next(d for d in book.days if d.day == date(2026, 11, 6))
    fixed.deaths += 2
    corrected = _import(farm, _write(tmp_path, book, "corrected.xlsx"), "--lang", "en")
    assert corrected["rows"]["updated"] == 2 and corrected["rows"]["unchanged"] == n - 2
    assert corrected["errors"] == [e for e in corrected["errors"] if e["action"] != "cell skipped"]
    now, alive_now = _stored(farm)
    assert now[book.typo][3] == 37.0 and now[fixed.day][1] == fixed.deaths
    assert alive_now == alive - 2
    assert {d: v for d, v in now.items() if d not in (book.typo, fixed.day)} == {
        d: v for d, v in stored.items() if d not in (book.typo, fixed.day)}


def test_a_dry_run_counts_the_same_and_writes_nothing(farm: TestDatabase, tmp_path: Path) -> None:
    path = _write(tmp_path, farm_book(START, 38, birds_placed=BIRDS))
    dry = _import(farm, path, "--dry-run")
    assert dry["dry_run"] and dry["rows"]["inserted"] == 37
    assert _stored(farm) == ({}, None)
    real = _import(farm, path)
    assert real["rows"] == dry["rows"]


def test_nothing_is_half_imported(farm: TestDatabase, monkeypatch: pytest.MonkeyPatch) -> None:
    book = read_book(farm_book(START, 38, birds_placed=BIRDS).xlsx(), "b.xlsx")
    calls = 0
    real = record_import.store_day

    def failing(*args: Any, **kwargs: Any) -> str:
        nonlocal calls
        calls += 1
        if calls == 20:
            raise RuntimeError("the database went away")
        return real(*args, **kwargs)

    monkeypatch.setattr(record_import, "store_day", failing)
    admin = Scope(Principal(0, "operator", Role.ADMIN, None, "zh-CN"), None, None)
    with farm.connect() as conn, pytest.raises(RuntimeError):
        record_import.import_book(conn, admin, FLOCK, book, TODAY)
    assert _stored(farm) == ({}, None)


def test_days_outside_the_flock_and_other_farms(farm: TestDatabase, tmp_path: Path) -> None:
    path = _write(tmp_path, farm_book(date(2026, 9, 25), 10, birds_placed=BIRDS))  # placed 2026-10-01
    out = _import(farm, path)
    outside = [e for e in out["errors"] if e["code"] == "outside_flock"]
    assert len(outside) == 6 and outside[0]["reason"] == "不在这群鸡的饲养期内（2026-10-01 起）"
    assert out["rows"]["inserted"] == 3  # 2026-10-01..04, day 9 (10-04) missing
    future = _write(tmp_path, farm_book(date(2026, 11, 25), 6, birds_placed=BIRDS), "future.xlsx")
    assert sum(e["code"] == "future" for e in _import(farm, future)["errors"]) == 2
    # A farmer of another farm cannot import into this flock; the technician of its county can.
    result = CliRunner().invoke(records, ["import", "--file", str(path), "--flock", FLOCK, "--user", "farmer3"],
                                env=_env(farm))
    assert result.exit_code != 0 and "not found" in result.output + (result.stderr or "")
    assert "Traceback" not in result.output
    ok = _import(farm, path, "--user", "tech1")
    assert ok["rows"]["unchanged"] == 3


def test_imported_history_is_judged_like_entered_days(farm: TestDatabase, tmp_path: Path) -> None:
    book = farm_book(START, 38, birds_placed=BIRDS, spike_at=30)
    _import(farm, _write(tmp_path, book))
    with farm.connect() as conn:
        result = replay(conn, START, date(2026, 11, 26))
    mortality = [a for a in result.alerts if a.key.type == "mortality" and a.key.farm == "f1"]
    assert [a.opened_at.date() for a in mortality] == [book.spike]
    # The rules' history (and so each farm's robust baselines) holds every imported day with
    # what the book adds beyond the entry form: birds alive and the weighed sample.
    with farm.connect() as conn:
        [flock] = [f for f in load_flocks(conn, START, TODAY) if f.flock == FLOCK]
        history = load_history(conn, flock, TODAY, "Asia/Shanghai")
    assert {d.day for d in book.days} <= set(history.days)  # (the gateway adds the last two days)
    weighed = next(d for d in book.days if d.weight)
    record = history.get(weighed.day)
    assert record is not None and record.mean_weight_g == weighed.weight and record.birds == weighed.birds
    # The typo'd feed is not a question here: only the book's reader saw it, the database holds no typo.
    assert not [a for a in result.alerts if a.key.type == "record_suspect" and a.key.farm == "f1"]
