"""Growth rules over daily flock mean weights and uniformity."""

from __future__ import annotations

from datetime import date, timedelta

from cloud.alerts.model import (
    UNIFORMITY_FALLING,
    WEIGHT_BELOW_CURVE,
    WEIGHT_GAIN_SLOW,
    AlertKey,
    Finding,
    FlockHistory,
    Severity,
)
from cloud.alerts.rules.result import NO_DATA, RuleResult, end_of_day
from cloud.alerts.thresholds import WeightThresholds
from farming.growth import ExpectedWeight


def _weight(history: FlockHistory, day: date) -> float | None:
    record = history.get(day)
    return None if record is None else record.mean_weight_g


def check_below_curve(
    history: FlockHistory, day: date, curve: ExpectedWeight | None, th: WeightThresholds
) -> RuleResult:
    """Flock mean below the breed standard (or the farm's own Gompertz fit) by a margin."""
    mean = _weight(history, day)
    age = history.context.age_days(day)
    if mean is None or age is None or age < 0 or curve is None:
        return NO_DATA
    expected = curve(age)
    if expected <= 0:
        return NO_DATA
    deficit = 100.0 * (expected - mean) / expected
    allowance = th.late_allowance_pct if age >= th.late_from_day else 0.0
    if deficit > th.below_curve_critical_pct + allowance:
        severity, limit = Severity.CRITICAL, th.below_curve_critical_pct + allowance
    elif deficit > th.below_curve_warning_pct + allowance:
        severity, limit = Severity.WARNING, th.below_curve_warning_pct + allowance
    else:
        return None
    ctx = history.context
    return Finding(
        key=AlertKey(ctx.farm, ctx.house, WEIGHT_BELOW_CURVE),
        severity=severity,
        at=end_of_day(day),
        rule="below_expected_weight",
        value=round(deficit, 1),
        threshold=limit,
        evidence={"mean_g": mean, "expected_g": round(expected, 1), "age_days": age},
    )


def check_gain(history: FlockHistory, day: date, th: WeightThresholds) -> RuleResult:
    """48-h gain <= 50 % of the previous 48 h."""
    w0, w2, w4 = (_weight(history, day - timedelta(days=n)) for n in (4, 2, 0))
    if w0 is None or w2 is None or w4 is None:
        return NO_DATA
    previous, recent = w2 - w0, w4 - w2
    if previous < th.gain_min_previous_g:
        return NO_DATA  # not growing (adult flock, or scale noise): nothing to compare
    if recent > th.gain_ratio * previous:
        return None
    ctx = history.context
    return Finding(
        key=AlertKey(ctx.farm, ctx.house, WEIGHT_GAIN_SLOW),
        severity=Severity.WARNING,
        at=end_of_day(day),
        rule="gain_48h_vs_previous_48h",
        value=round(recent / previous, 2),
        threshold=th.gain_ratio,
        evidence={"gain_48h_g": round(recent, 1), "previous_48h_g": round(previous, 1)},
    )


def check_uniformity(history: FlockHistory, day: date, th: WeightThresholds) -> RuleResult:
    now_rec, then_rec = history.get(day), history.get(day - timedelta(days=7))
    if now_rec is None or then_rec is None:
        return NO_DATA
    now, then = now_rec.uniformity_pct, then_rec.uniformity_pct
    if now is None or then is None:
        return NO_DATA
    fall = then - now
    if now >= th.uniformity_good_pct or fall < th.uniformity_drop_points:
        return None
    ctx = history.context
    return Finding(
        key=AlertKey(ctx.farm, ctx.house, UNIFORMITY_FALLING),
        severity=Severity.WARNING,
        at=end_of_day(day),
        rule="uniformity_fall_7d",
        value=round(fall, 1),
        threshold=th.uniformity_drop_points,
        evidence={"uniformity_pct": now, "week_ago_pct": then},
    )
