"""Screening written records before any rule sees them: values that cannot be right.

A slipped decimal point, more eggs than hens, two columns swapped, two days written in one
row: each is a question for the person who wrote it (a `record_suspect` finding), and the
value is left out of the rules and of every baseline, so one typo neither alarms about the
birds nor shifts the farm's usual level. Each day is judged only against the screened days
before it, as the live engine would have seen them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace
from datetime import date, timedelta

from cloud.alerts.model import DailyRecord, FlockContext, FlockHistory, Suspect
from cloud.alerts.rules.baseline import Level, learn, single
from cloud.alerts.thresholds import DEFAULTS, Thresholds

_LEVELLED = ("water_l", "feed_kg", "eggs")
_SWAP = ("deaths", "water_l", "feed_kg", "eggs")
_DEATHS_WINDOW = 14


class _Book:
    """The screened records so far, by day."""

    def __init__(self) -> None:
        self.by_day: dict[date, DailyRecord] = {}

    def get(self, day: date) -> DailyRecord | None:
        return self.by_day.get(day)


def screen(
    context: FlockContext,
    records: list[DailyRecord],
    th: Thresholds = DEFAULTS,
    noted: Mapping[date, list[Suspect]] | None = None,
) -> FlockHistory:
    """The flock history with unbelievable values taken out and listed as suspects.

    `noted` are values the file reader already rejected (not a number, not whole, negative).
    """
    book = _Book()
    suspects: dict[date, list[Suspect]] = {d: list(s) for d, s in (noted or {}).items()}
    dead_so_far = 0
    for record in sorted(records, key=lambda r: r.day):
        alive = record.birds if record.birds else context.birds_placed - dead_so_far
        found = _judge(book, record, alive, th)
        clean = record
        for column, reason in found:
            written = getattr(record, column)
            suspects.setdefault(record.day, []).append(
                Suspect(record.day, column, _shown(written), reason)
            )
            clean = _without(clean, column)
        book.by_day[record.day] = clean
        dead_so_far += clean.deaths
    return FlockHistory(
        context,
        [book.by_day[d] for d in sorted(book.by_day)],
        {d: tuple(s) for d, s in suspects.items() if s},
    )


def _judge(
    book: _Book, record: DailyRecord, alive: int, th: Thresholds
) -> list[tuple[str, str]]:
    rt = th.records
    levels: dict[str, Level | None] = {
        c: learn(book, record.day, single(c), th.baseline) for c in _LEVELLED
    }
    usual_deaths = _usual_deaths(book, record.day)
    found: dict[str, str] = {}
    if alive > 0 and record.deaths > alive:
        found["deaths"] = "more deaths than birds in the house"
    # One egg a hen a day; a late collection adds at most part of a day's to the next.
    if record.eggs is not None and alive > 0 and record.eggs > 2 * alive:
        found["eggs"] = "more than two eggs a hen"

    def fits(value: float | int | None, column: str) -> bool:
        if value is None:
            return False
        if column == "deaths":
            return value <= max(10.0, 3 * usual_deaths)
        level = levels[column]
        return (
            level is not None
            and value > 0
            and abs(math.log(value / level.value)) <= math.log(rt.fits_ratio)
        )

    known = [c for c in _SWAP if c == "deaths" or levels[c] is not None]
    for a in known:
        for b in known:
            va, vb = getattr(record, a), getattr(record, b)
            if a == b or a in found or va is None:
                continue
            if fits(va, a) or not fits(va, b):
                continue
            if vb is None and "deaths" in (a, b):
                # Rising deaths can match a blank column's usual level by chance (30 dead,
                # 30 kg of feed): never take the alarm's own signal away on that alone.
                continue
            if vb is not None and (not fits(vb, a) or fits(vb, b)):
                continue
            found[a] = f"fits {b}, not {a}: columns swapped?"
            if vb is not None:
                found[b] = f"fits {a}, not {b}: columns swapped?"

    # Two days in one row: after a missing day, every count about doubled (a real surge of
    # water in a heat wave comes with less feed, not twice as much).
    ratios = {
        c: getattr(record, c) / lv.value
        for c in _LEVELLED
        if (lv := levels[c]) is not None and (getattr(record, c) or 0) > 0 and c not in found
    }
    doubled = (
        book.get(record.day - timedelta(days=1)) is None
        and len(ratios) >= 2
        and all(rt.two_days_low <= r <= rt.two_days_high for r in ratios.values())
    )
    limits = {"water_l": rt.water_max_ratio, "feed_kg": rt.feed_max_ratio,
              "eggs": rt.eggs_max_ratio}
    for column, ratio in ratios.items():
        usual = f"{getattr(record, column) / ratio:.0f}"
        if rt.decimal_low <= ratio <= rt.decimal_high:
            found[column] = f"about 10 times the usual {usual}: decimal point?"
        elif rt.decimal_low <= 1 / ratio <= rt.decimal_high:
            found[column] = f"about a tenth of the usual {usual}: decimal point?"
        elif doubled:
            found[column] = "about two days' worth after a missing day: two days in one row?"
        elif ratio > limits[column]:
            found[column] = f"{ratio:.1f} times the usual {usual}: not believed"
    return list(found.items())


def _usual_deaths(book: _Book, day: date) -> float:
    values = [
        r.deaths
        for k in range(1, _DEATHS_WINDOW + 1)
        if (r := book.get(day - timedelta(days=k))) is not None
    ]
    return sum(values) / len(values) if values else 0.0


def _without(record: DailyRecord, column: str) -> DailyRecord:
    """The record with one value taken out (deaths, never optional, count as none that day)."""
    if column == "deaths":
        return replace(record, deaths=0)
    if column == "water_l":
        return replace(record, water_l=None)
    if column == "feed_kg":
        return replace(record, feed_kg=None)
    if column == "eggs":
        return replace(record, eggs=None)
    raise ValueError(f"no screened column {column!r}")


def _shown(value: object) -> str:
    return "" if value is None else str(value)
