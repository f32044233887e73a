"""The farmer's environment panel and the alert engine judge a reading alike."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cloud.alerts.model import EnvSample, Severity
from cloud.alerts.rules import check_environment
from cloud.alerts.thresholds import DEFAULTS, EnvironmentThresholds
from cloud.web import comfort

AT = datetime(2025, 7, 1, 12, tzinfo=UTC)
LEVEL = {None: "ok", Severity.WARNING: "warn", Severity.CRITICAL: "bad"}
KIND = {"temperature_c": "temperature_out_of_band", "nh3_ppm": "nh3_high", "co2_ppm": "co2_high"}


def _engine(metric: str, value: float, age: int, weight: float, rh: float, th: EnvironmentThresholds) -> str:
    sample = EnvSample(at=AT, humidity_pct=rh, **{metric: value})  # type: ignore[arg-type]
    evaluation = check_environment([sample], AT, "f1", "h1", th, weight_g=weight, age_days=age)
    found = {f.type: f.severity for f in evaluation.findings}
    return LEVEL[found.get(KIND[metric])]


READINGS = [
    ("temperature_c", t, age, weight, rh)
    for t in (18.0, 21.0, 23.9, 24.1, 27.0, 30.0, 33.0)
    for age, weight in ((3, 80.0), (20, 930.0), (35, 300.0), (42, 2998.0))
    for rh in (55.0, 75.0)
] + [
    (metric, value, age, 1000.0, 60.0)
    for metric, values in (("nh3_ppm", (10.0, 14.5, 20.0, 22.0, 26.0)), ("co2_ppm", (2500.0, 3200.0, 3600.0)))
    for value in values
    for age in (7, 30)
]


@pytest.mark.parametrize(("metric", "value", "age", "weight", "rh"), READINGS)
def test_panel_level_is_the_alert_engines(metric: str, value: float, age: int, weight: float, rh: float) -> None:
    level, _, _ = comfort.band(metric, value, age, weight, rh)
    assert level == _engine(metric, value, age, weight, rh, DEFAULTS.environment)


def test_a_farms_override_moves_both_alike() -> None:
    th = EnvironmentThresholds(band_warning_c=1.0, co2_warning_ppm=2000.0)
    for metric, value in (("temperature_c", 19.0), ("co2_ppm", 2500.0)):
        level, _, _ = comfort.band(metric, value, 42, 2998.0, 60.0, th)
        assert level == "warn" == _engine(metric, value, 42, 2998.0, 60.0, th)
        assert comfort.band(metric, value, 42, 2998.0, 60.0)[0] == "ok"


def test_humidity_out_of_range_is_a_warning_as_the_alert_is() -> None:
    assert comfort.band("humidity_pct", 60.0) == ("ok", 50.0, 70.0)
    assert comfort.band("humidity_pct", 90.0)[0] == "warn"
    assert comfort.band("humidity_pct", 30.0)[0] == "warn"


def test_thresholds_start_from_farmings_limits() -> None:
    from farming.climate import DEFAULT_LIMITS

    assert DEFAULTS.environment.comfort() == DEFAULT_LIMITS
