"""Comfort bands by age and weight, THI and wet-bulb against hand-computed values."""

from __future__ import annotations

import pytest

from farming.climate import (
    DEFAULT_LIMITS,
    THI_BANDS,
    ComfortLimits,
    air_temperature_at_thi,
    thi,
    wet_bulb_stull,
)

C = DEFAULT_LIMITS


def test_wet_bulb_and_thi_by_hand() -> None:
    # Stull (2011): 20 °C at 50 % RH gives a wet-bulb of 13.7 °C.
    assert wet_bulb_stull(20.0, 50.0) == pytest.approx(13.7, abs=0.1)
    # 0.85 · 20 + 0.15 · 13.70 = 19.06
    assert thi(20.0, 50.0) == pytest.approx(19.06, abs=0.02)
    # Saturated air: the wet bulb is the air temperature, so THI is too.
    assert thi(30.0, 99.0) == pytest.approx(30.0, abs=0.4)


def test_thi_bands_are_tao_and_xin() -> None:
    assert THI_BANDS == (("alert", 27.7), ("danger", 28.9), ("emergency", 30.5))
    assert C.heat(26.0, 50.0) == ("normal", None)
    assert C.heat(29.0, 60.0) == ("alert", 27.7)  # THI 28.1
    assert C.heat(31.0, 60.0) == ("danger", 28.9)  # THI 30.1
    assert C.heat(33.0, 60.0) == ("emergency", 30.5)  # THI 32.1
    t = air_temperature_at_thi(27.7, 60.0)
    assert thi(t, 60.0) == pytest.approx(27.7, abs=1e-6) and 28.0 < t < 29.0


def test_target_temperature_by_weight_age_and_humidity() -> None:
    assert C.target_temperature_c(42) == pytest.approx(36.0)
    assert C.target_temperature_c(1530) == pytest.approx(20.7)
    assert C.target_temperature_c(4000, day_age=50) == pytest.approx(20.7)
    assert 20.7 < C.target_temperature_c(500) < 36.0
    # A slow local bird is light but feathered by five weeks: the age target is lower.
    assert C.target_temperature_c(300) > 25.0
    assert C.target_temperature_c(300, day_age=35) == pytest.approx(20.7)
    assert C.target_temperature_c(1530, rh_pct=70) == pytest.approx(18.7)  # damp air: aim cooler


def test_temperature_band_around_the_target() -> None:
    # Brooded chicks: too hot and too cold against their target.
    band = C.temperature(36.0, 100.0, 5, 60.0)
    target = C.target_temperature_c(100.0, 5, 60.0)
    assert band.level == "warn" and (band.low, band.high) == pytest.approx((target - 3, target + 3))
    assert C.temperature(target + 6.5, 100.0, 5, 60.0).level == "bad"
    assert C.temperature(28.0, 45.0, 0).level == "bad"  # cold chicks
    # Feathered birds: only the cold side; heat is the THI's call.
    band = C.temperature(17.0, 2000.0, 40, 60.0)
    assert band.level == "warn" and (band.low, band.high) == (pytest.approx(17.7), None)
    assert C.temperature(14.0, 2000.0).level == "bad"


def test_feathered_birds_in_a_warm_house_are_not_out_of_band() -> None:
    """A Chongqing July: 26-28 C in an open house is no alarm for 2 kg birds (THI under alert),
    though 7 C over their 20.7 C target; a day-old chick at 33 C is where it should be."""
    for t in (24.0, 26.8, 28.0):
        assert C.temperature(t, 2000.0, 40, 60.0).level == "ok"
        assert C.temperature(t, 1500.0, 60, 85.0).level == "ok"  # humid: target 15.7 C
    assert not C.brooding(2000.0, 40, 60.0) and not C.brooding(1500.0, 60, 85.0)
    assert C.brooding(45.0, 0, 60.0) and C.temperature(33.0, 45.0, 0, 60.0).level == "ok"


def test_gas_and_humidity_bands_by_age() -> None:
    assert C.nh3(15.0, day_age=7).level == "warn" and C.nh3(15.0, day_age=7).high == 14.0
    assert C.nh3(15.0, day_age=30).level == "ok"
    assert C.nh3(20.0, day_age=30).level == "ok" and C.nh3(20.5, day_age=30).level == "warn"
    assert C.nh3(25.5).level == "bad"
    assert C.co2(3000.0).level == "ok" and C.co2(3001.0).level == "warn" and C.co2(3600.0).level == "bad"
    assert C.humidity(50.0).level == "ok" and C.humidity(75.0).level == "warn"
    assert C.humidity(95.0).level == "warn"  # damp air harms slowly: never critical


def test_limits_can_be_moved_one_number_at_a_time() -> None:
    strict = ComfortLimits(co2_warning_ppm=2500.0)
    assert strict.co2(2600.0).level == "warn" and C.co2(2600.0).level == "ok"
