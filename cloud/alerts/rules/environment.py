"""House climate rules over an (hourly) environment series, judged at event time `at`."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from datetime import datetime, timedelta

from cloud.alerts.model import (
    CO2_HIGH,
    HEAT_STRESS,
    HEAT_WAVE,
    HUMIDITY_RANGE,
    NH3_HIGH,
    TEMPERATURE_BAND,
    TEMPERATURE_CHANGE,
    AlertKey,
    EnvSample,
    Finding,
    Severity,
)
from cloud.alerts.rules.result import NO_DATA, Evaluation, RuleResult
from cloud.alerts.thresholds import EnvironmentThresholds
from farming.climate import Band, thi

# A reading older than this says nothing about now; the health rules report the silence.
STALE_AFTER = timedelta(hours=2)
# farming's comfort levels as alert severities (the farmer's page shows the same levels).
SEVERITY = {"warn": Severity.WARNING, "bad": Severity.CRITICAL}


def target_temperature(
    weight_g: float, rh_pct: float | None, th: EnvironmentThresholds, age_days: float | None = None
) -> float:
    """House temperature the birds need at this weight (and age), corrected for humidity."""
    return th.comfort().target_temperature_c(weight_g, age_days, rh_pct)


def check_environment(
    samples: Sequence[EnvSample],
    at: datetime,
    farm: str,
    house: str | None,
    th: EnvironmentThresholds,
    weight_g: float | None = None,
    age_days: int | None = None,
    usual_peak_thi: float | None = None,
) -> Evaluation:
    """All climate rules for one house. `samples` are sorted by time; later ones are ignored.

    `usual_peak_thi`: the house's usual daily peak THI over the past days (the heat its birds
    are used to); without it the heat-wave rule does not judge.
    """
    past = [s for s in samples if s.at <= at]
    result = Evaluation(at=at)

    def key(kind: str) -> AlertKey:
        return AlertKey(farm, house, kind)

    latest = past[-1] if past and at - past[-1].at <= STALE_AFTER else None
    brooding = _brooding(latest, weight_g, age_days, th)
    checks: list[tuple[str, RuleResult]] = [
        (TEMPERATURE_BAND, _band(latest, key(TEMPERATURE_BAND), weight_g, age_days, th)),
        (TEMPERATURE_CHANGE, _change(past, latest, key(TEMPERATURE_CHANGE), th)),
        (HEAT_STRESS, None if brooding else _heat(latest, key(HEAT_STRESS), th)),
        (HEAT_WAVE, None if brooding else _heat_wave(latest, key(HEAT_WAVE), usual_peak_thi, th)),
        (NH3_HIGH, _nh3(latest, key(NH3_HIGH), age_days, th)),
        (CO2_HIGH, _co2(latest, key(CO2_HIGH), th)),
        (HUMIDITY_RANGE, _humidity(past, latest, key(HUMIDITY_RANGE), th)),
    ]
    for kind, outcome in checks:
        result.add(key(kind), outcome)
    return result


def _brooding(
    s: EnvSample | None, weight_g: float | None, age_days: int | None, th: EnvironmentThresholds
) -> bool:
    """Chicks still brooded: their target band, not the broiler THI bands, says too hot."""
    if s is None or weight_g is None:
        return False
    return th.comfort().brooding(weight_g, age_days, s.humidity_pct)


def _band(
    s: EnvSample | None,
    key: AlertKey,
    weight_g: float | None,
    age_days: int | None,
    th: EnvironmentThresholds,
) -> RuleResult:
    if s is None or s.temperature_c is None or weight_g is None:
        return NO_DATA
    comfort = th.comfort()
    band = comfort.temperature(s.temperature_c, weight_g, age_days, s.humidity_pct)
    if band.level == "ok":
        return None
    target = comfort.target_temperature_c(weight_g, age_days, s.humidity_pct)
    dev = s.temperature_c - target
    return Finding(
        key=key,
        severity=SEVERITY[band.level],
        at=s.at,
        rule="too_cold" if dev < 0 else "too_hot",
        value=s.temperature_c,
        threshold=round(target, 1),
        evidence={"target_c": round(target, 1), "deviation_c": round(dev, 1), "weight_g": weight_g},
    )


def _change(
    past: Sequence[EnvSample], s: EnvSample | None, key: AlertKey, th: EnvironmentThresholds
) -> RuleResult:
    if s is None or s.temperature_c is None:
        return NO_DATA
    # The reading closest to one hour earlier, within 30-90 min.
    earlier = [
        p
        for p in past
        if p.temperature_c is not None
        and timedelta(minutes=30) <= s.at - p.at <= timedelta(minutes=90)
    ]
    if not earlier:
        return NO_DATA
    prev = min(earlier, key=lambda p: abs((s.at - p.at) - timedelta(hours=1)))
    assert prev.temperature_c is not None
    hours = (s.at - prev.at).total_seconds() / 3600
    rate = (s.temperature_c - prev.temperature_c) / hours
    if abs(rate) <= th.change_warning_c_per_h:
        return None
    severity = Severity.CRITICAL if abs(rate) > th.change_critical_c_per_h else Severity.WARNING
    return Finding(
        key=key,
        severity=severity,
        at=s.at,
        rule="falling" if rate < 0 else "rising",
        value=round(rate, 2),
        threshold=th.change_warning_c_per_h,
        evidence={
            "from_c": prev.temperature_c,
            "to_c": s.temperature_c,
            "minutes": round(hours * 60),
        },
    )


def _heat(s: EnvSample | None, key: AlertKey, th: EnvironmentThresholds) -> RuleResult:
    if s is None or s.temperature_c is None or s.humidity_pct is None:
        return NO_DATA
    band, limit = th.comfort().heat(s.temperature_c, s.humidity_pct)
    if limit is None:
        return None
    return Finding(
        key=key,
        severity=Severity.WARNING if band == "alert" else Severity.CRITICAL,
        at=s.at,
        rule=f"thi_{band}",
        value=round(thi(s.temperature_c, s.humidity_pct), 2),
        threshold=limit,
        evidence={"band": band, "temperature_c": s.temperature_c, "humidity_pct": s.humidity_pct},
    )


def _heat_wave(
    s: EnvSample | None, key: AlertKey, usual_peak: float | None, th: EnvironmentThresholds
) -> RuleResult:
    """Hotter than the birds are used to: a heat wave, not the summer's daily heat.

    Birds acclimatise over days to the heat they live in; the deaths come on the day that is
    far hotter than the past week. So the THI must be in the emergency band and at least
    `heat_wave_margin_thi` above the house's usual daily peak. Being a new, worse condition
    than the heat stress already told, it is its own alert with its own action.
    """
    if s is None or s.temperature_c is None or s.humidity_pct is None or usual_peak is None:
        return NO_DATA
    if s.co2_ppm is not None and s.co2_ppm > th.co2_warning_ppm:
        return None  # heat from air that does not move: the ventilation's failure (co2_high)
    index = thi(s.temperature_c, s.humidity_pct)
    limit = max(th.thi_emergency, usual_peak + th.heat_wave_margin_thi)
    if index < limit:
        return None
    return Finding(
        key=key,
        severity=Severity.CRITICAL,
        at=s.at,
        rule="above_usual_peak",
        value=round(index, 1),
        threshold=round(limit, 1),
        evidence={"usual_peak_thi": round(usual_peak, 1), "above_usual": round(index - usual_peak, 1),
                  "temperature_c": s.temperature_c, "humidity_pct": s.humidity_pct},
    )


def usual_peak_thi(daily_peaks: Sequence[float], min_days: int) -> float | None:
    """Median of the past days' peak THI (the heat the birds are used to); None if too few."""
    if len(daily_peaks) < min_days:
        return None
    return float(statistics.median(daily_peaks))


def _nh3(
    s: EnvSample | None, key: AlertKey, age: int | None, th: EnvironmentThresholds
) -> RuleResult:
    if s is None or s.nh3_ppm is None:
        return NO_DATA
    return _ceiling(s, key, s.nh3_ppm, th.comfort().nh3(s.nh3_ppm, age), th.nh3_critical_ppm, "nh3")


def _co2(s: EnvSample | None, key: AlertKey, th: EnvironmentThresholds) -> RuleResult:
    if s is None or s.co2_ppm is None:
        return NO_DATA
    return _ceiling(s, key, s.co2_ppm, th.comfort().co2(s.co2_ppm), th.co2_critical_ppm, "co2")


def _ceiling(
    s: EnvSample, key: AlertKey, value: float, band: Band, crit: float, name: str
) -> RuleResult:
    if band.level == "ok" or band.high is None:
        return None
    limit = crit if band.level == "bad" else band.high
    return Finding(
        key=key, severity=SEVERITY[band.level], at=s.at, rule=f"{name}_above", value=value,
        threshold=limit,
    )


def _humidity(
    past: Sequence[EnvSample], s: EnvSample | None, key: AlertKey, th: EnvironmentThresholds
) -> RuleResult:
    """RH out of range for the whole of the last N hours (a brief spike is not a problem)."""
    if s is None or s.humidity_pct is None:
        return NO_DATA
    span = timedelta(hours=th.rh_sustained_hours)
    window = [p for p in past if p.humidity_pct is not None and s.at - p.at <= span]
    # Need a reading near the start of the window, or "sustained" is a guess.
    if not window or s.at - window[0].at < span - timedelta(minutes=75):
        return NO_DATA
    values = [p.humidity_pct for p in window if p.humidity_pct is not None]
    low = all(v < th.rh_low_pct for v in values)
    high = all(v > th.rh_high_pct for v in values)
    if not (low or high):
        return None
    return Finding(
        key=key,
        severity=Severity.WARNING,
        at=s.at,
        rule="humidity_low" if low else "humidity_high",
        value=s.humidity_pct,
        threshold=th.rh_low_pct if low else th.rh_high_pct,
        evidence={"hours": th.rh_sustained_hours, "min_pct": min(values), "max_pct": max(values)},
    )
