"""A farm's daily history for the rules, from its own book (CSV or Excel, our column names or
the farm's), as real records come: blank cells, gaps, typos, duplicate dates, rows out of order.
The book is read by `cloud.records` (the one reader); every problem is reported, nothing good lost.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date

from cloud.alerts.model import DailyRecord, Suspect
from cloud.records import BookError, BookRead, read_book
from cloud.records.text import say

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
# How the rules' reports name what was done (the reader's actions, worded for a backtest).
_ACTIONS = {"no_record": "judged without them"}


class RecordsError(ValueError):
    """The file cannot be used at all (unreadable, no date or deaths column, no usable rows)."""


@dataclass(frozen=True)
class Problem:
    line: int  # 1-based line in the file (row in its sheet); 0 for file-level notes
    column: str | None
    value: str | None
    reason: str
    action: str  # what was done about it: "row skipped", "cell skipped", "merged", ...
    sheet: str = ""

    def __str__(self) -> str:
        where = (f"sheet {self.sheet!r} " if self.sheet else "") + (f"line {self.line}" if self.line else "file")
        if self.sheet and not self.line:
            where = f"sheet {self.sheet!r}"
        cell = f" column {self.column}" if self.column else ""
        shown = f" {self.value!r}" if self.value is not None else ""
        return f"{where}{cell}:{shown} {self.reason} ({self.action})"

    def to_dict(self) -> dict[str, object]:
        return {
            "sheet": self.sheet,
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
    """Our CSV (or a farm's) as text."""
    return parse_book(text.encode("utf-8"), "records.csv")


def parse_book(data: bytes, filename: str, sheet: str | None = None,
               mapping: dict[str, str] | None = None) -> ParsedRecords:
    """A `.csv` (UTF-8 or GB18030) or `.xlsx` book, Chinese or English headers."""
    try:
        book = read_book(data, filename, sheet, mapping)
    except BookError as exc:
        raise RecordsError(str(exc)) from None
    return from_book(book)


def from_book(book: BookRead) -> ParsedRecords:
    missing = [c for c in REQUIRED if c not in book.fields]
    if missing:
        header = [c.key for c in book.columns]
        raise RecordsError(f"missing column(s) {', '.join(missing)}; header is {header}")
    out = ParsedRecords(records=[], counters=Counter(book.counters))
    for issue in book.issues:
        out.problems.append(Problem(issue.row, issue.field or issue.header, issue.value, issue.reason("en"),
                                    _ACTIONS.get(issue.action, say(issue.action, "en")), issue.sheet))
    for row in book.days:
        if row.rejected:
            out.suspects[row.day] = [Suspect(row.day, name, raw, say(code, "en").split(" (")[0])
                                     for name, raw, code in row.rejected]
        if not row.values:
            continue
        v = row.values
        deaths = v.get("deaths")
        if deaths is None:
            # Many farm books leave the box empty on a day without losses.
            out.counters["blank_deaths_read_as_zero"] += 1
            deaths = 0
        out.records.append(DailyRecord(
            day=row.day,
            deaths=int(deaths),
            birds=_int(v.get("birds")),
            water_l=_float(v.get("water_l")),
            feed_kg=_float(v.get("feed_kg")),
            mean_weight_g=_float(v.get("mean_weight_g")),
            uniformity_pct=_float(v.get("uniformity_pct")),
            eggs=_int(v.get("eggs")),
        ))
    if not out.records:
        raise RecordsError("no usable rows (every row lacked a valid date and deaths)")
    return out


def _int(value: float | int | None) -> int | None:
    return None if value is None else int(value)


def _float(value: float | int | None) -> float | None:
    return None if value is None else float(value)
