"""The one reader of farm books: workbooks built here the way farms keep them, and CSV files."""

from __future__ import annotations

import io
import zipfile
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from cloud.records import BookError, read_book
from cloud.records.columns import recognise
from cloud.records.dates import Hint, parse_day
from cloud.records.grid import MAX_UNPACKED
from cloud.records.reader import parse_mapping
from tests.records.books import farm_book

START = date(2026, 10, 20)


def test_a_farm_book_with_a_sheet_per_month() -> None:
    book = farm_book(START, 30)
    read = read_book(book.xlsx(), "李家坪.xlsx")
    assert read.sheets == ["2026年10月", "2026年11月"]
    # How each column was understood, units converted.
    mapping = {c.key: (c.field, c.factor) for c in read.columns}
    assert mapping == {"日期": ("date", 1.0), "存栏(只)": ("birds", 1.0), "死亡(只)": ("deaths", 1.0),
                       "淘汰(只)": ("culls", 1.0), "饲料(kg)": ("feed_kg", 1.0), "饮水(L)": ("water_l", 1.0),
                       "体重(g)": ("mean_weight_g", 1.0), "备注": ("ignore", 1.0)}
    # Every day but the missing one, whichever way its date was written; titles and totals left out.
    expected = [d.day for d in book.days]
    assert [d.day for d in read.days] == expected
    assert book.missing not in expected
    assert read.counters["totals_rows"] == 2 and read.counters["note_rows"] == 2
    assert read.counters["missing_days"] == 1
    # The day written on two rows under one merged date: counts added, levels kept.
    split = next(d for d in read.days if d.day == book.split)
    source = next(d for d in book.days if d.day == book.split)
    assert split.values["deaths"] == source.deaths and split.values["birds"] == source.birds
    assert split.values["feed_kg"] == pytest.approx(float(source.feed))
    # The typo'd number: that cell is rejected with where and why; the rest of its row is kept.
    typo = next(d for d in read.days if d.day == book.typo)
    assert typo.values["feed_kg"] is None and typo.values["deaths"] is not None
    [rejected] = read.rejected
    sheet = f"{book.typo.year}年{book.typo.month}月"
    assert rejected.to_dict() == {"sheet": sheet, "row": rejected.row, "column": "E", "header": "饲料(kg)",
                                  "field": "feed_kg", "value": "3O.5", "reason": "不是数字", "action": "该格未导入",
                                  "code": "not_number"}
    assert rejected.to_dict("en")["reason"] == "not a number"
    assert rejected.row > 3  # below the title rows and the header
    gap = next(i for i in read.issues if i.code == "missing_days")
    assert gap.reason() == f"缺 1 天记录（从 {book.missing} 起）"


def test_one_sheet_only_and_a_sheet_of_another_layout() -> None:
    book = farm_book(START, 30)
    read = read_book(book.xlsx(), "b.xlsx", sheet="2026年11月")
    assert read.sheets == ["2026年11月"] and read.days[0].day == date(2026, 11, 1)
    with pytest.raises(BookError) as err:
        read_book(book.xlsx(), "b.xlsx", sheet="12月")
    assert "没有名为“12月”的工作表" in err.value.text() and "2026年10月" in err.value.text("en")
    # A summary sheet with other columns is left out of "every sheet", and said so.
    wb = Workbook()
    ws = wb.active
    ws.title = "3月"
    ws.append(["日期", "死亡", "产蛋"])
    ws.append(["2023/3/4", 1, 900])
    summary = wb.create_sheet("汇总")
    summary.append(["日期", "饲料(吨)"])
    summary.append(["2023-03-31", 1.5])
    read = read_book(_save(wb), "b.xlsx")
    assert read.sheets == ["3月"] and read.days[0].values == {"deaths": 1, "eggs": 900}
    [note] = [i for i in read.issues if i.code == "sheet_other_layout"]
    assert note.sheet == "汇总" and note.reason("en") == "sheet's columns differ from '3月'; import it alone with --sheet"
    only = read_book(_save(wb), "b.xlsx", sheet="汇总")
    assert only.days[0].values == {"feed_kg": 1500.0}  # tonnes in the header, kilograms stored


def test_two_header_rows_under_merged_group_names() -> None:
    wb = Workbook()
    ws = wb.active
    ws.title = "2023年3月"
    ws.append(["某某蛋鸡场生产日报"])
    ws.append(["日期", "死淘(只)", None, "饲料消耗", None, "饮水(L)"])
    ws.append([None, "死亡", "淘汰", "总量(kg)", "只均(g)", None])
    for cells in ("A2:A3", "B2:C2", "D2:E2", "F2:F3", "A1:F1"):
        ws.merge_cells(cells)
    ws.append(["3月1日", 2, 1, 110.5, 110, 200])
    ws.append(["3月2日", 0, 0, 111, 111, 201])
    read = read_book(_save(wb), "b.xlsx")
    assert [(c.key, c.field) for c in read.columns] == [
        ("日期", "date"), ("死亡", "deaths"), ("淘汰", "culls"), ("饲料消耗 总量(kg)", "feed_kg"),
        ("饲料消耗 只均(g)", "ignore"), ("饮水(L)", "water_l")]
    assert read.days[0].day == date(2023, 3, 1)
    assert read.days[0].values == {"deaths": 2, "culls": 1, "feed_kg": 110.5, "water_l": 200.0}
    assert read.issues == []


@pytest.mark.parametrize(("header", "field", "factor"), [
    ("饲料(斤)", "feed_kg", 0.5), ("饲料（公斤）", "feed_kg", 1.0), ("日饮水量(ml)", "water_l", 0.001),
    ("饮水/吨", "water_l", 1000.0), ("体重(kg)", "mean_weight_g", 1000.0), ("平均体重（克）", "mean_weight_g", 1.0),
    ("死淘", "deaths", 1.0), ("Deaths", "deaths", 1.0), ("Feed (kg)", "feed_kg", 1.0), ("water_l", "water_l", 1.0),
    ("产蛋数(枚)", "eggs", 1.0), ("均匀度(%)", "uniformity_pct", 1.0),
])
def test_headers_and_their_units(header: str, field: str, factor: float) -> None:
    found = recognise(header)
    assert found is not None and (found.field, found.factor) == (field, factor)


@pytest.mark.parametrize("header", ["产蛋率(%)", "累计死亡", "死亡率", "备注", ""])
def test_rates_totals_and_notes_are_not_daily_fields(header: str) -> None:
    assert recognise(header) is None


@pytest.mark.parametrize(("written", "hint", "expected"), [
    ("2023年3月4日", Hint(), date(2023, 3, 4)), ("2023-03-04", Hint(), date(2023, 3, 4)),
    ("2023/3/4", Hint(), date(2023, 3, 4)), ("2023.3.4 08:00", Hint(), date(2023, 3, 4)),
    ("3/4", Hint(2023), date(2023, 3, 4)), ("3月4日", Hint(2023), date(2023, 3, 4)),
    ("4日", Hint(2023, 3), date(2023, 3, 4)), (4, Hint(2023, 3), date(2023, 3, 4)),
    (44989, Hint(), date(2023, 3, 4)), ("44989", Hint(), date(2023, 3, 4)),
    ("3/4", Hint(), None), ("2023-02-30", Hint(), None), ("昨天", Hint(2023, 3), None), (4, Hint(), None),
])
def test_date_styles(written: object, hint: Hint, expected: date | None) -> None:
    assert parse_day(written, hint) == expected


def test_year_and_month_from_the_sheet_or_the_title() -> None:
    assert Hint.from_text("2023年3月") == Hint(2023, 3)
    assert Hint.from_text("2023-03") == Hint(2023, 3)
    assert Hint.from_text("3月").or_else(Hint.from_text("某某鸡场 2023 年生产记录")) == Hint(2023, 3)


def test_csv_in_gb18030_or_with_a_bom_and_english_headers() -> None:
    text = "某某鸡场生产记录 2023年\n日期,死亡数,饲料(斤),饮水(L)\n3/4,2,600,300\n3/5,1,610,305\n合计,3,1210,605\n"
    for data in (text.encode("gb18030"), ("\ufeff" + text).encode("utf-8")):
        read = read_book(data, "book.csv")
        assert [(d.day, d.values) for d in read.days] == [
            (date(2023, 3, 4), {"deaths": 2, "feed_kg": 300.0, "water_l": 300.0}),
            (date(2023, 3, 5), {"deaths": 1, "feed_kg": 305.0, "water_l": 305.0})]
    read = read_book(b"Date,Deaths,Culls,Eggs\n2023-03-04,1,0,950\n", "b.csv")
    assert read.days[0].values == {"deaths": 1, "culls": 0, "eggs": 950}


def test_the_user_corrects_a_column() -> None:
    text = "日子,死亡,料\n2023-03-04,1,30\n2023-03-05,2,31\n"
    with pytest.raises(BookError) as err:
        read_book(text.encode(), "b.csv")  # no column is recognised as the date
    assert err.value.code == "no_header"
    read = read_book(text.encode(), "b.csv", mapping=parse_mapping(["日子=date", "C=feed_kg"]))
    assert [c.field for c in read.columns] == ["date", "deaths", "feed_kg"]
    assert [c.recognised for c in read.columns] == ["ignore", "deaths", "ignore"]
    assert read.days[1].values == {"deaths": 2, "feed_kg": 31.0}
    # And maps a recognised one away.
    read = read_book(text.encode(), "b.csv", mapping={"日子": "date", "死亡": "culls"})
    assert read.days[0].values == {"culls": 1}
    with pytest.raises(BookError, match="unrecognised column mapping"):
        parse_mapping(["死亡=dead_birds"])


def test_cells_that_are_not_what_their_column_needs() -> None:
    text = "日期,死亡,饲料,存栏\n2023-03-04,1.5,-3,1000\n2023-03-05,x,30,999\n2023-03-06,,—,998\n2023-13-01,1,1,1\n"
    read = read_book(text.encode(), "b.csv")
    reasons = {(i.row, i.column, i.value): (i.reason(), i.reason("en"), i.action) for i in read.issues}
    assert reasons == {
        (2, "B", "1.5"): ("应为整数", "not a whole number", "row_skipped"),
        (2, "C", "-3"): ("不能是负数", "negative", "cell_skipped"),
        (3, "B", "x"): ("不是数字", "not a number", "row_skipped"),
        (5, "A", "2023-13-01"): ("不是日期（例如 2023-03-04、2023年3月4日、3/4）",
                                 "not a date (e.g. 2023-03-04, 2023年3月4日, 3/4)", "row_skipped"),
    }
    # A dash is an empty cell; the days whose deaths were unreadable keep their questions.
    assert [(d.day.day, d.values) for d in read.days] == [
        (4, {}), (5, {}), (6, {"deaths": None, "feed_kg": None, "birds": 998})]
    assert read.days[0].rejected == (("deaths", "1.5", "not_whole"), ("feed_kg", "-3", "negative"))


def test_files_that_are_not_books() -> None:
    for data, name, code in [(b"", "b.csv", "empty"), (b"\xd0\xcf\x11\xe0old", "b.xls", "old_xls"),
                             (b"PK\x03\x04broken", "b.xlsx", "not_xlsx"), (b"\xff\xfe\x00\x81\xff", "b.csv", "encoding"),
                             (b"a,b\n1,2\n", "b.csv", "no_header")]:
        with pytest.raises(BookError) as err:
            read_book(data, name)
        assert err.value.code == code, (name, err.value)
        assert err.value.text() != err.value.text("en")


def test_a_zip_bomb_is_refused_before_unpacking() -> None:
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/worksheets/sheet1.xml", b"\0" * (MAX_UNPACKED + 1))
    assert len(packed.getvalue()) < 200_000
    with pytest.raises(BookError) as err:
        read_book(packed.getvalue(), "b.xlsx")
    assert err.value.code == "too_large"


def _save(wb: Workbook) -> bytes:
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()



@settings(max_examples=60, deadline=None)
@given(st.data())
def test_a_damaged_workbook_is_one_clear_error(data: st.DataObject) -> None:
    """Bytes of a real workbook flipped at random: the book reads, or says it is not one; never a crash."""
    raw = bytearray(_WORKBOOK)
    for _ in range(data.draw(st.integers(1, 8))):
        at = data.draw(st.integers(0, len(raw) - 1))
        raw[at] = data.draw(st.integers(0, 255))
    try:
        read_book(bytes(raw), "b.xlsx")
    except BookError as exc:
        assert exc.text() and exc.text("en")


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=400) | st.text(max_size=400).map(lambda t: t.encode("gb18030")))
def test_random_csv_bytes_are_one_clear_error(raw: bytes) -> None:
    try:
        read_book(raw, "b.csv")
    except BookError as exc:
        assert exc.text() and exc.text("en")


_WORKBOOK = farm_book(START, 20).xlsx()


def test_a_row_under_the_header_that_would_rename_the_date_column_is_no_sub_header() -> None:
    # Read as a sub-header, 死亡 under 日期 would make column A the deaths and leave no date
    # (the fuzz test found this raising StopIteration): the top row alone is the header.
    wb = Workbook()
    ws = wb.active
    ws.append(["日期", "死亡"])
    ws.append(["死亡", "淘汰"])
    ws.append(["2023/3/4", 2])
    read = read_book(_save(wb), "b.xlsx")
    assert [(d.day, d.values) for d in read.days] == [(date(2023, 3, 4), {"deaths": 2})]
    assert not [i for i in read.issues if i.code.startswith("sheet_")]
