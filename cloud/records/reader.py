"""Reading a book: find each sheet's header row, map its columns, read every day, report every cell.

Title rows above the header give the year (and month) for year-less dates; totals rows
(合计/总计/total) and notes at the bottom are left out; every cell that is not what its
column needs is reported with its sheet, row, column and reason, and the rest of the row is kept.
"""

from __future__ import annotations

import dataclasses
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

from cloud.records import columns as cols
from cloud.records.dates import Hint, parse_day
from cloud.records.grid import Grid, GridError, load
from cloud.records.text import say

HEADER_SEARCH_ROWS = 30
_TOTALS = ("合计", "总计", "小计", "累计", "平均", "total", "sum", "average", "mean")
_BLANKS = {"", "-", "--", "—", "——", "/", "无", "n/a", "na", "none"}


class BookError(ValueError):
    """The book cannot be used at all; `text(lang)` says why in the user's language."""

    def __init__(self, code: str, **params: object) -> None:
        super().__init__(say(code, "en", params))
        self.code = code
        self.params = params

    def text(self, lang: str = "zh-CN") -> str:
        return say(self.code, lang, self.params)


@dataclass(frozen=True)
class Issue:
    """A rejected cell or row, or a note about the book (a merged day, missing days, a sheet left out)."""

    sheet: str
    row: int  # 1-based row (the line, in a CSV); 0 for the whole sheet or book
    column: str | None  # column letter
    header: str | None
    field: str | None
    value: str | None  # as written
    code: str
    action: str
    params: Mapping[str, object] = dataclasses.field(default_factory=dict)

    @property
    def rejected(self) -> bool:
        return self.action in ("row_skipped", "cell_skipped")

    def reason(self, lang: str = "zh-CN") -> str:
        return say(self.code, lang, self.params)

    def to_dict(self, lang: str = "zh-CN") -> dict[str, object]:
        return {"sheet": self.sheet, "row": self.row, "column": self.column, "header": self.header,
                "field": self.field, "value": self.value, "reason": self.reason(lang),
                "action": say(self.action, lang), "code": self.code}


@dataclass
class Column:
    """How one column (by its header, on every sheet that has it) was understood."""

    key: str  # the header as written (or the column letter where the header is blank)
    letter: str
    field: str  # a field of cols.FIELDS or cols.IGNORE
    recognised: str  # what the header alone said (cols.IGNORE when nothing)
    unit: str | None
    factor: float
    sheets: list[str]
    samples: list[str]

    def to_dict(self) -> dict[str, object]:
        return {"column": self.key, "letter": self.letter, "field": self.field,
                "recognised": self.recognised, "unit": self.unit, "factor": self.factor,
                "sheets": self.sheets, "samples": self.samples}


@dataclass(frozen=True)
class DayRow:
    day: date
    sheet: str
    row: int
    values: dict[str, float | int | None]  # every mapped field; None where blank or rejected
    rejected: tuple[tuple[str, str, str], ...] = ()  # (field, value as written, reason code)


@dataclass
class BookRead:
    days: list[DayRow]
    columns: list[Column]
    issues: list[Issue]
    counters: Counter[str]
    sheets: list[str]  # the sheets read
    rows_read: int  # data rows: dated or rejected, not titles, totals, notes or blanks

    @property
    def fields(self) -> set[str]:
        return {c.field for c in self.columns if c.field != cols.IGNORE}

    @property
    def rejected(self) -> list[Issue]:
        return [i for i in self.issues if i.rejected]


def parse_mapping(items: Iterable[str]) -> dict[str, str]:
    """`COLUMN=field` pairs (a header as written, or a column letter) from the command line or a form."""
    out: dict[str, str] = {}
    for item in items:
        column, sep, name = item.rpartition("=")
        name = name.strip()
        if not sep or not column.strip() or name not in (*cols.FIELDS, cols.IGNORE):
            raise BookError("bad_mapping", item=item, fields=", ".join((*cols.FIELDS, cols.IGNORE)))
        out[column.strip()] = name
    return out


def read_book(data: bytes, filename: str, sheet: str | None = None,
              mapping: Mapping[str, str] | None = None) -> BookRead:
    """Read every sheet of the first sheet's layout (or only `sheet`); `mapping` overrides columns."""
    if not data.strip():
        raise BookError("empty")
    try:
        grids = load(data, filename)
    except GridError as exc:
        raise BookError(exc.code, **exc.params) from None
    if sheet is not None:
        chosen = [g for g in grids if g.sheet == sheet]
        if not chosen:
            raise BookError("sheet_not_found", sheet=sheet, sheets=", ".join(g.sheet for g in grids))
        grids = chosen
    overrides = dict(mapping or {})
    out = BookRead([], [], [], Counter(), [], 0)
    by_key: dict[str, Column] = {}
    layout: tuple[str, set[str]] | None = None
    rows: list[DayRow] = []
    first_rows: list[str] = []
    for grid in grids:
        if not any(any(_text(c) for c in r) for r in grid.rows):
            continue
        found = _header(grid, overrides)
        if found is None:
            first_rows += [" ".join(_text(c) for c in r if _text(c))[:60] for r in grid.rows[:3] if any(r)]
            out.issues.append(Issue(grid.sheet, 0, None, None, None, None, "sheet_no_header", "sheet_skipped"))
            continue
        at, sheet_cols = found
        fields = {c.field for c in sheet_cols if c.field != cols.IGNORE}
        if layout is None:
            layout = (grid.sheet, fields)
        elif fields != layout[1]:
            out.issues.append(Issue(grid.sheet, 0, None, None, None, None, "sheet_other_layout",
                                    "sheet_skipped", {"first": layout[0]}))
            continue
        out.sheets.append(grid.sheet)
        for c in sheet_cols:
            known = by_key.setdefault(c.key, c)
            if grid.sheet not in known.sheets:
                known.sheets.append(grid.sheet)
        rows += _read_sheet(grid, at, sheet_cols, out)
    if layout is None:
        raise BookError("no_header", first_rows=" | ".join(first_rows[:3]) or "-")
    out.columns = list(by_key.values())
    if not rows:
        raise BookError("no_rows")
    out.days = _merge_days(rows, out)
    _note_gaps(out)
    return out


def _text(value: Any) -> str:
    return "" if value is None else unicodedata.normalize("NFKC", str(value)).strip()


def _header(grid: Grid, overrides: Mapping[str, str]) -> tuple[int, list[Column]] | None:
    """The first row naming a date column and at least one other field, and its columns.

    A second header row under it (死淘 merged over 死亡 | 淘汰, 饲料消耗 over 总量(kg) | 只均(g))
    names each column more closely: its name wins where it is recognised alone, else the two
    read together. Returns the last header row.
    """
    for r, row in enumerate(grid.rows[:HEADER_SEARCH_ROWS]):
        found = _columns(grid, r, row, overrides)
        fields = [c.field for c in found]
        if "date" in fields and any(f not in ("date", cols.IGNORE) for f in fields):
            date_col = _index(next(c for c in found if c.field == "date").letter)
            grid.fill_merges(r + 1, date_col)
            if r + 1 < len(grid.rows) and _is_subheader(grid.rows[r + 1], date_col):
                grid.fill_merges(r + 2, date_col)
                both = _columns(grid, r + 1, _combined(grid.rows[r], grid.rows[r + 1]), overrides)
                if any(c.field == "date" for c in both):  # else the row under was no sub-header
                    return r + 1, both
            return r, _columns(grid, r, grid.rows[r], overrides)
    return None


def _is_subheader(row: list[Any], date_col: int) -> bool:
    cells = [_text(c) for c in row]
    if not any(cells) or any(isinstance(c, int | float) and not isinstance(c, bool) for c in row):
        return False
    if date_col < len(row) and parse_day(row[date_col], Hint()) is not None:
        return False
    return not any(_number_like(c) for i, c in enumerate(row) if i != date_col)


def _combined(top: list[Any], sub: list[Any]) -> list[str]:
    names = []
    for c in range(max(len(top), len(sub))):
        upper = _text(top[c]) if c < len(top) else ""
        lower = _text(sub[c]) if c < len(sub) else ""
        if not lower or lower == upper:
            names.append(upper)
        elif not upper or cols.recognise(lower) is not None:
            names.append(lower)
        else:
            names.append(f"{upper} {lower}")
    return names


def get_column_letter(number: int) -> str:
    """1 -> A, 27 -> AA, as spreadsheets name their columns."""
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _index(letter: str) -> int:
    n = 0
    for ch in letter:
        n = n * 26 + ord(ch) - 64
    return n - 1


def _columns(grid: Grid, r: int, row: list[Any], overrides: Mapping[str, str]) -> list[Column]:
    found: list[Column] = []
    taken: set[str] = set()
    for c, cell in enumerate(row):
        header = _text(cell)
        letter = get_column_letter(c + 1)
        key = header or letter
        seen = cols.recognise(header)
        auto = seen.field if seen else cols.IGNORE
        chosen = overrides.get(key, overrides.get(letter, auto))
        if not header and chosen == cols.IGNORE:
            continue
        if chosen in taken and chosen != cols.IGNORE:
            chosen = cols.IGNORE  # a second column of the same field: the first one counts
        factor, unit = cols.factor_for(header, chosen) if chosen != cols.IGNORE else (1.0, None)
        taken.add(chosen)
        samples = [_text(grid.rows[i][c]) for i in range(r + 1, min(len(grid.rows), r + 8))
                   if c < len(grid.rows[i]) and _text(grid.rows[i][c])][:3]
        found.append(Column(key, letter, chosen, auto, unit, factor, [grid.sheet], samples))
    return found


def _read_sheet(grid: Grid, at: int, sheet_cols: list[Column], out: BookRead) -> list[DayRow]:
    titles = [_text(c) for r in grid.rows[:at] for c in r if _text(c)]
    hint = Hint.from_text(grid.sheet).or_else(Hint.from_text(*titles))
    mapped = [(c, _index(c.letter)) for c in sheet_cols if c.field != cols.IGNORE]
    date_col = next(i for c, i in mapped if c.field == "date")  # `_header` found one
    days: list[DayRow] = []
    for r in range(at + 1, len(grid.rows)):
        row = grid.rows[r]
        cells = {c.field: (c, row[i] if i < len(row) else None) for c, i in mapped}
        if not any(_text(v) for _, v in cells.values()):
            continue
        if _is_totals(row):
            out.counters["totals_rows"] += 1
            continue
        raw_day = row[date_col] if date_col < len(row) else None
        day = parse_day(raw_day, hint)
        numbers = any(_number_like(v) for f, (_, v) in cells.items() if f != "date")
        if day is None and not numbers:
            out.counters["note_rows"] += 1  # "记录人：张三" and the like under the table
            continue
        out.rows_read += 1
        date_column = cells["date"][0]
        if day is None:
            code = "no_date" if not _text(raw_day) else "not_date"
            out.issues.append(Issue(grid.sheet, r + 1, date_column.letter, date_column.key, "date",
                                    _text(raw_day) or None, code, "row_skipped"))
            out.counters["rejected_rows"] += 1
            continue
        values: dict[str, float | int | None] = {}
        rejected: list[tuple[str, str, str]] = []
        skip_row = False
        for name, (column, raw) in cells.items():
            if name == "date":
                continue
            number = _number(raw, column.factor, name in cols.INTEGER_FIELDS)
            if isinstance(number, str):
                action = "row_skipped" if name == "deaths" else "cell_skipped"
                out.issues.append(Issue(grid.sheet, r + 1, column.letter, column.key, name, _text(raw),
                                        number, action))
                out.counters["rejected_cells"] += 1
                rejected.append((name, _text(raw), number))
                values[name] = None
                skip_row = skip_row or name == "deaths"
                continue
            values[name] = number
        if skip_row:
            out.counters["rejected_rows"] += 1
            # The day still carries its unreadable cells: a question for whoever wrote them.
            days.append(DayRow(day, grid.sheet, r + 1, {}, tuple(rejected)))
            continue
        days.append(DayRow(day, grid.sheet, r + 1, values, tuple(rejected)))
    if grid.broken_at is not None:
        out.issues.append(Issue(grid.sheet, grid.broken_at, None, None, None, None, "broken_csv",
                                "rest_skipped"))
        out.counters["unreadable_tail"] += 1
    return days


def _is_totals(row: list[Any]) -> bool:
    words = [_text(c).lower().replace(" ", "") for c in row[:4] if isinstance(c, str)]
    return any(w.startswith(_TOTALS) or w in _TOTALS for w in words if w)


def _number_like(value: Any) -> bool:
    return isinstance(value, int | float) or bool(re.search(r"\d", _text(value)))


def _number(raw: Any, factor: float, integer: bool) -> float | int | None | str:
    """The value in our unit, None when blank, or the reason code when it is not a number we trust."""
    if isinstance(raw, bool):
        return "not_number"
    if isinstance(raw, int | float):
        value = float(raw)
    else:
        text = _text(raw).replace(",", "").replace(" ", "")
        if text.lower() in _BLANKS:
            return None
        try:
            value = float(text)
        except ValueError:
            return "not_number"
    if not math.isfinite(value):
        return "not_finite"
    if value < 0:
        return "negative"
    value *= factor
    if integer:
        if abs(value - round(value)) > 1e-9:
            return "not_whole"
        return int(round(value))
    return value



def _merge_days(rows: list[DayRow], out: BookRead) -> list[DayRow]:
    """Two rows for one day (morning and evening counts): counts added, the later levels kept."""
    by_day: dict[date, DayRow] = {}
    for row in rows:
        first = by_day.get(row.day)
        if first is None:
            by_day[row.day] = row
            continue
        if not row.values:  # a row left out for its deaths cell: only its questions join the day
            by_day[row.day] = replace(first, rejected=first.rejected + row.rejected)
            continue
        if not first.values:
            by_day[row.day] = replace(row, rejected=first.rejected + row.rejected)
            continue
        code = "same_day_cell" if first.sheet else "same_day_line"
        out.issues.append(Issue(row.sheet, row.row, None, None, "date", row.day.isoformat(), code,
                                "merged", {"first_sheet": first.sheet, "first_row": first.row}))
        out.counters["duplicate_dates"] += 1
        by_day[row.day] = replace(first, values=_add(first.values, row.values),
                                  rejected=first.rejected + row.rejected)
    return [by_day[d] for d in sorted(by_day)]


_LEVELS = {"birds", "mean_weight_g", "uniformity_pct"}


def _add(a: dict[str, float | int | None], b: dict[str, float | int | None]) -> dict[str, float | int | None]:
    merged = dict(a)
    for name, y in b.items():
        x = merged.get(name)
        if name in _LEVELS:
            merged[name] = y if y is not None else x
        else:
            merged[name] = y if x is None else x if y is None else x + y
    return merged


def _note_gaps(out: BookRead) -> None:
    for prev, cur in zip(out.days, out.days[1:], strict=False):
        gap = (cur.day - prev.day).days - 1
        if gap > 0:
            first = prev.day + timedelta(days=1)
            out.issues.append(Issue(cur.sheet, 0, None, None, None, None, "missing_days", "no_record",
                                    {"n": gap, "first": first.isoformat()}))
            out.counters["missing_days"] += gap
