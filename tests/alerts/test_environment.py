from __future__ import annotations

from datetime import timedelta

import pytest

from cloud.alerts.model import Finding, Severity
from cloud.alerts.rules import check_environment, target_temperature
from cloud.alerts.thresholds import DEFAULTS, EnvironmentThresholds
from farming.climate import thi, wet_bulb_stull
from tests.alerts.factories import T0

E = DEFAULTS.environment
H = timedelta(hours=1)


def _env(samples: list[dict[str, float]], **kw: object) -> dict[str, Finding]:
    from cloud.alerts.model import EnvSample

    series = [EnvSample(at=T0 + i * H, **s) for i, s in enumerate(samples)]
    evaluation = check_environment(series, series[-1].at, "farm-1", "h1", E, **kw)  # type: ignore[arg-type]
    return {f.type: f for f in evaluation.findings}


def test_stull_wet_bulb_reference_point() -> None:
    # Stull (2011): 20 °C at 50 % RH gives a wet-bulb of 13.7 °C.
    assert wet_bulb_stull(20.0, 50.0) == pytest.approx(13.7, abs=0.1)
    assert wet_bulb_stull(30.0, 99.0) == pytest.approx(30.0, abs=0.4)


def test_thi_formula() -> None:
    t, rh = 32.0, 70.0
    assert thi(t, rh) == pytest.approx(0.85 * t + 0.15 * wet_bulb_stull(t, rh))


def test_target_temperature_anchors_and_humidity() -> None:
    assert target_temperature(42, 60, E) == pytest.approx(36.0)
    assert target_temperature(1530, 60, E) == pytest.approx(20.7)
    assert target_temperature(3000, 60, E) == pytest.approx(20.7)
    assert 20.7 < target_temperature(500, 60, E) < 36.0
    assert target_temperature(1530, 70, E) == pytest.approx(18.7)  # damp air: aim cooler


@pytest.mark.parametrize(
    ("temp", "severity"),
    # Feathered: warm is the THI's call (26.8 C at 60 % is THI 25.6, no stress); cold is the band's.
    [(23.8, None), (26.8, None), (17.8, None), (17.6, Severity.WARNING), (14.6, Severity.CRITICAL)],
)
def test_temperature_band_for_heavy_birds(temp: float, severity: Severity | None) -> None:
    found = _env([{"temperature_c": temp, "humidity_pct": 60.0}], weight_g=2000.0)
    band = found.get("temperature_out_of_band")
    assert (band.severity if band else None) is severity


def test_cold_chicks_are_critical() -> None:
    found = _env([{"temperature_c": 28.0, "humidity_pct": 60.0}], weight_g=45.0)
    assert found["temperature_out_of_band"].severity is Severity.CRITICAL
    assert found["temperature_out_of_band"].rule == "too_cold"


def test_band_needs_a_weight() -> None:
    assert "temperature_out_of_band" not in _env([{"temperature_c": 40.0}])


def test_fast_change_per_hour() -> None:
    found = _env([{"temperature_c": 25.0}, {"temperature_c": 21.5}])
    assert found["temperature_fast_change"].rule == "falling"
    assert found["temperature_fast_change"].severity is Severity.WARNING
    assert "temperature_fast_change" not in _env([{"temperature_c": 25.0}, {"temperature_c": 22.0}])


@pytest.mark.parametrize(
    ("temp", "rh", "band"),
    [(26.0, 50.0, None), (29.0, 60.0, "alert"), (31.0, 60.0, "danger"), (33.0, 60.0, "emergency")],
)
def test_heat_stress_bands(temp: float, rh: float, band: str | None) -> None:
    found = _env([{"temperature_c": temp, "humidity_pct": rh}])
    heat = found.get("heat_stress")
    assert (heat.evidence["band"] if heat else None) == band


def test_nh3_thresholds_adult_and_chick() -> None:
    assert "nh3_high" not in _env([{"nh3_ppm": 20.0}], age_days=30)
    assert _env([{"nh3_ppm": 20.5}], age_days=30)["nh3_high"].severity is Severity.WARNING
    assert _env([{"nh3_ppm": 25.5}], age_days=30)["nh3_high"].severity is Severity.CRITICAL
    assert _env([{"nh3_ppm": 15.0}], age_days=7)["nh3_high"].severity is Severity.WARNING


def test_co2_thresholds() -> None:
    assert "co2_high" not in _env([{"co2_ppm": 3000.0}])
    assert _env([{"co2_ppm": 3001.0}])["co2_high"].severity is Severity.WARNING
    assert _env([{"co2_ppm": 3600.0}])["co2_high"].severity is Severity.CRITICAL


def test_humidity_must_be_out_of_range_for_the_whole_window() -> None:
    damp = [{"humidity_pct": 80.0}] * 7  # 0..6 h
    assert _env(damp)["humidity_out_of_range"].rule == "humidity_high"
    dipped = [{"humidity_pct": 80.0}] * 3 + [{"humidity_pct": 65.0}] + [{"humidity_pct": 80.0}] * 3
    assert "humidity_out_of_range" not in _env(dipped)
    short = [{"humidity_pct": 30.0}] * 4  # only 3 hours of data: cannot say "sustained"
    assert "humidity_out_of_range" not in _env(short)


def test_stale_readings_say_nothing() -> None:
    from cloud.alerts.model import EnvSample

    series = [EnvSample(at=T0, nh3_ppm=40.0)]
    evaluation = check_environment(series, T0 + 3 * H, "farm-1", "h1", E)
    assert evaluation.findings == [] and evaluation.cleared == []


def test_late_readings_are_judged_on_their_own_time() -> None:
    from cloud.alerts.model import EnvSample

    # A gateway back after a day offline uploads yesterday's hours: judge each at its time.
    series = [EnvSample(at=T0 + i * H, co2_ppm=3200.0 if i == 5 else 1500.0) for i in range(24)]
    at_five = check_environment(series, T0 + 5 * H, "farm-1", "h1", E)
    assert [f.type for f in at_five.findings] == ["co2_high"]
    assert at_five.findings[0].at == T0 + 5 * H


def test_thresholds_override_per_house() -> None:
    custom = EnvironmentThresholds(co2_warning_ppm=2500.0)
    from cloud.alerts.model import EnvSample

    evaluation = check_environment([EnvSample(at=T0, co2_ppm=2600.0)], T0, "f", "h", custom)
    assert [f.type for f in evaluation.findings] == ["co2_high"]


def test_brooded_chicks_are_judged_by_their_band_not_the_broiler_thi() -> None:
    # Day-old chicks at 34 C are where they should be: no heat stress, no band alert.
    found = _env([{"temperature_c": 34.0, "humidity_pct": 60.0}], weight_g=45.0, age_days=0)
    assert "heat_stress" not in found and "temperature_out_of_band" not in found
    # Too hot for chicks is the band's call, against their own target.
    found = _env([{"temperature_c": 40.0, "humidity_pct": 60.0}], weight_g=45.0, age_days=0)
    assert found["temperature_out_of_band"].rule == "too_hot" and "heat_stress" not in found
    # Feathered birds in the same air: heat stress, and no band alert beside it.
    found = _env([{"temperature_c": 34.0, "humidity_pct": 60.0}], weight_g=2000.0, age_days=40)
    assert "heat_stress" in found and "temperature_out_of_band" not in found


def test_heat_wave_is_hotter_than_the_birds_are_used_to() -> None:
    hot = [{"temperature_c": 33.0, "humidity_pct": 75.0}]  # THI ~31.9: emergency band
    index = thi(33.0, 75.0)
    # The summer's usual heat: the birds have had such afternoons all week.
    assert "heat_wave" not in _env(hot, weight_g=2000.0, age_days=40, usual_peak_thi=index - 1.0)
    found = _env(hot, weight_g=2000.0, age_days=40, usual_peak_thi=index - 3.5)
    wave = found["heat_wave"]
    assert wave.severity is Severity.CRITICAL and wave.rule == "above_usual_peak"
    assert wave.evidence["above_usual"] == pytest.approx(3.5, abs=0.05)
    assert "heat_stress" in found  # told as its own, worse condition beside the heat stress
    # Heat from a ventilation failure (CO2 over its limit) is co2_high's, not a heat wave.
    stale = [{"temperature_c": 33.0, "humidity_pct": 75.0, "co2_ppm": 4800.0}]
    found = _env(stale, weight_g=2000.0, age_days=40, usual_peak_thi=index - 6.0)
    assert "heat_wave" not in found and "co2_high" in found and "heat_stress" in found
    # Far above a cool week but under the emergency band: heat stress only.
    warm = [{"temperature_c": 29.5, "humidity_pct": 60.0}]
    assert "heat_wave" not in _env(warm, weight_g=2000.0, age_days=40, usual_peak_thi=22.0)
    # No history of the house's peaks: not judged (an open heat-wave alert stays open).
    from cloud.alerts.model import AlertKey, EnvSample

    evaluation = check_environment([EnvSample(at=T0, **hot[0])], T0, "farm-1", "h1", E, 2000.0, 40)
    assert AlertKey("farm-1", "h1", "heat_wave") in evaluation.no_data


def test_usual_peak_needs_enough_days() -> None:
    from cloud.alerts.rules.environment import usual_peak_thi

    assert usual_peak_thi([28.0, 29.0, 35.0], 4) is None
    assert usual_peak_thi([28.0, 29.0, 30.0, 35.0, 27.0], 4) == 29.0  # one hot day moves nothing

