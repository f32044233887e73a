"""A farm's own usual level and day-to-day spread, learned from its recent records.

One fixed percentage for every farm either floods a noisy free-range farm with alarms or
sleeps through a real drop on a steady layer house. So each series is judged against its
own trailing window with robust statistics: the level is the median of the recent values
carried forward along the median daily trend (growing broilers drink ~5 % more each day),
the spread is the scaled median absolute deviation (MAD) around that line. A late egg
collection or a one-off typo moves neither.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Protocol

from cloud.alerts.model import DailyRecord
from cloud.alerts.thresholds import BaselineThresholds

# Scale factor that makes the MAD a consistent estimate of a normal standard deviation.
MAD_TO_SD = 1.4826



class Days(Protocol):
    """Anything that hands out a day's record: a FlockHistory, or the screen's book so far."""

    def get(self, day: date) -> DailyRecord | None: ...


Series = Callable[[Days, date], float | None]


@dataclass(frozen=True)
class Level:
    """Expected log-value at the judged day and the spread of log-values around it."""

    log_level: float
    spread: float  # robust SD of log-values (fractional day-to-day variability)
    points: int
    slope: float = 0.0  # log-change per day (a growing flock's trend)

    def ahead(self, days: int) -> Level:
        """The same level carried `days` further along its trend."""
        return Level(self.log_level + self.slope * days, self.spread, self.points, self.slope)

    @property
    def value(self) -> float:
        return math.exp(self.log_level)


def single(name: str) -> Series:
    """One day's value of a record field."""

    def get(history: Days, day: date) -> float | None:
        record = history.get(day)
        return _positive(None if record is None else getattr(record, name))

    return get


def two_day(name: str) -> Series:
    """The day's value plus the day before's: a late collection moves eggs between the two."""

    def get(history: Days, day: date) -> float | None:
        a, b = history.get(day), history.get(day - timedelta(days=1))
        if a is None or b is None:
            return None
        x, y = getattr(a, name), getattr(b, name)
        return _positive(None if x is None or y is None else x + y)

    return get


def learn(
    history: Days, day: date, series: Series, th: BaselineThresholds, trend: bool = True
) -> Level | None:
    """Usual level of `series` at `day` from the days before it (not `day` itself).

    The window stops at a long run of missing days: before it stood another flock.
    `trend=False`: the series carries no trend of its own (a value over its growth-expected
    one), so its level is the plain median and `th.flat_min_days` points are enough.
    """
    points: list[tuple[int, float]] = []
    missing = 0
    for offset in range(1, th.window_days + 1):
        value = series(history, day - timedelta(days=offset))
        if value is None:
            missing += 1
            if missing >= th.max_gap_days:
                break
            continue
        missing = 0
        points.append((offset, math.log(value)))
    if len(points) < (th.min_days if trend else th.flat_min_days):
        return None
    return fit(points, th.trend_days) if trend else fit_flat(points, th.trend_days)


def fit(points: list[tuple[int, float]], recent: int = 7) -> Level:
    """Level at offset 0 from the `recent` newest points along their median pairwise slope
    (Theil-Sen: a growing flock's trend, unmoved by one odd day); spread from all points.

    `points` are (days before the judged day, log value), newest first. Only the newest
    week sets the level and the trend: a broiler's growth slows week by week, and a trend
    from three weeks back would expect too much today.
    """
    near = points[:recent]
    slopes = [
        (y0 - y1) / (t1 - t0)
        for i, (t0, y0) in enumerate(near)
        for (t1, y1) in near[i + 1 :]
        if t1 > t0
    ]
    slope = statistics.median(slopes) if slopes else 0.0
    level = statistics.median(y + slope * t for t, y in near)
    spread = MAD_TO_SD * statistics.median(abs(y + slope * t - level) for t, y in points)
    return Level(level, spread, len(points), slope)


def fit_flat(points: list[tuple[int, float]], recent: int = 7) -> Level:
    """Level as the median of the `recent` newest points, no trend; spread from all points."""
    level = statistics.median(y for _, y in points[:recent])
    spread = MAD_TO_SD * statistics.median(abs(y - level) for _, y in points)
    return Level(level, spread, len(points), 0.0)


def per_expected(series: Series, expected: Callable[[date], float | None], days: int = 1) -> Series:
    """`series` over its expected value (the sum of `days` days' expectations up to the day)."""

    def get(history: Days, day: date) -> float | None:
        value = series(history, day)
        shares = [expected(day - timedelta(days=n)) for n in range(days)]
        if value is None or any(s is None or s <= 0 for s in shares):
            return None
        return value / sum(s for s in shares if s is not None)

    return get


def deviation(value: float, level: Level) -> float:
    """Log ratio of a value to the usual level: -0.105 is 10 % under."""
    return math.log(value) - level.log_level


def pct_below(value: float, level: Level) -> float:
    return 100.0 * (1 - value / level.value)


def _positive(value: float | int | None) -> float | None:
    return None if value is None or value <= 0 else float(value)


def record_value(record: DailyRecord | None, name: str) -> float | None:
    return _positive(None if record is None else getattr(record, name))
