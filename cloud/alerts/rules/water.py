"""Water intake rules, against the same house's own usual level and spread (DESIGN.md §5:
fixed thresholds mostly false-alarm, baselines must be per house)."""

from __future__ import annotations

from collections.abc import Callable
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
from cloud.alerts.rules.baseline import Series, per_expected, single, two_day
from cloud.alerts.rules.persistence import Verdict, above, below, persistent
from cloud.alerts.rules.result import NO_DATA, RuleResult, end_of_day
from cloud.alerts.thresholds import BaselineThresholds, WaterThresholds
from farming.growth import ExpectedWeight
from farming.water import expected_intake_shape

DEFAULT_BASELINE = BaselineThresholds()


def _water(history: FlockHistory, day: date) -> float | None:
    record = history.get(day)
    return None if record is None else record.water_l


def _key(history: FlockHistory, kind: str) -> AlertKey:
    return AlertKey(history.context.farm, history.context.house, kind)


_DAY, _TWO_DAYS = single("water_l"), two_day("water_l")


def _expected(history: FlockHistory, curve: ExpectedWeight | None) -> Callable[[date], float | None] | None:
    """Growth-expected intake per bird by day (shape only), when the flock's age is known."""
    if curve is None or history.context.placed_on is None:
        return None

    def on(day: date) -> float | None:
        age = history.context.age_days(day)
        return None if age is None or age < 0 else expected_intake_shape(curve, float(age))

    return on


def check_water_drop(
    history: FlockHistory,
    day: date,
    th: WaterThresholds,
    base: BaselineThresholds = DEFAULT_BASELINE,
    curve: ExpectedWeight | None = None,
) -> RuleResult:
    """Half the usual water on one day is critical at once; a lasting drop warns on day two.

    The lasting drop is judged on two-day sums against the house's own usual level and
    spread (a meter read late moves water from one day to the next; the sum keeps it).
    With the breed's weight curve, water is judged over its growth-expected intake (young
    birds drink more every day, and the rise slows week by week), so a flock is judged
    from its fifth recorded day and the slowing rise is no drop.
    """
    expected = _expected(history, curve)
    trend = expected is None
    day_series: Series = _DAY if expected is None else per_expected(_DAY, expected)
    two_series: Series = _TWO_DAYS if expected is None else per_expected(_TWO_DAYS, expected, 2)

    def litres(d: date, days: int) -> float:
        if expected is None:
            return 1.0
        return sum(expected(d - timedelta(days=n)) or 0.0 for n in range(days))

    one_day = below(history, day, day_series, 2 * th.drop_pct, base, trend=trend)
    if one_day is not None and one_day.out_of_line:
        return _drop(history, day, one_day, Severity.CRITICAL, "day_vs_usual", litres(day, 1))
    today, lasting = persistent(
        lambda d, lag: below(history, d, two_series, th.drop_2day_pct, base, lag, trend), day
    )
    if one_day is None and today is None:
        return NO_DATA
    if today is not None and lasting:
        return _drop(
            history, day, today, Severity.WARNING, "two_day_sum_vs_usual_2_days", litres(day, 2)
        )
    return None


def _drop(
    history: FlockHistory,
    day: date,
    verdict: Verdict,
    severity: Severity,
    rule: str,
    scale: float = 1.0,
) -> Finding:
    """`scale` turns a verdict on water over its expected intake back into litres."""
    return Finding(
        key=_key(history, WATER_DROP),
        severity=severity,
        at=end_of_day(day),
        rule=rule,
        value=round(-verdict.change_pct, 1),
        threshold=round(verdict.limit_pct, 1),
        evidence={
            "water_l": round(verdict.value * scale, 1),
            "usual_l": round(verdict.usual * scale, 1),
            "spread_pct": round(verdict.spread_pct, 1),
        },
    )


def check_water_flat(
    history: FlockHistory, day: date, th: WaterThresholds, curve: ExpectedWeight | None = None
) -> RuleResult:
    """Growing birds drink more every day; flat or falling intake for > 2 days precedes disease.

    With the breed's curve, judged only while the birds are expected to drink clearly more
    (twice the tolerance a day): older broilers and slow breeds gain 2-3 % a day, and three
    noisy days without a rise are then no alarm.
    """
    age = history.context.age_days(day)
    if age is None or age > th.growing_until_day:
        return NO_DATA
    series = [_water(history, day - timedelta(days=n)) for n in range(th.flat_days, -1, -1)]
    if any(v is None or v <= 0 for v in series):
        return NO_DATA
    expected = _expected(history, curve)
    if expected is not None:
        first, last = expected(day - timedelta(days=th.flat_days)), expected(day)
        rise = (1 + 2 * th.flat_tolerance_pct / 100) ** th.flat_days
        if first is not None and last is not None and last < first * rise:
            return None  # not expected to drink clearly more: flat is normal
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


def check_water_surge(
    history: FlockHistory,
    day: date,
    th: WaterThresholds,
    base: BaselineThresholds = DEFAULT_BASELINE,
) -> RuleResult:
    """A leak or a stuck nipple: far over the usual level on two days running."""
    today, lasting = persistent(
        lambda d, lag: above(history, d, _DAY, th.surge_ratio, base, lag), day
    )
    if today is None:
        return NO_DATA
    if not lasting:
        return None
    return Finding(
        key=_key(history, WATER_SURGE),
        severity=Severity.WARNING,
        at=end_of_day(day),
        rule="over_usual_2_days",
        value=round(1 + today.change_pct / 100, 2),
        threshold=round(1 + today.limit_pct / 100, 2),
        evidence={"water_l": round(today.value, 1), "usual_l": round(today.usual, 1)},
    )
