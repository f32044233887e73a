"""Expected body weight by breed and age: one curve per breed, the farm's own fit as an override.

Sources (DESIGN.md §5):
- Ross 308: Aviagen performance objectives 2022; Cobb 500: 2022 supplement. As-hatched
  weights, g, at days 0, 7, ..., 56.
- Slow-growing Chinese yellow-feather and Xiushan local chickens reach 1.1-1.5 kg at 90-120
  days (Xiushan adults: cock 2,350 g, hen 1,760 g). No published table: each sex follows a
  Gompertz curve from its hatch weight through the adult weight and a 100-120 day weight,
  and the as-hatched curve is the mean of the two.
- A farm's own birds rarely sit on the standard; a Gompertz curve fitted to its earlier
  flocks' weighings overrides the breed standard (`expected_curve`).

Past day 56 the tables stop (broilers are sold by then); the curve carries on with the last
week's daily gain, so a flock kept longer is still expected to grow and a scale still
accepts its birds.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

ExpectedWeight = Callable[[float], float]
"""Expected weight (g) at a (fractional) day of age."""

TABLE_DAYS = (0, 7, 14, 21, 28, 35, 42, 49, 56)

# 48-h gain at or below this share of the previous 48 h is a warning sign (DESIGN.md §5).
GAIN_48H_RATIO = 0.5
# Uniformity: share of birds within ±10 % of the mean; >= 80 % is a good flock (DESIGN.md §5).
UNIFORMITY_BAND = 0.10
UNIFORMITY_GOOD_PCT = 80.0
# Weighed days needed before a farm's own curve is fitted.
MIN_FIT_POINTS = 4


@dataclass(frozen=True)
class TableCurve:
    """A published weekly standard, geometric between its points."""

    weights_g: tuple[float, ...]  # on TABLE_DAYS

    def __call__(self, day_age: float) -> float:
        xs, ys = TABLE_DAYS, self.weights_g
        if day_age <= xs[0]:
            return float(ys[0])
        for i in range(1, len(xs)):
            if day_age == xs[i]:
                return float(ys[i])
            if day_age < xs[i]:
                x0, x1, y0, y1 = xs[i - 1], xs[i], ys[i - 1], ys[i]
                # Geometric between weekly points: early growth is near-exponential, and a
                # straight line would expect a 3-day chick 30 % heavier than it is.
                return float(y0 * (y1 / y0) ** ((day_age - x0) / (x1 - x0)))
        gain = (ys[-1] - ys[-2]) / (xs[-1] - xs[-2])
        return float(ys[-1] + gain * (day_age - xs[-1]))


@dataclass(frozen=True)
class Gompertz:
    """W(t) = A · exp(−exp(−k · (t − ti))): A mature weight (g), k rate (1/day), ti inflection day."""

    a: float
    k: float
    ti: float

    @classmethod
    def through(cls, adult_g: float, hatch_g: float, anchor_day: float, anchor_g: float) -> Gompertz:
        """The curve from `hatch_g` at day 0 through `anchor_g` at `anchor_day` towards `adult_g`."""
        b = math.log(adult_g / hatch_g)
        k = -math.log(math.log(adult_g / anchor_g) / b) / anchor_day
        return cls(a=adult_g, k=k, ti=math.log(b) / k)

    def __call__(self, day_age: float) -> float:
        return self.a * math.exp(-math.exp(-self.k * (max(day_age, 0.0) - self.ti)))


@dataclass(frozen=True)
class SexedCurve:
    """Males and females on their own curves; a flock as hatched is half of each."""

    male: Gompertz
    female: Gompertz

    def __call__(self, day_age: float) -> float:
        return 0.5 * (self.male(day_age) + self.female(day_age))


STANDARDS: dict[str, TableCurve | SexedCurve] = {
    "ross308": TableCurve((44, 213, 533, 1012, 1616, 2296, 2998, 3681, 4318)),
    "cobb500": TableCurve((42, 202, 570, 1116, 1783, 2521, 3278, 4001, 4641)),
    "yellow_feather": SexedCurve(
        male=Gompertz.through(2600.0, 34.0, 100.0, 1550.0),
        female=Gompertz.through(1850.0, 34.0, 100.0, 1150.0),
    ),
    "local_xiushan": SexedCurve(
        male=Gompertz.through(2350.0, 32.0, 120.0, 1500.0),
        female=Gompertz.through(1760.0, 32.0, 120.0, 1150.0),
    ),
}

BREEDS = tuple(sorted(STANDARDS))


def normalise_breed(name: str) -> str:
    """'Ross 308', 'ross-308' and 'ross308' name the same breed."""
    return "".join(ch for ch in name.lower() if ch.isalnum())


_BY_NORMALISED = {normalise_breed(name): name for name in STANDARDS}


def standard_curve(name: str | None) -> TableCurve | SexedCurve | None:
    """The breed's standard curve, for a name as farmers write it, or None if unknown."""
    if not name:
        return None
    key = _BY_NORMALISED.get(normalise_breed(name))
    return None if key is None else STANDARDS[key]


def expected_weight_g(breed: str, day_age: float) -> float:
    """As-hatched standard weight in grams at a fractional day age; unknown breeds are an error."""
    curve = STANDARDS.get(breed)
    if curve is None:
        raise ValueError(f"unknown breed {breed!r}; known: {', '.join(BREEDS)}")
    return curve(day_age)


def expected_curve(
    breed: str | None, own_weighings: Sequence[tuple[float, float]] = ()
) -> ExpectedWeight | None:
    """The farm's own fitted curve when it has enough weighings, else the breed standard."""
    if len(own_weighings) >= MIN_FIT_POINTS:
        try:
            return fit_gompertz(own_weighings)
        except ValueError:  # too few usable points after dropping blanks
            pass
    return standard_curve(breed)


def fit_gompertz(points: Sequence[tuple[float, float]]) -> Gompertz:
    """Least-squares Gompertz fit to (age_days, weight_g) points.

    A coarse-to-fine grid over (k, ti) with A solved in closed form at each node: no
    optimiser dependency, deterministic, and good to a few grams for growth data.
    """
    pts = [(float(t), float(w)) for t, w in points if w > 0 and t >= 0]
    if len(pts) < MIN_FIT_POINTS:
        raise ValueError(
            f"need at least {MIN_FIT_POINTS} weighings to fit a growth curve, got {len(pts)}"
        )
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
