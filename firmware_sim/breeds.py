"""The simulator's breeds: farming's growth curves plus the traits only a simulation needs.

Expected weights, water-to-feed ratios and their sources are farming's (farming/growth.py,
farming/water.py); here are the plumage colours, the sexes' spread around a commercial table,
baseline losses, market age and heat and cold tolerance the simulated world draws from.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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
    curve: growth.TableCurve | growth.SexedCurve = field(init=False)
    water_feed_ratio: float = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "curve", growth.STANDARDS[self.name])
        object.__setattr__(self, "water_feed_ratio", water.WATER_TO_FEED_RATIO[self.name])


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


def sex_weight_g(breed: Breed, day_age: float, male: np.ndarray | bool) -> np.ndarray:
    """Standard weight of each male (True) or female bird of the breed at `day_age` days."""
    is_male = np.asarray(male, dtype=bool)
    curve = breed.curve
    if isinstance(curve, growth.SexedCurve):
        return np.where(is_male, curve.male(day_age), curve.female(day_age))
    # A table is as hatched: males above it and females below, apart more as they grow.
    spread = breed.dimorphism * min(max(day_age / 42.0, 0.0), 1.0) ** 1.2
    return curve(day_age) * np.where(is_male, 1.0 + spread, 1.0 - spread)


def daily_feed_g(weight_g: np.ndarray | float, gain_g: np.ndarray | float) -> np.ndarray:
    """Feed per bird-day: maintenance on metabolic weight plus growth.

    Fitted to Ross 308 as-hatched intake (~37 g/day at day 7, ~115 at 21, ~200 at 35,
    ~225 at 42), which gives a 42-day FCR near the breed objective (~1.65).
    """
    w = np.maximum(np.asarray(weight_g, dtype=float), 1.0)
    return 0.5 * w**0.75 + 0.25 * np.maximum(np.asarray(gain_g, dtype=float), 0.0)
