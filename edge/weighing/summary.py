"""Daily flock statistics from accepted per-bird weights (pure)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta

import numpy as np

from farming.growth import UNIFORMITY_BAND
from protocol import WeighingSummary


def local_date(ts_ms: int, utc_offset_h: float) -> date:
    return (datetime.fromtimestamp(ts_ms / 1000, tz=UTC) + timedelta(hours=utc_offset_h)).date()


def summarize(weights_g: Iterable[float], expected_g: float | None = None, day: date | None = None,
              house: str | None = None) -> WeighingSummary:
    """Count, mean, median, SD, CV % and uniformity (share within ±10 % of the mean)."""
    g = np.fromiter(weights_g, dtype=float)
    if len(g) == 0:
        raise ValueError("no weights to summarise")
    mean = float(g.mean())
    sd = float(g.std(ddof=1)) if len(g) > 1 else 0.0
    uniform = float(np.mean(np.abs(g - mean) <= UNIFORMITY_BAND * mean) * 100.0)
    return WeighingSummary(
        date=day or date(1970, 1, 1),
        house=house,
        count=len(g),
        mean_g=round(mean, 1),
        median_g=round(float(np.median(g)), 1),
        sd_g=round(sd, 1),
        cv_pct=round(sd / mean * 100.0, 2) if mean > 0 else 0.0,
        uniformity_pct=round(uniform, 1),
        expected_g=round(expected_g, 1) if expected_g else None,
    )


def daily_summaries(
    weights: Iterable[tuple[int, float]],
    utc_offset_h: float = 8.0,
    expected_at: Callable[[int], float] | None = None,
    house: str | None = None,
) -> list[WeighingSummary]:
    """One summary per local calendar day, in date order."""
    by_day: dict[date, list[float]] = defaultdict(list)
    first_ts: dict[date, int] = {}
    for ts, g in weights:
        d = local_date(ts, utc_offset_h)
        by_day[d].append(g)
        first_ts.setdefault(d, ts)
    out = []
    for d in sorted(by_day):
        noon_ms = int((datetime(d.year, d.month, d.day, 12, tzinfo=UTC)
                       - timedelta(hours=utc_offset_h)).timestamp() * 1000)
        expected = expected_at(noon_ms) if expected_at else None
        out.append(summarize(by_day[d], expected, d, house))
    return out
