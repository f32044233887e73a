"""Reading a farm's daily history from CSV, as real records come: blank cells, gaps,
typos, duplicate dates, rows out of order. Every problem is reported; nothing good is lost.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

from cloud.alerts.model import DailyRecord, Suspect

COLUMNS = (
    "date",
    "deaths",
    "birds",
    "water_l",
    "feed_kg",
    "mean_weight_g",
    "uniformity_pct",
    "eggs",
)
REQUIRED = ("date", "deaths")
# Headers as farmers and programme offices write them.
ALIASES = {
    "日期": "date",
    "死亡": "deaths",
    "死亡数": "deaths",
    "存栏": "birds",
    "饮水": "water_l",
    "饮水量": "water_l",
    "采食": "feed_kg",
    "饲料": "feed_kg",
    "均重": "mean_weight_g",
    "均匀度": "uniformity_pct",
    "产蛋": "eggs",
    "day": "date",
    "dead": "deaths",
    "mortality": "deaths",
}
_INTEGER = {"deaths", "birds", "eggs"}
_DATE = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$|^(\d{4})(\d{2})(\d{2})$")


class RecordsError(ValueError):
    """The file cannot be used at all (unreadable, no date or deaths column, no usable rows)."""


@dataclass(frozen=True)
class Problem:
    line: int  # 1-based line in the file; 0 for file-level notes
    column: str | None
    value: str | None
    reason: str
    action: str  # what was done about it: "row skipped", "cell skipped", "merged", ...

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line else "file"
        cell = f" column {self.column}" if self.column else ""
        shown = f" {self.value!r}" if self.value is not None else ""
        return f"{where}{cell}:{shown} {self.reason} ({self.action})"

    def to_dict(self) -> dict[str, object]:
        return {
            "line": self.line,
            "column": self.column,
            "value": self.value,
            "reason": self.reason,
            "action": self.action,
        }


@dataclass
class ParsedRecords:
    records: list[DailyRecord]
    problems: list[Problem] = field(default_factory=list)
    counters: Counter[str] = field(default_factory=Counter)
    # Cells of a dated row that were not numbers we can trust: questions for whoever wrote them.
    suspects: dict[date, list[Suspect]] = field(default_factory=dict)


def parse_records(text: str) -> ParsedRecords:
    text = text.lstrip("\ufeff")
    header_line = text.split("\n", 1)[0]
    # Spreadsheet exports use ';' or tabs as often as commas; the header says which.
    delimiter = max((",", ";", "\t"), key=header_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise RecordsError("the file is empty") from None
    except csv.Error as exc:
        raise RecordsError(f"line 1: not CSV ({exc})") from None
    names = [_column(h) for h in header]
    missing = [c for c in REQUIRED if c not in names]
    if missing:
        raise RecordsError(f"missing column(s) {', '.join(missing)}; header is {header}")
    out = ParsedRecords(records=[])
    by_day: dict[date, tuple[int, DailyRecord]] = {}
    for line_no, row in enumerate(_rows(reader, out), start=2):
        if not any(cell.strip() for cell in row):
            continue
        record = _row(names, row, line_no, out)
        if record is None:
            continue
        if record.day in by_day:
            first_line, earlier = by_day[record.day]
            by_day[record.day] = (first_line, _merge(earlier, record))
            out.problems.append(
                Problem(
                    line_no,
                    "date",
                    record.day.isoformat(),
                    f"same date as line {first_line}",
                    "merged: counts added",
                )
            )
            out.counters["duplicate_dates"] += 1
        else:
            by_day[record.day] = (line_no, record)
    if not by_day:
        raise RecordsError("no usable rows (every row lacked a valid date and deaths)")
    out.records = [by_day[d][1] for d in sorted(by_day)]
    _note_gaps(out)
    return out


def _rows(reader: Any, out: ParsedRecords) -> Iterator[list[str]]:
    """Rows until the file stops being CSV; what came before is kept, the rest reported."""
    try:
        yield from reader
    except csv.Error as exc:  # e.g. a stray carriage return or quote mid-file
        out.problems.append(
            Problem(reader.line_num, None, None, f"not CSV ({exc})", "rest of file skipped")
        )
        out.counters["unreadable_tail"] += 1


def _column(header: str) -> str:
    name = header.strip().lower()
    return ALIASES.get(header.strip(), ALIASES.get(name, name))


def _row(names: list[str], row: list[str], line: int, out: ParsedRecords) -> DailyRecord | None:
    cells = {
        name: (row[i].strip() if i < len(row) else "")
        for i, name in enumerate(names)
        if name in COLUMNS
    }
    day = _parse_date(cells.get("date", ""))
    if day is None:
        out.problems.append(
            Problem(
                line, "date", cells.get("date", ""), "not a date (use YYYY-MM-DD)", "row skipped"
            )
        )
        out.counters["bad_rows"] += 1
        return None
    values: dict[str, float | int | None] = {}
    for name in COLUMNS[1:]:
        raw = cells.get(name, "")
        if raw == "":
            values[name] = None
            continue
        number = _parse_number(raw, integer=name in _INTEGER)
        if isinstance(number, str):
            out.suspects.setdefault(day, []).append(Suspect(day, name, raw, number))
            if name == "deaths":
                out.problems.append(Problem(line, name, raw, number, "row skipped"))
                out.counters["bad_rows"] += 1
                return None
            out.problems.append(Problem(line, name, raw, number, "cell skipped"))
            out.counters["bad_cells"] += 1
            values[name] = None
            continue
        values[name] = number
    deaths = values.pop("deaths")
    if deaths is None:
        # Many farm books leave the box empty on a day without losses.
        out.counters["blank_deaths_read_as_zero"] += 1
        deaths = 0
    return DailyRecord(
        day=day,
        deaths=int(deaths),
        birds=_int(values["birds"]),
        water_l=_float(values["water_l"]),
        feed_kg=_float(values["feed_kg"]),
        mean_weight_g=_float(values["mean_weight_g"]),
        uniformity_pct=_float(values["uniformity_pct"]),
        eggs=_int(values["eggs"]),
    )


def _parse_date(raw: str) -> date | None:
    # Exports often carry a time ("2025-03-01 00:00:00", "2025-03-01T08:00"): the day is enough.
    raw = raw.replace("T", " ").split(" ", 1)[0]
    match = _DATE.match(raw)
    if not match:
        return None
    groups = [g for g in match.groups() if g is not None]
    try:
        return date(int(groups[0]), int(groups[1]), int(groups[2]))
    except ValueError:
        return None


def _parse_number(raw: str, integer: bool) -> float | int | str:
    """The number, or a reason string when the cell is not one we can trust."""
    try:
        value = float(raw)
    except ValueError:
        return "not a number"
    if not math.isfinite(value):
        return "not a finite number"
    if value < 0:
        return "negative"
    if integer:
        if value != int(value):
            return "not a whole number"
        return int(value)
    return value


def _int(value: float | int | None) -> int | None:
    return None if value is None else int(value)


def _float(value: float | int | None) -> float | None:
    return None if value is None else float(value)


def _merge(a: DailyRecord, b: DailyRecord) -> DailyRecord:
    """Two rows for one day (morning and evening counts): add counts, keep the later levels."""

    def add(x: float | int | None, y: float | int | None) -> float | int | None:
        return y if x is None else x if y is None else x + y

    return replace(
        a,
        deaths=a.deaths + b.deaths,
        water_l=_float(add(a.water_l, b.water_l)),
        feed_kg=_float(add(a.feed_kg, b.feed_kg)),
        eggs=_int(add(a.eggs, b.eggs)),
        birds=b.birds if b.birds is not None else a.birds,
        mean_weight_g=b.mean_weight_g if b.mean_weight_g is not None else a.mean_weight_g,
        uniformity_pct=b.uniformity_pct if b.uniformity_pct is not None else a.uniformity_pct,
    )


def _note_gaps(out: ParsedRecords) -> None:
    for prev, cur in zip(out.records, out.records[1:], strict=False):
        gap = (cur.day - prev.day).days - 1
        if gap > 0:
            first_missing = prev.day + timedelta(days=1)
            out.problems.append(
                Problem(
                    0,
                    None,
                    None,
                    f"{gap} day(s) missing from {first_missing}",
                    "judged without them",
                )
            )
            out.counters["missing_days"] += gap
