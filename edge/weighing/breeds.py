"""Growth standards the gateway carries itself (a gateway install ships no simulator).

As-hatched grams by day 0/7/.../56 (DESIGN.md §5): Ross 308 (Aviagen PO 2022), Cobb 500
(2022 supplement). Slow local breeds: Gompertz W(t) = A·exp(-b·exp(-k·t)), as-hatched mean
of the male and female curves through the published adult and 100-120 day weights.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

TABLE_DAYS = (0, 7, 14, 21, 28, 35, 42, 49, 56)

TABLES: dict[str, tuple[float, ...]] = {
    "ross308": (44, 213, 533, 1012, 1616, 2296, 2998, 3681, 4318),
    "cobb500": (42, 202, 570, 1116, 1783, 2521, 3278, 4001, 4641),
}


@dataclass(frozen=True)
class Gompertz:
    asymptote_g: float
    hatch_g: float
    anchor_day: float
    anchor_g: float

    def weight(self, day_age: float) -> float:
        b = math.log(self.asymptote_g / self.hatch_g)
        k = -math.log(math.log(self.asymptote_g / self.anchor_g) / b) / self.anchor_day
        return self.asymptote_g * math.exp(-b * math.exp(-k * max(day_age, 0.0)))


# (male, female) curves for slow-growing breeds.
GOMPERTZ: dict[str, tuple[Gompertz, Gompertz]] = {
    "yellow_feather": (Gompertz(2600.0, 34.0, 100.0, 1550.0), Gompertz(1850.0, 34.0, 100.0, 1150.0)),
    "local_xiushan": (Gompertz(2350.0, 32.0, 120.0, 1500.0), Gompertz(1760.0, 32.0, 120.0, 1150.0)),
}

BREEDS = tuple(sorted({*TABLES, *GOMPERTZ}))


def _interp_log(table: tuple[float, ...], day_age: float) -> float:
    """Log-linear between weekly points (growth is near-exponential within a week)."""
    t = max(day_age, 0.0)
    if t >= TABLE_DAYS[-1]:
        gain = (table[-1] - table[-2]) / (TABLE_DAYS[-1] - TABLE_DAYS[-2])
        return table[-1] + gain * (t - TABLE_DAYS[-1])
    i = min(int(t // 7), len(TABLE_DAYS) - 2)
    s = (t - TABLE_DAYS[i]) / (TABLE_DAYS[i + 1] - TABLE_DAYS[i])
    return math.exp((1 - s) * math.log(table[i]) + s * math.log(table[i + 1]))


def expected_weight_g(breed: str, day_age: float) -> float:
    """As-hatched standard weight in grams at a fractional day age."""
    if breed in TABLES:
        return _interp_log(TABLES[breed], day_age)
    if breed in GOMPERTZ:
        male, female = GOMPERTZ[breed]
        return 0.5 * (male.weight(day_age) + female.weight(day_age))
    raise ValueError(f"unknown breed {breed!r}; known: {', '.join(BREEDS)}")
