"""Growth standards per breed: tables for commercial broilers, Gompertz for local breeds.

Sources (DESIGN.md §5): Ross 308 performance objectives 2022 and Cobb 500 2022 supplement,
as-hatched weights by week; slow-growing yellow-feather and Xiushan local chickens reach
1.1-1.5 kg at 90-120 days (Xiushan adults: cock 2,350 g, hen 1,760 g).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

TABLE_DAYS = (0, 7, 14, 21, 28, 35, 42, 49, 56)


@dataclass(frozen=True)
class Gompertz:
    """W(t) = A·exp(-b·exp(-k·t)) with W(0) = hatch weight, fitted through one anchor."""

    asymptote_g: float
    hatch_g: float
    anchor_day: float
    anchor_g: float

    @property
    def b(self) -> float:
        return math.log(self.asymptote_g / self.hatch_g)

    @property
    def k(self) -> float:
        return -math.log(math.log(self.asymptote_g / self.anchor_g) / self.b) / self.anchor_day

    def weight(self, day_age: np.ndarray | float) -> np.ndarray:
        t = np.maximum(np.asarray(day_age, dtype=float), 0.0)
        return self.asymptote_g * np.exp(-self.b * np.exp(-self.k * t))


@dataclass(frozen=True)
class Breed:
    name: str
    label: str
    kind: str  # "broiler" (fast, housed) or "local" (slow, often free-range)
    colours: tuple[str, ...]
    table_g: tuple[float, ...] | None = None  # as-hatched, on TABLE_DAYS
    male: Gompertz | None = None
    female: Gompertz | None = None
    dimorphism: float = 0.09  # male/female ± share of the as-hatched mean, reached by ~day 42
    water_feed_ratio: float = 1.8  # birds drink 1.6-2.0x their feed weight
    baseline_deaths_per_10k: float = 1.5  # per bird-day after the first week
    market_age_d: int = 42  # sold at the end of this day of age
    heat_tolerance_c: float = 0.0  # THI margin over fast-growing broilers
    cold_tolerance_c: float = 0.0  # feathered local birds shrug off cold a broiler would not


def _table(*weights: float) -> tuple[float, ...]:
    assert len(weights) == len(TABLE_DAYS)
    return tuple(float(w) for w in weights)


BREEDS: dict[str, Breed] = {
    "ross308": Breed(
        "ross308", "Ross 308", "broiler", ("white",),
        table_g=_table(44, 213, 533, 1012, 1616, 2296, 2998, 3681, 4318),
    ),
    "cobb500": Breed(
        "cobb500", "Cobb 500", "broiler", ("white",),
        table_g=_table(42, 202, 570, 1116, 1783, 2521, 3278, 4001, 4641),
    ),
    "yellow_feather": Breed(
        "yellow_feather", "Yellow-feather (土鸡)", "local", ("yellow", "brown", "speckled"),
        male=Gompertz(2600.0, 34.0, 100.0, 1550.0),
        female=Gompertz(1850.0, 34.0, 100.0, 1150.0),
        water_feed_ratio=1.9,
        baseline_deaths_per_10k=4.0,
        market_age_d=100,
        heat_tolerance_c=2.5,
        cold_tolerance_c=6.0,
    ),
    "local_xiushan": Breed(
        "local_xiushan", "Xiushan local chicken (秀山土鸡)", "local", ("black", "brown", "speckled"),
        male=Gompertz(2350.0, 32.0, 120.0, 1500.0),
        female=Gompertz(1760.0, 32.0, 120.0, 1150.0),
        water_feed_ratio=1.9,
        baseline_deaths_per_10k=5.0,
        market_age_d=120,
        heat_tolerance_c=2.5,
        cold_tolerance_c=6.0,
    ),
}


def get_breed(name: str) -> Breed:
    try:
        return BREEDS[name]
    except KeyError:
        raise ValueError(f"unknown breed {name!r}; known: {', '.join(sorted(BREEDS))}") from None


def _pchip_slopes(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Fritsch-Carlson slopes: monotone cubic, no overshoot between weekly points."""
    h = np.diff(x)
    delta = np.diff(y) / h
    slopes = np.zeros_like(y)
    for i in range(1, len(y) - 1):
        if delta[i - 1] * delta[i] > 0:
            w1 = 2 * h[i] + h[i - 1]
            w2 = h[i] + 2 * h[i - 1]
            slopes[i] = (w1 + w2) / (w1 / delta[i - 1] + w2 / delta[i])
    slopes[0] = delta[0]
    slopes[-1] = delta[-1]
    return slopes


def _interp_table(table: tuple[float, ...], day_age: np.ndarray) -> np.ndarray:
    x = np.asarray(TABLE_DAYS, dtype=float)
    # Interpolating log-weight keeps the early, near-exponential weeks right.
    y = np.log(np.asarray(table, dtype=float))
    m = _pchip_slopes(x, y)
    t = np.clip(day_age, x[0], None)
    i = np.clip(np.searchsorted(x, t, side="right") - 1, 0, len(x) - 2)
    h = x[i + 1] - x[i]
    s = (t - x[i]) / h
    h00 = 2 * s**3 - 3 * s**2 + 1
    h10 = s**3 - 2 * s**2 + s
    h01 = -2 * s**3 + 3 * s**2
    h11 = s**3 - s**2
    inside = h00 * y[i] + h10 * h * m[i] + h01 * y[i + 1] + h11 * h * m[i + 1]
    # Past the last table day: carry on with the last week's absolute daily gain.
    last_gain = (table[-1] - table[-2]) / (x[-1] - x[-2])
    beyond = np.log(table[-1] + last_gain * np.maximum(t - x[-1], 0.0))
    return np.exp(np.where(t > x[-1], beyond, inside))


def sex_weight_g(breed: Breed, day_age: np.ndarray | float, male: np.ndarray | bool) -> np.ndarray:
    """Standard weight of a male (True) or female bird of the breed at `day_age` days."""
    t = np.asarray(day_age, dtype=float)
    is_male = np.asarray(male, dtype=bool)
    if breed.male is not None and breed.female is not None:
        return np.where(is_male, breed.male.weight(t), breed.female.weight(t))
    assert breed.table_g is not None
    mixed = _interp_table(breed.table_g, t)
    spread = breed.dimorphism * np.clip(t / 42.0, 0.0, 1.0) ** 1.2
    return mixed * np.where(is_male, 1.0 + spread, 1.0 - spread)


def expected_weight_g(breed: str | Breed, day_age: float) -> float:
    """As-hatched (50/50 sexes) standard weight in grams at `day_age` (fractional days ok)."""
    b = breed if isinstance(breed, Breed) else get_breed(breed)
    if b.table_g is not None:
        return float(_interp_table(b.table_g, np.asarray(float(day_age))))
    both = sex_weight_g(b, np.array([day_age, day_age]), np.array([True, False]))
    return float(both.mean())


def daily_feed_g(weight_g: np.ndarray | float, gain_g: np.ndarray | float) -> np.ndarray:
    """Feed per bird-day: maintenance on metabolic weight plus growth.

    Fitted to Ross 308 as-hatched intake (~37 g/day at day 7, ~115 at 21, ~200 at 35,
    ~225 at 42), which gives a 42-day FCR near the breed objective (~1.65).
    """
    w = np.maximum(np.asarray(weight_g, dtype=float), 1.0)
    return 0.5 * w**0.75 + 0.25 * np.maximum(np.asarray(gain_g, dtype=float), 0.0)
