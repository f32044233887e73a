"""A day from a date cell as farm books write it.

Real dates and Excel serials, `2023-03-04`, `2023/3/4`, `2023.3.4`, `20230304`,
`2023年3月4日`, and the year-less `3/4`, `3月4日` or a bare day of the month (`4`, `4日`),
whose year and month come from the sheet's name or the title above the header.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta

EXCEL_EPOCH = date(1899, 12, 30)  # Excel's day 0 (its 1900 leap-year bug included)
_SERIALS = range(20_000, 80_000)  # 1954 .. 2119: anything else in a date column is not a date

_FULL = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_MONTH_DAY = re.compile(r"^(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
_DAY_ONLY = re.compile(r"^(\d{1,2})\s*[日号]?$")
_YEAR = re.compile(r"(?<!\d)(19[5-9]\d|20\d\d)(?!\d)")
_YEAR_MONTH = re.compile(r"(?<!\d)(19[5-9]\d|20\d\d)\s*[-/.年_]\s*(\d{1,2})(?!\d)")
_MONTH_WORD = re.compile(r"(?<!\d)(\d{1,2})\s*月")


@dataclass(frozen=True)
class Hint:
    """What the sheet's name or title says about the period it covers."""

    year: int | None = None
    month: int | None = None

    @classmethod
    def from_text(cls, *texts: str) -> Hint:
        year = month = None
        for raw in texts:
            text = unicodedata.normalize("NFKC", raw)
            both = _YEAR_MONTH.search(text)
            if both and 1 <= int(both.group(2)) <= 12:
                return cls(int(both.group(1)), int(both.group(2)))
            if year is None and (found := _YEAR.search(text)):
                year = int(found.group(1))
            if month is None and (word := _MONTH_WORD.search(text)) and 1 <= int(word.group(1)) <= 12:
                month = int(word.group(1))
        return cls(year, month)

    def or_else(self, other: Hint) -> Hint:
        return Hint(self.year if self.year is not None else other.year,
                    self.month if self.month is not None else other.month)


def parse_day(value: object, hint: Hint) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        if value == int(value) and 1 <= value <= 31 and hint.year and hint.month:
            return _safe(hint.year, hint.month, int(value))
        if value == int(value) and int(value) in _SERIALS:
            return EXCEL_EPOCH + timedelta(days=int(value))
        return None
    text = unicodedata.normalize("NFKC", str(value)).strip()
    # Exports often carry a time ("2025-03-01 00:00:00", "2025-03-01T08:00"): the day is enough.
    text = re.split(r"[ T]\d{1,2}:\d{2}", text, maxsplit=1)[0].strip()
    if match := _FULL.match(text) or _COMPACT.match(text):
        return _safe(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    if (match := _MONTH_DAY.match(text)) and hint.year:
        return _safe(hint.year, int(match.group(1)), int(match.group(2)))
    if (match := _DAY_ONLY.match(text)) and hint.year and hint.month:
        return _safe(hint.year, hint.month, int(match.group(1)))
    if text.isdigit() and int(text) in _SERIALS:
        return EXCEL_EPOCH + timedelta(days=int(text))
    return None


def _safe(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None
