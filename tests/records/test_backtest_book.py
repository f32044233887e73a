"""`alerts backtest --records` reads a farm's workbook through the same reader as the import: the
same days give the same alerts as our own CSV format."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from fuhuiyang.commands.alerts import alerts
from tests.records.books import farm_book


def _backtest(path: Path, *args: str) -> tuple[list[dict[str, Any]], str]:
    result = CliRunner().invoke(alerts, ["backtest", "--records", str(path), "--birds-placed", "1000",
                                         "--json", *args])
    assert result.exit_code == 0, result.output + (result.stderr or "")
    found: list[dict[str, Any]] = json.loads(result.stdout)
    return found, result.stderr


def test_a_workbook_gives_the_same_alerts_as_our_csv(tmp_path: Path) -> None:
    book = farm_book(date(2026, 1, 10), 75, spike_at=50)
    xlsx, csv = tmp_path / "李家坪.xlsx", tmp_path / "records.csv"
    xlsx.write_bytes(book.xlsx())
    csv.write_text(book.our_csv(), encoding="utf-8")
    from_book, book_notes = _backtest(xlsx, "--breed", "ross308", "--placed-on", "2026-01-10")
    from_csv, _ = _backtest(csv, "--breed", "ross308", "--placed-on", "2026-01-10")
    assert from_book == from_csv
    kinds = {(a["date"], a["type"]) for a in from_book}
    assert (book.spike.isoformat(), "mortality") in kinds
    # The typo'd feed is a question for whoever wrote it, on its day, from either file.
    asked = [a for a in from_book if a["type"] == "record_suspect"]
    assert [(a["date"], a["evidence"]["written"]) for a in asked] == [(book.typo.isoformat(), "3O.5")]
    # Where the workbook's problems are: sheet, row, column.
    assert "sheet '2026年1月' line" in book_notes and "column feed_kg: '3O.5' not a number (cell skipped)" in book_notes


def test_chinese_headers_in_a_gb18030_csv(tmp_path: Path) -> None:
    book = farm_book(date(2026, 1, 10), 40, spike_at=30)
    ours = tmp_path / "ours.csv"
    ours.write_text(book.our_csv(), encoding="utf-8")
    lines = book.our_csv().splitlines()
    lines[0] = "日期,存栏,死亡,淘汰,饲料(斤),饮水(L),体重(kg)"
    farm = []
    for line in lines[1:]:
        day, birds, deaths, culls, feed, water, weight = line.split(",")
        feed_jin = str(float(feed) * 2) if feed != "3O.5" else feed
        farm.append(",".join([day.replace("-", "/"), birds, deaths, culls, feed_jin, water,
                              str(int(weight) / 1000) if weight else ""]))
    theirs = tmp_path / "theirs.csv"
    theirs.write_bytes("\n".join([lines[0], *farm, "合计,,,,,,"]).encode("gb18030"))
    assert _backtest(theirs)[0] == _backtest(ours)[0] != []


def test_a_sheet_and_a_mapping_from_the_command_line(tmp_path: Path) -> None:
    path = tmp_path / "b.csv"
    path.write_text("日子,死,饮水\n2025-03-01,1,300\n2025-03-02,0,310\n")
    result = CliRunner().invoke(alerts, ["backtest", "--records", str(path), "--birds-placed", "100", "--json"])
    assert result.exit_code != 0 and "no header row" in result.output + (result.stderr or "")
    found, notes = _backtest(path, "--map", "日子=date", "--map", "B=deaths")
    assert found == [] and "2 day(s)" not in notes
    result = CliRunner().invoke(alerts, ["backtest", "--records", str(path), "--birds-placed", "100",
                                         "--map", "日子=when"])
    assert result.exit_code == 2 and "unrecognised column mapping" in result.output + (result.stderr or "")
