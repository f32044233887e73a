"""Flock biology: growth against the breed tables, spread, baseline losses, water."""

from __future__ import annotations

import numpy as np
import pytest

from farming.growth import STANDARDS, TABLE_DAYS, TableCurve, expected_weight_g
from firmware_sim.breeds import get_breed
from firmware_sim.flock import Flock, heat_effects, hourly_water_shares

ROSS = STANDARDS["ross308"]
assert isinstance(ROSS, TableCurve)
ROSS_TABLE = dict(zip(TABLE_DAYS, ROSS.weights_g, strict=True))


def test_breed_curves_pass_through_their_tables() -> None:
    for day, grams in ROSS_TABLE.items():
        assert expected_weight_g("ross308", day) == pytest.approx(grams, rel=1e-9)
    assert expected_weight_g("cobb500", 42) == pytest.approx(3278)
    # monotone between table points, no overshoot
    days = np.linspace(0, 56, 400)
    w = [expected_weight_g("ross308", d) for d in days]
    assert np.all(np.diff(w) > 0)


@pytest.mark.parametrize("breed", ["yellow_feather", "local_xiushan"])
def test_local_breeds_are_slow_growing(breed: str) -> None:
    at_90, at_120 = expected_weight_g(breed, 90), expected_weight_g(breed, 120)
    # somewhere in days 90-120 the mixed flock is in the 1.1-1.5 kg market band
    in_band = [d for d in range(90, 121) if 1100 <= expected_weight_g(breed, d) <= 1500]
    assert len(in_band) >= 10
    assert 900 <= at_90 <= 1500 and 1100 <= at_120 <= 1700
    assert expected_weight_g(breed, 42) < 0.25 * expected_weight_g("ross308", 42)


def test_ross308_flock_tracks_the_table_within_3_percent() -> None:
    rng = np.random.default_rng(11)
    flock = Flock.place("f", get_breed("ross308"), 3000, rng)
    for day in range(1, 43):
        flock.step_day(rng)
        if day in (7, 14, 21, 28, 35, 42):
            assert flock.mean_weight_g() == pytest.approx(ROSS_TABLE[day], rel=0.03), day


def test_spread_sexes_and_uniformity() -> None:
    rng = np.random.default_rng(2)
    flock = Flock.place("f", get_breed("ross308"), 4000, rng)
    for _ in range(35):
        flock.step_day(rng)
    w = flock.alive_weights_g()
    cv = 100 * w.std() / w.mean()
    assert 8.0 <= cv <= 12.0
    males = flock.weights_g()[flock.alive & flock.male].mean()
    females = flock.weights_g()[flock.alive & ~flock.male].mean()
    assert males > 1.1 * females
    assert 0.4 < flock.male.mean() < 0.6


def test_baseline_mortality_stays_under_the_alarm_rules() -> None:
    """Normal loss after week one ≈ 1-2 per 10,000 a day: far below 0.5 %/day or 2 %."""
    rng = np.random.default_rng(5)
    flock = Flock.place("f", get_breed("ross308"), 20_000, rng)
    deaths = [flock.step_day(rng).deaths for _ in range(42)]
    late = np.array(deaths[10:])
    assert late.mean() / 20_000 < 3e-4
    assert max(deaths) / 20_000 < 0.005
    assert sum(deaths[:7]) > sum(deaths[7:14])  # starter losses are front-loaded


def test_water_is_1_6_to_2_times_feed_and_follows_light() -> None:
    rng = np.random.default_rng(1)
    flock = Flock.place("f", get_breed("cobb500"), 1000, rng, day_age=20)
    r = flock.step_day(rng)
    assert 1.6 <= r.water_l / r.feed_kg <= 2.0
    lit = np.array([h < 1 or h >= 4 for h in range(24)])  # 18L... with dark 01-04
    shares = hourly_water_shares(lit)
    assert shares.sum() == pytest.approx(1.0)
    assert shares[~lit].max() < 0.2 * shares[lit].min()
    assert shares[4] == shares.max() or shares[0] == shares.max()  # dawn or pre-dark peak


def test_disease_and_heat_slow_growth() -> None:
    rng = np.random.default_rng(3)
    a = Flock.place("a", get_breed("ross308"), 500, np.random.default_rng(3), day_age=0)
    b = Flock.place("b", get_breed("ross308"), 500, np.random.default_rng(3), day_age=0)
    for _ in range(30):
        a.step_day(rng)
        b.step_day(rng, gain_factor=0.6)
    assert b.mean_weight_g() < 0.85 * a.mean_weight_g()
    hot = heat_effects(np.full(24, 33.0), target_c=20.7, mean_weight_g=2500)
    cool = heat_effects(np.full(24, 24.0), target_c=20.7, mean_weight_g=2500)
    assert hot.extra_hazard > 0.005 and hot.gain_factor < 1 and cool.extra_hazard == 0
    assert heat_effects(np.full(24, 33.0), target_c=33.0, mean_weight_g=60).extra_hazard == 0


def test_simulated_birds_follow_the_table_smoothly() -> None:
    from firmware_sim.breeds import table_trajectory_g

    for day, grams in ROSS_TABLE.items():
        assert table_trajectory_g(ROSS, day) == pytest.approx(grams, rel=1e-9)
    w = np.array([table_trajectory_g(ROSS, d) for d in np.arange(0, 56, 0.25)])
    gain = np.diff(w)
    assert np.all(gain > 0)
    # No weekly steps in gain (farming's geometric curve changes it by up to 64 % at a week's end).
    assert np.max(np.abs(np.diff(gain)) / gain[1:]) < 0.1
    assert table_trajectory_g(ROSS, 60) == pytest.approx(expected_weight_g("ross308", 60))
