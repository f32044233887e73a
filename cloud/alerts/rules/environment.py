"""House climate rules over an (hourly) environment series, judged at event time `at`."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta

from cloud.alerts.model import (
    CO2_HIGH,
    HEAT_STRESS,
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

# A reading older than this says nothing about now; the health rules report the silence.
STALE_AFTER = timedelta(hours=2)


def wet_bulb_stull(t_c: float, rh_pct: float) -> float:
    """Wet-bulb temperature (°C) from air temperature and RH (Stull 2011, ±0.3 °C for RH 5-99 %)."""
    rh = min(max(rh_pct, 5.0), 99.0)
    return (
        t_c * math.atan(0.151977 * math.sqrt(rh + 8.313659))
        + math.atan(t_c + rh)
        - math.atan(rh - 1.676331)
        + 0.00391838 * rh**1.5 * math.atan(0.023101 * rh)
        - 4.686035
    )


def thi(t_c: float, rh_pct: float) -> float:
    """Temperature-humidity index for broilers: 0.85·Tdb + 0.15·Twb (Tao & Xin 2003)."""
    return 0.85 * t_c + 0.15 * wet_bulb_stull(t_c, rh_pct)


def target_temperature(weight_g: float, rh_pct: float | None, th: EnvironmentThresholds) -> float:
    """House temperature the birds need at this weight, corrected for humidity."""
    curve = th.target_curve
    w = max(weight_g, 1.0)
    if w <= curve[0][0]:
        base = curve[0][1]
    elif w >= curve[-1][0]:
        base = curve[-1][1]
    else:
        base = curve[-1][1]
        for (w0, t0), (w1, t1) in zip(curve, curve[1:], strict=False):
            if w <= w1:
                frac = (math.log(w) - math.log(w0)) / (math.log(w1) - math.log(w0))
                base = t0 + (t1 - t0) * frac
                break
    rh = th.reference_rh_pct if rh_pct is None else min(max(rh_pct, 30.0), 90.0)
    return base - th.rh_correction_c_per_pct * (rh - th.reference_rh_pct)


def check_environment(
    samples: Sequence[EnvSample],
    at: datetime,
    farm: str,
    house: str | None,
    th: EnvironmentThresholds,
    weight_g: float | None = None,
    age_days: int | None = None,
) -> Evaluation:
    """All climate rules for one house. `samples` are sorted by time; later ones are ignored."""
    past = [s for s in samples if s.at <= at]
    result = Evaluation(at=at)

    def key(kind: str) -> AlertKey:
        return AlertKey(farm, house, kind)

    latest = past[-1] if past and at - past[-1].at <= STALE_AFTER else None
    checks: list[tuple[str, RuleResult]] = [
        (TEMPERATURE_BAND, _band(latest, key(TEMPERATURE_BAND), weight_g, th)),
        (TEMPERATURE_CHANGE, _change(past, latest, key(TEMPERATURE_CHANGE), th)),
        (HEAT_STRESS, _heat(latest, key(HEAT_STRESS), th)),
        (NH3_HIGH, _nh3(latest, key(NH3_HIGH), age_days, th)),
        (CO2_HIGH, _co2(latest, key(CO2_HIGH), th)),
        (HUMIDITY_RANGE, _humidity(past, latest, key(HUMIDITY_RANGE), th)),
    ]
    for kind, outcome in checks:
        result.add(key(kind), outcome)
    return result


def _band(
    s: EnvSample | None, key: AlertKey, weight_g: float | None, th: EnvironmentThresholds
) -> RuleResult:
    if s is None or s.temperature_c is None or weight_g is None:
        return NO_DATA
    target = target_temperature(weight_g, s.humidity_pct, th)
    dev = s.temperature_c - target
    if abs(dev) <= th.band_warning_c:
        return None
    severity = Severity.CRITICAL if abs(dev) > th.band_critical_c else Severity.WARNING
    return Finding(
        key=key,
        severity=severity,
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
    index = thi(s.temperature_c, s.humidity_pct)
    if index < th.thi_alert:
        return None
    if index >= th.thi_emergency:
        band, severity, limit = "emergency", Severity.CRITICAL, th.thi_emergency
    elif index >= th.thi_danger:
        band, severity, limit = "danger", Severity.CRITICAL, th.thi_danger
    else:
        band, severity, limit = "alert", Severity.WARNING, th.thi_alert
    return Finding(
        key=key,
        severity=severity,
        at=s.at,
        rule=f"thi_{band}",
        value=round(index, 2),
        threshold=limit,
        evidence={"band": band, "temperature_c": s.temperature_c, "humidity_pct": s.humidity_pct},
    )


def _nh3(
    s: EnvSample | None, key: AlertKey, age: int | None, th: EnvironmentThresholds
) -> RuleResult:
    if s is None or s.nh3_ppm is None:
        return NO_DATA
    chick = age is not None and age < th.chick_until_day
    warn = th.nh3_chick_warning_ppm if chick else th.nh3_warning_ppm
    return _level(s, key, s.nh3_ppm, warn, th.nh3_critical_ppm, "nh3")


def _co2(s: EnvSample | None, key: AlertKey, th: EnvironmentThresholds) -> RuleResult:
    if s is None or s.co2_ppm is None:
        return NO_DATA
    return _level(s, key, s.co2_ppm, th.co2_warning_ppm, th.co2_critical_ppm, "co2")


def _level(
    s: EnvSample, key: AlertKey, value: float, warn: float, crit: float, name: str
) -> RuleResult:
    if value <= warn:
        return None
    severity, limit = (Severity.CRITICAL, crit) if value > crit else (Severity.WARNING, warn)
    return Finding(
        key=key, severity=severity, at=s.at, rule=f"{name}_above", value=value, threshold=limit
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
