"""Small builders for rule inputs, so each test states only what it is about."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

from cloud.alerts.model import DailyRecord, FlockContext, FlockHistory

D0 = date(2025, 3, 1)
T0 = datetime(2025, 3, 1, 0, 0, tzinfo=UTC)


def day(n: int) -> date:
    return D0 + timedelta(days=n)


def flock(
    deaths: list[int],
    birds_placed: int = 1000,
    water: Sequence[float | None] | None = None,
    feed: Sequence[float | None] | None = None,
    weights: Sequence[float | None] | None = None,
    uniformity: Sequence[float | None] | None = None,
    eggs: Sequence[int | None] | None = None,
    breed: str | None = None,
    placed_on: date | None = D0,
    skip: set[int] | None = None,
) -> FlockHistory:
    """A flock history from parallel daily lists starting on D0; `skip` leaves days out."""
    records = []
    for i, dead in enumerate(deaths):
        if skip and i in skip:
            continue
        records.append(
            DailyRecord(
                day=day(i),
                deaths=dead,
                water_l=None if water is None else water[i],
                feed_kg=None if feed is None else feed[i],
                mean_weight_g=None if weights is None else weights[i],
                uniformity_pct=None if uniformity is None else uniformity[i],
                eggs=None if eggs is None else eggs[i],
            )
        )
    ctx = FlockContext("farm-1", "h1", birds_placed, breed=breed, placed_on=placed_on)
    return FlockHistory(ctx, records)


def poisson(rng: random.Random, lam: float) -> int:
    if lam > 30:  # normal approximation; Knuth's method underflows for large lam
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def ordinary_csv(
    birds: int, days: int, seed: int, spike_day: int | None = None, with_birds: bool = False
) -> str:
    """A flock losing about one bird in 4,000 a day, optionally with a one-day 2 % spike."""
    rng = random.Random(seed)
    alive = birds
    lines = ["date,deaths" + (",birds" if with_birds else "")]
    for i in range(days):
        dead = math.ceil(0.02 * alive) if i == spike_day else poisson(rng, alive / 4000)
        lines.append(f"{day(i).isoformat()},{dead}" + (f",{alive}" if with_birds else ""))
        alive -= dead
    return "\n".join(lines) + "\n"
