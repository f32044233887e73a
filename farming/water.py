"""Water and feed norms (DESIGN.md §5).

Birds drink 1.6-2.0x their feed weight. A drop of more than 25 % against the same house's
previous day, or intake flat or falling for more than 2 days while the birds still grow,
precedes disease. Fixed litre thresholds give mostly false alarms, so every rule compares a
house with its own recent days.
"""

from __future__ import annotations

from collections.abc import Callable

WATER_TO_FEED_RANGE = (1.6, 2.0)

# Mid-range for housed broilers; slow local breeds range more and drink at the upper half
# (a simulator assumption inside the published range, not a separate source).
WATER_TO_FEED_RATIO: dict[str, float] = {
    "ross308": 1.8,
    "cobb500": 1.8,
    "yellow_feather": 1.9,
    "local_xiushan": 1.9,
}

# Feed per bird-day: maintenance on metabolic weight plus growth, g (fitted to Ross 308
# as-hatched intake: ~37 g/day at day 7, ~115 at 21, ~200 at 35, ~225 at 42, which gives a
# 42-day FCR near the breed objective, ~1.65). Water follows feed by the ratios above.
FEED_G_PER_G075 = 0.5  # g of feed per (g of body weight)^0.75
FEED_G_PER_G_GAIN = 0.25

DROP_PCT = 25.0  # vs the same house's previous day
FLAT_DAYS = 3  # "flat or falling for > 2 days"


def feed_g_per_bird(weight_g: float, gain_g: float) -> float:
    """Expected feed per bird-day at this weight and daily gain."""
    return float(FEED_G_PER_G075 * max(weight_g, 1.0) ** 0.75 + FEED_G_PER_G_GAIN * max(gain_g, 0.0))


def expected_intake_shape(weight_at: Callable[[float], float], day_age: float) -> float:
    """Expected feed (so water) per bird on a day of age, from the expected weight curve.

    Young broilers drink ~5-10 % more every day, and that rise slows week by week: a rule
    that compares today's water with the growth-expected intake, not with a straight line
    through the last days, neither cries "drop" at the slowdown nor misses a real one.
    """
    weight = weight_at(day_age)
    return feed_g_per_bird(weight, weight_at(day_age + 1) - weight)
