"""Water judged over the growth-expected intake (farming/water.py): young broilers drink more
every day and the rise slows week by week; a straight line through last week expects too much.

Pure: rule functions over in-memory histories, no database.
"""

from __future__ import annotations

import random

import pytest

from cloud.alerts.rules.water import check_water_drop
from cloud.alerts.thresholds import DEFAULTS
from farming.growth import standard_curve
from farming.water import expected_intake_shape, feed_g_per_bird
from tests.alerts.factories import day, flock

W, B = DEFAULTS.water, DEFAULTS.baseline
ROSS = standard_curve("ross308")
assert ROSS is not None


def _water(ages: range, birds: int = 3000, noise: float = 0.03, seed: int = 1) -> list[float]:
    rng = random.Random(seed)
    return [
        round(birds * 1.8 * expected_intake_shape(ROSS, a) / 1000 * (1 + rng.gauss(0, noise)), 1)
        for a in ages
    ]


def test_feed_model_matches_ross_intake() -> None:
    # ~37 g/day at day 7, ~115 at 21, ~200 at 35 (Ross 308 as-hatched).
    assert expected_intake_shape(ROSS, 7) == pytest.approx(37, rel=0.25)
    assert expected_intake_shape(ROSS, 21) == pytest.approx(115, rel=0.2)
    assert expected_intake_shape(ROSS, 35) == pytest.approx(200, rel=0.2)
    assert feed_g_per_bird(1000.0, 0.0) < feed_g_per_bird(1000.0, 60.0)


@pytest.mark.parametrize("seed", range(1, 9))
def test_a_healthy_young_flock_gives_no_water_drop(seed: int) -> None:
    """Days 9-16, when the rise slows, were false alarms against a straight-line baseline."""
    water = _water(range(36), seed=seed)
    history = flock([0] * 36, water=water, birds_placed=3000)
    found = [d for d in range(4, 36) if check_water_drop(history, day(d), W, B, ROSS)]
    assert found == []


def test_a_drop_in_a_flock_met_at_six_days_warns_on_its_second_day() -> None:
    """The demo meets some flocks a week old: five recorded days give the expected level."""
    ages = range(19)
    water: list[float | None] = list(_water(ages, noise=0.01))
    for a in (12, 13, 14):
        water[a] = (water[a] or 0.0) * 0.72  # coccidiosis: drinking ~28 % less
    history = flock([0] * 19, water=water, birds_placed=3000, skip=set(range(6)))
    assert not check_water_drop(history, day(12), W, B, ROSS)  # one day is not yet a change
    found = check_water_drop(history, day(13), W, B, ROSS)
    assert found and found.type == "water_drop" and found.rule == "two_day_sum_vs_usual_2_days"
    assert 0 < found.evidence["water_l"] < found.evidence["usual_l"]  # litres, not ratios
    # Without the curve the straight-line baseline has too few days to judge yet.
    assert not check_water_drop(history, day(13), W, B)
