"""The simulator's breeds: farming's growth curves plus the traits only a simulation needs.

Expected weights, water-to-feed ratios and their sources are farming's (farming/growth.py,
farming/water.py); here are the plumage colours, the sexes' spread around a commercial table,
baseline losses, market age and heat and cold tolerance the simulated world draws from.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from farming import growth, water


@dataclass(frozen=True)
class Breed:
    name: str
    label: str
    kind: str  # "broiler" (fast, housed) or "local" (slow, often free-range)
    colours: tuple[str, ...]
    dimorphism: float = 0.09  # male/female ± share of a table's as-hatched mean, reached by ~day 42
    baseline_deaths_per_10k: float = 1.5  # per bird-day after the first week
    market_age_d: int = 42  # sold at the end of this day of age
    heat_tolerance_c: float = 0.0  # THI margin over fast-growing broilers
    cold_tolerance_c: float = 0.0  # feathered local birds shrug off cold a broiler would not

    @property
    def curve(self) -> growth.TableCurve | growth.SexedCurve:
        return growth.STANDARDS[self.name]

    @property
    def water_feed_ratio(self) -> float:
        return water.WATER_TO_FEED_RATIO[self.name]


BREEDS: dict[str, Breed] = {
    "ross308": Breed("ross308", "Ross 308", "broiler", ("white",)),
    "cobb500": Breed("cobb500", "Cobb 500", "broiler", ("white",)),
    "yellow_feather": Breed(
        "yellow_feather", "Yellow-feather (土鸡)", "local", ("yellow", "brown", "speckled"),
        baseline_deaths_per_10k=4.0,
        market_age_d=100,
        heat_tolerance_c=2.5,
        cold_tolerance_c=6.0,
    ),
    "local_xiushan": Breed(
        "local_xiushan", "Xiushan local chicken (秀山土鸡)", "local", ("black", "brown", "speckled"),
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


def table_trajectory_g(curve: growth.TableCurve, day_age: float) -> float:
    """Where a bird on a weekly table really is between its points: a smooth path.

    farming's curve is geometric between the weeks, right at each table day, but its daily
    gain jumps at every week boundary; simulated birds whose feed and water follow that gain
    would drink less overnight on days 7, 14, ... (measured: a false `water_flat` on a healthy
    flock, a coccidiosis gain drop missed). Birds follow a monotone cubic in log-weight
    through the same points instead, and farming's last-week gain past the table.
    """
    if day_age >= growth.TABLE_DAYS[-1]:
        return curve(day_age)
    x = np.asarray(growth.TABLE_DAYS, dtype=float)
    y = np.log(np.asarray(curve.weights_g, dtype=float))
    m = _pchip_slopes(x, y)
    t = max(day_age, 0.0)
    i = min(int(np.searchsorted(x, t, side="right")) - 1, len(x) - 2)
    h = x[i + 1] - x[i]
    s = (t - x[i]) / h
    log_w = (
        (2 * s**3 - 3 * s**2 + 1) * y[i]
        + (s**3 - 2 * s**2 + s) * h * m[i]
        + (-2 * s**3 + 3 * s**2) * y[i + 1]
        + (s**3 - s**2) * h * m[i + 1]
    )
    return float(np.exp(log_w))


def sex_weight_g(breed: Breed, day_age: float, male: np.ndarray | bool) -> np.ndarray:
    """Weight of each male (True) or female bird of the breed at `day_age` days."""
    is_male = np.asarray(male, dtype=bool)
    curve = breed.curve
    if isinstance(curve, growth.SexedCurve):
        return np.asarray(np.where(is_male, curve.male(day_age), curve.female(day_age)), dtype=float)
    # A table is as hatched: males above it and females below, apart more as they grow.
    spread = breed.dimorphism * min(max(day_age / 42.0, 0.0), 1.0) ** 1.2
    return np.asarray(table_trajectory_g(curve, day_age) * np.where(is_male, 1.0 + spread, 1.0 - spread), dtype=float)


def daily_feed_g(weight_g: np.ndarray | float, gain_g: np.ndarray | float) -> np.ndarray:
    """Feed per bird-day: maintenance on metabolic weight plus growth.

    Fitted to Ross 308 as-hatched intake (~37 g/day at day 7, ~115 at 21, ~200 at 35,
    ~225 at 42), which gives a 42-day FCR near the breed objective (~1.65).
    """
    w = np.maximum(np.asarray(weight_g, dtype=float), 1.0)
    gain = np.maximum(np.asarray(gain_g, dtype=float), 0.0)
    return np.asarray(water.FEED_G_PER_G075 * w**0.75 + water.FEED_G_PER_G_GAIN * gain, dtype=float)
