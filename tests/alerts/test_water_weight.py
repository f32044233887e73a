from __future__ import annotations

import pytest

from cloud.alerts.model import Finding, Severity
from cloud.alerts.rules import NO_DATA
from cloud.alerts.rules.water import check_water_flat
from cloud.alerts.rules.weight import check_below_curve, check_gain, check_uniformity
from cloud.alerts.thresholds import DEFAULTS
from farming.growth import fit_gompertz, standard_curve
from tests.alerts.factories import day, flock

W = DEFAULTS.water
G = DEFAULTS.weight


# Drop and surge rules against the house's own level: tests/alerts/test_robust_rules.py.


def test_water_flat_for_more_than_two_days_in_growing_birds() -> None:
    growing = [50.0, 53.0, 56.0, 59.0, 62.0]
    flat = [50.0, 53.0, 53.5, 53.0, 52.0]  # three day-over-day changes, none above +2 %
    assert check_water_flat(flock([0] * 5, water=growing), day(4), W) is None
    assert isinstance(check_water_flat(flock([0] * 5, water=flat), day(4), W), Finding)
    two_days = [50.0, 53.0, 56.0, 56.5, 56.0]  # flat for two days only
    assert check_water_flat(flock([0] * 5, water=two_days), day(4), W) is None


def test_water_flat_only_while_the_curve_expects_clearly_more() -> None:
    from farming.growth import standard_curve

    ross = standard_curve("ross308")
    flat = [500.0] * 6
    young = flock([0] * 6, water=flat, placed_on=day(-10))
    assert isinstance(check_water_flat(young, day(5), W, ross), Finding)
    # A local breed's curve that has stopped rising expects no more water: no alarm.
    assert check_water_flat(young, day(5), W, lambda age: 1500.0) is None


def test_water_flat_is_not_judged_for_adult_or_unknown_age() -> None:
    flat = [50.0] * 5
    assert check_water_flat(flock([0] * 5, water=flat, placed_on=None), day(4), W) is NO_DATA
    old = flock([0] * 5, water=flat, placed_on=day(-100))
    assert check_water_flat(old, day(4), W) is NO_DATA


def test_breed_curve_matches_the_tables() -> None:
    ross = standard_curve("Ross 308")
    cobb = standard_curve("cobb-500")
    assert ross is not None and cobb is not None
    assert ross(21) == 1012 and cobb(42) == 3278
    assert ross(24.5) == pytest.approx((1012 * 1616) ** 0.5)  # geometric between weeks
    assert ross(3) == pytest.approx(44 * (213 / 44) ** (3 / 7))
    assert standard_curve("xiushan") is None


def test_below_curve_edges_with_late_allowance() -> None:
    ross = standard_curve("ross308")
    assert ross is not None
    # Day 21: expected 1012 g; 15 % below is 860.2 g.
    weights = [None] * 21 + [861.0]
    assert check_below_curve(flock([0] * 22, weights=weights), day(21), ross, G) is None
    weights[-1] = 855.0
    result = check_below_curve(flock([0] * 22, weights=weights), day(21), ross, G)
    assert isinstance(result, Finding) and result.severity is Severity.WARNING
    weights[-1] = 700.0  # 30.8 % below
    result = check_below_curve(flock([0] * 22, weights=weights), day(21), ross, G)
    assert isinstance(result, Finding) and result.severity is Severity.CRITICAL
    # Day 35 (2296 g): 18 % below is within 15 % + 5 % allowance for shy heavy birds.
    weights = [None] * 35 + [2296 * 0.82]
    assert check_below_curve(flock([0] * 36, weights=weights), day(35), ross, G) is None


def test_gain_halving_over_48_hours() -> None:
    slow = [100.0, 130.0, 160.0, 175.0, 190.0]  # 60 g then 30 g: exactly half
    assert isinstance(check_gain(flock([0] * 5, weights=slow), day(4), G), Finding)
    ok = [100.0, 130.0, 160.0, 175.0, 191.0]  # 31 g > 30 g
    assert check_gain(flock([0] * 5, weights=ok), day(4), G) is None
    adult = [2000.0, 2005.0, 2010.0, 2010.0, 2010.0]  # not growing: nothing to compare
    assert check_gain(flock([0] * 5, weights=adult), day(4), G) is NO_DATA


def test_uniformity_falling() -> None:
    u = [85.0] + [None] * 6 + [74.0]
    assert isinstance(check_uniformity(flock([0] * 8, uniformity=u), day(7), G), Finding)
    u[-1] = 76.0  # fell 9 points only
    assert check_uniformity(flock([0] * 8, uniformity=u), day(7), G) is None
    u = [95.0] + [None] * 6 + [82.0]  # fell 13 points but still good
    assert check_uniformity(flock([0] * 8, uniformity=u), day(7), G) is None


def test_gompertz_fit_recovers_a_slow_breed_curve() -> None:
    from farming.growth import Gompertz

    truth = Gompertz(a=2350.0, k=0.03, ti=55.0)  # a Xiushan-like cock
    points = [(t, truth(t)) for t in range(0, 121, 7)]
    fitted = fit_gompertz(points)
    for t in (14, 60, 100):
        assert fitted(t) == pytest.approx(truth(t), rel=0.02)
    with pytest.raises(ValueError, match="at least 4"):
        fit_gompertz(points[:3])
