"""Judging what persists: a value out of line with the farm's own usual level, day after day.

A warning needs its condition on the judged day and on the day before, both against the
usual level learned before the day before (`lag=1` for the judged day): a baseline learned
through the first odd day would already have moved toward it. One odd entry (a late
collection, a meter read late) never alerts; a lasting change alerts on its second day.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from cloud.alerts.model import FlockHistory
from cloud.alerts.rules.baseline import Level, Series, learn
from cloud.alerts.thresholds import BaselineThresholds


@dataclass(frozen=True)
class Verdict:
    value: float
    usual: float
    change_pct: float  # + above the usual level, - below it
    limit_pct: float  # the change this farm's own spread allows (never under the floor)
    out_of_line: bool
    spread_pct: float


def below(
    history: FlockHistory,
    day: date,
    series: Series,
    floor_pct: float,
    th: BaselineThresholds,
    lag: int = 0,
    trend: bool = True,
) -> Verdict | None:
    """Is the day's value at least `floor_pct` (or the farm's spread) under its usual level,
    learned from the days before `day - lag`? (`trend`: see `baseline.learn`.)"""
    judged = _judge(history, day, series, th, lag, trend)
    if judged is None:
        return None
    value, level = judged
    limit = max(floor_pct, 100.0 * (1 - math.exp(-th.spread_k * level.spread)))
    change = 100.0 * (value / level.value - 1)
    return Verdict(value, level.value, change, limit, -change >= limit, 100.0 * level.spread)


def above(
    history: FlockHistory,
    day: date,
    series: Series,
    ratio: float,
    th: BaselineThresholds,
    lag: int = 0,
) -> Verdict | None:
    """Is the day's value at least `ratio` times (or the farm's spread) over its usual level,
    learned from the days before `day - lag`?"""
    judged = _judge(history, day, series, th, lag)
    if judged is None:
        return None
    value, level = judged
    limit = 100.0 * (max(ratio, math.exp(th.spread_k * level.spread)) - 1)
    change = 100.0 * (value / level.value - 1)
    return Verdict(value, level.value, change, limit, change >= limit, 100.0 * level.spread)


Judge = Callable[[date, int], "Verdict | None"]  # (day, lag) -> verdict


def persistent(judge: Judge, day: date, max_back: int = 3) -> tuple[Verdict | None, bool]:
    """Today's verdict, and whether it confirms the previous recorded day's.

    The previous day is the last one that could be judged, up to `max_back` days back: a
    day missing from the book (which leaves two two-day sums unknown) does not break the
    confirmation of a lasting change.
    Today is judged against the usual level learned before that previous day.
    """
    for back in range(1, max_back + 1):
        before = judge(day - timedelta(days=back), 0)
        if before is not None:
            today = judge(day, back)
            ok = today is not None and today.out_of_line and before.out_of_line
            return today, ok
    return judge(day, 1), False


def _judge(
    history: FlockHistory,
    day: date,
    series: Series,
    th: BaselineThresholds,
    lag: int,
    trend: bool = True,
) -> tuple[float, Level] | None:
    value = series(history, day)
    if value is None:
        return None
    level = learn(history, day - timedelta(days=lag), series, th, trend)
    return None if level is None else (value, level.ahead(lag))
