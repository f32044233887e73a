"""Expected body weight by age: breed standard tables and a per-farm Gompertz fit.

Tables are as-hatched weights, g, at days 0, 7, ..., 56 (DESIGN.md §5): Ross 308 from the
Aviagen performance objectives 2022, Cobb 500 from the 2022 supplement. Slow-growing local
breeds have no table; fit a Gompertz curve to the farm's own weighings instead.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

WEEKLY_DAYS = (0, 7, 14, 21, 28, 35, 42, 49, 56)
BREED_TABLES: dict[str, tuple[float, ...]] = {
    "ross308": (44, 213, 533, 1012, 1616, 2296, 2998, 3681, 4318),
    "cobb500": (42, 202, 570, 1116, 1783, 2521, 3278, 4001, 4641),
}

ExpectedWeight = Callable[[float], float]


def normalise_breed(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


def breed_curve(name: str | None) -> ExpectedWeight | None:
    """Expected weight (g) by age (days) for a known breed, or None."""
    if not name:
        return None
    table = BREED_TABLES.get(normalise_breed(name))
    if table is None:
        return None
    return lambda age: _interpolate(WEEKLY_DAYS, table, age)


def known_breeds() -> list[str]:
    return sorted(BREED_TABLES)


def _interpolate(xs: Sequence[float], ys: Sequence[float], x: float) -> float:
    if x <= xs[0]:
        return float(ys[0])
    for i in range(1, len(xs)):
        if x == xs[i]:
            return float(ys[i])
        if x < xs[i]:
            x0, x1, y0, y1 = xs[i - 1], xs[i], ys[i - 1], ys[i]
            # Geometric between weekly points: early growth is near-exponential, and a
            # straight line would expect a 3-day chick 30 % heavier than it is.
            return float(y0 * (y1 / y0) ** ((x - x0) / (x1 - x0)))
    # Past the table: no extrapolation; the last standard weight is the expectation.
    return float(ys[-1])


@dataclass(frozen=True)
class Gompertz:
    """W(t) = A · exp(−exp(−k · (t − ti))): A mature weight (g), k rate (1/day), ti inflection day."""

    a: float
    k: float
    ti: float

    def __call__(self, age: float) -> float:
        return self.a * math.exp(-math.exp(-self.k * (age - self.ti)))


def fit_gompertz(points: Sequence[tuple[float, float]]) -> Gompertz:
    """Least-squares Gompertz fit to (age_days, weight_g) points.

    A coarse-to-fine grid over (k, ti) with A solved in closed form at each node: no
    optimiser dependency, deterministic, and good to a few grams for growth data.
    """
    pts = [(float(t), float(w)) for t, w in points if w > 0 and t >= 0]
    if len(pts) < 4:
        raise ValueError(f"need at least 4 weighings to fit a growth curve, got {len(pts)}")
    span = max(t for t, _ in pts)
    best = _grid(pts, k_range=(0.005, 0.25), ti_range=(0.0, max(30.0, 3 * span)), steps=40)
    width_k, width_ti = 0.245 / 40, max(30.0, 3 * span) / 40
    for _ in range(4):
        best = _grid(
            pts,
            k_range=(max(1e-4, best.k - width_k), best.k + width_k),
            ti_range=(best.ti - width_ti, best.ti + width_ti),
            steps=20,
        )
        width_k, width_ti = width_k / 5, width_ti / 5
    return best


def _grid(
    pts: list[tuple[float, float]],
    k_range: tuple[float, float],
    ti_range: tuple[float, float],
    steps: int,
) -> Gompertz:
    best: tuple[float, Gompertz] | None = None
    for i in range(steps + 1):
        k = k_range[0] + (k_range[1] - k_range[0]) * i / steps
        for j in range(steps + 1):
            ti = ti_range[0] + (ti_range[1] - ti_range[0]) * j / steps
            shape = [math.exp(-math.exp(-k * (t - ti))) for t, _ in pts]
            denom = sum(g * g for g in shape)
            if denom <= 0:
                continue
            a = sum(g * w for g, (_, w) in zip(shape, pts, strict=True)) / denom
            sse = sum((a * g - w) ** 2 for g, (_, w) in zip(shape, pts, strict=True))
            if best is None or sse < best[0]:
                best = (sse, Gompertz(a=a, k=k, ti=ti))
    if best is None:
        raise ValueError("growth curve fit failed")
    return best[1]
