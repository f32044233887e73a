"""Breed curves: the published tables at their days, local Gompertz through their anchors, the farm's fit."""

from __future__ import annotations

import pytest

from farming.growth import (
    BREEDS,
    STANDARDS,
    TABLE_DAYS,
    Gompertz,
    SexedCurve,
    TableCurve,
    expected_curve,
    expected_weight_g,
    fit_gompertz,
    standard_curve,
)

ROSS = (44, 213, 533, 1012, 1616, 2296, 2998, 3681, 4318)
COBB = (42, 202, 570, 1116, 1783, 2521, 3278, 4001, 4641)


@pytest.mark.parametrize(("breed", "table"), [("ross308", ROSS), ("cobb500", COBB)])
def test_tables_at_their_days(breed: str, table: tuple[int, ...]) -> None:
    for day, grams in zip(TABLE_DAYS, table, strict=True):
        assert expected_weight_g(breed, day) == grams


def test_between_weeks_geometric_and_past_day_56_the_last_weeks_gain() -> None:
    assert expected_weight_g("ross308", 24.5) == pytest.approx((1012 * 1616) ** 0.5)
    assert expected_weight_g("ross308", -3) == 44
    assert expected_weight_g("ross308", 63) == pytest.approx(4318 + (4318 - 3681))
    assert expected_weight_g("cobb500", 60) == pytest.approx(4641 + 4 * (4641 - 4001) / 7)


@pytest.mark.parametrize(
    ("breed", "hatch", "anchor_day", "male_g", "female_g", "adult_male", "adult_female"),
    [
        ("yellow_feather", 34.0, 100, 1550.0, 1150.0, 2600.0, 1850.0),
        ("local_xiushan", 32.0, 120, 1500.0, 1150.0, 2350.0, 1760.0),
    ],
)
def test_local_breeds_gompertz_through_their_anchors(
    breed: str, hatch: float, anchor_day: int, male_g: float, female_g: float,
    adult_male: float, adult_female: float,
) -> None:
    curve = STANDARDS[breed]
    assert isinstance(curve, SexedCurve)
    assert curve.male(0) == pytest.approx(hatch) and curve.female(0) == pytest.approx(hatch)
    assert curve.male(anchor_day) == pytest.approx(male_g)
    assert curve.female(anchor_day) == pytest.approx(female_g)
    assert curve.male(2000) == pytest.approx(adult_male) and curve.female(2000) == pytest.approx(adult_female)
    assert expected_weight_g(breed, anchor_day) == pytest.approx(0.5 * (male_g + female_g))
    # Slow: the 1.1-1.5 kg market band between 90 and 120 days (DESIGN.md §5).
    assert 1100 <= expected_weight_g(breed, 105) <= 1500


def test_every_breed_has_one_standard_and_names_are_forgiven() -> None:
    assert BREEDS == ("cobb500", "local_xiushan", "ross308", "yellow_feather")
    assert isinstance(standard_curve("Ross 308"), TableCurve)
    assert standard_curve("cobb-500") is STANDARDS["cobb500"]
    assert standard_curve("Local Xiushan") is STANDARDS["local_xiushan"]
    assert standard_curve("silkie") is None and standard_curve(None) is None
    with pytest.raises(ValueError, match="unknown breed 'emu'"):
        expected_weight_g("emu", 3)


def test_the_farms_own_fitted_curve_overrides_the_standard() -> None:
    own = Gompertz(a=3900.0, k=0.045, ti=33.0)  # a farm whose Ross birds run light
    points = [(float(t), own(t)) for t in range(0, 50, 3)]
    curve = expected_curve("ross308", points)
    assert curve is not None and curve is not STANDARDS["ross308"]
    for t in (10, 30, 45):
        assert curve(t) == pytest.approx(own(t), rel=0.02)
    assert curve(42) < 0.95 * expected_weight_g("ross308", 42)
    # Too few weighings for a fit: the breed standard; no standard and no fit: nothing.
    assert expected_curve("ross308", points[:3]) is STANDARDS["ross308"]
    assert expected_curve("silkie", points[:3]) is None
    assert expected_curve("silkie", points) is not None


def test_fit_recovers_a_curve_and_refuses_too_few_points() -> None:
    truth = Gompertz.through(2350.0, 32.0, 120.0, 1500.0)
    fitted = fit_gompertz([(t, truth(t)) for t in range(0, 121, 7)])
    for t in (14, 60, 100):
        assert fitted(t) == pytest.approx(truth(t), rel=0.02)
    with pytest.raises(ValueError, match="at least 4"):
        fit_gompertz([(0, 32.0), (7, 60.0), (14, 110.0), (21, -1.0)])
