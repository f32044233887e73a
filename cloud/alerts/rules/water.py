"""Water intake rules, against the same house's own history (fixed thresholds mostly false-alarm)."""

from __future__ import annotations

import statistics
from datetime import date, timedelta

from cloud.alerts.model import (
    WATER_DROP,
    WATER_FLAT,
    WATER_SURGE,
    AlertKey,
    Finding,
    FlockHistory,
    Severity,
)
from cloud.alerts.rules.result import NO_DATA, RuleResult, end_of_day
from cloud.alerts.thresholds import WaterThresholds


def _water(history: FlockHistory, day: date) -> float | None:
    record = history.get(day)
    return None if record is None else record.water_l


def _week_median(history: FlockHistory, day: date, th: WaterThresholds) -> float | None:
    """Median of the 7 days before `day`, if enough of them were recorded."""
    values = [
        r.water_l for r in history.window(day - timedelta(days=1), 7) if r.water_l is not None
    ]
    if len(values) < th.surge_baseline_days:
        return None
    return float(statistics.median(values))


def _key(history: FlockHistory, kind: str) -> AlertKey:
    return AlertKey(history.context.farm, history.context.house, kind)


def check_water_drop(history: FlockHistory, day: date, th: WaterThresholds) -> RuleResult:
    today = _water(history, day)
    yesterday = _water(history, day - timedelta(days=1))
    if today is None or yesterday is None or yesterday <= 0:
        return NO_DATA
    reference, basis = yesterday, "previous_day"
    # After a leak day the return to normal is not a drop: compare with the usual level instead.
    usual = _week_median(history, day - timedelta(days=1), th)
    if usual is not None and yesterday > th.surge_ratio * usual:
        reference, basis = usual, "week_median"
    drop = 100.0 * (reference - today) / reference
    if drop <= th.drop_pct:
        return None
    return Finding(
        key=_key(history, WATER_DROP),
        # Half the usual water is a blocked line or a sick flock: both need action today.
        severity=Severity.CRITICAL if drop >= 2 * th.drop_pct else Severity.WARNING,
        at=end_of_day(day),
        rule="drop_vs_" + basis,
        value=round(drop, 1),
        threshold=th.drop_pct,
        evidence={"water_l": today, "reference_l": round(reference, 2), "basis": basis},
    )


def check_water_flat(history: FlockHistory, day: date, th: WaterThresholds) -> RuleResult:
    """Growing birds drink more every day; flat or falling intake for > 2 days precedes disease."""
    age = history.context.age_days(day)
    if age is None or age > th.growing_until_day:
        return NO_DATA
    series = [_water(history, day - timedelta(days=n)) for n in range(th.flat_days, -1, -1)]
    if any(v is None or v <= 0 for v in series):
        return NO_DATA
    values = [float(v) for v in series if v is not None]
    flat = all(
        b <= a * (1 + th.flat_tolerance_pct / 100) for a, b in zip(values, values[1:], strict=False)
    )
    if not flat:
        return None
    change = 100.0 * (values[-1] - values[0]) / values[0]
    return Finding(
        key=_key(history, WATER_FLAT),
        severity=Severity.WARNING,
        at=end_of_day(day),
        rule="flat_or_falling",
        value=round(change, 1),
        threshold=th.flat_tolerance_pct,
        evidence={"days": th.flat_days, "water_l": values, "age_days": age},
    )


def _week_high(history: FlockHistory, day: date, th: WaterThresholds) -> float | None:
    """Highest intake of the 7 days before `day`: in a growing flock that is about yesterday."""
    values = [
        r.water_l for r in history.window(day - timedelta(days=1), 7) if r.water_l is not None
    ]
    if len(values) < th.surge_baseline_days:
        return None
    return max(values)


def check_water_surge(history: FlockHistory, day: date, th: WaterThresholds) -> RuleResult:
    today = _water(history, day)
    usual = _week_high(history, day, th)
    if today is None or usual is None or usual <= 0:
        return NO_DATA
    ratio = today / usual
    if ratio <= th.surge_ratio:
        return None
    return Finding(
        key=_key(history, WATER_SURGE),
        severity=Severity.WARNING,
        at=end_of_day(day),
        rule="surge_vs_week_high",
        value=round(ratio, 2),
        threshold=th.surge_ratio,
        evidence={"water_l": today, "week_high_l": round(usual, 2)},
    )
