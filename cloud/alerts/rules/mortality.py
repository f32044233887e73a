"""Mortality rules and the suspected-notifiable-disease rule, over daily flock records.

Triggers (DESIGN.md §5): GeflPestSchV §4 (>= 3 dead in 24 h for flocks <= 100 birds, > 2 %
above that), the Dutch rule (>= 0.5 %/day on 2 consecutive days) and Gonzales & Elbers 2018
(2.9x the previous week's daily mean). All fire as one `mortality` alert; `triggers` says which.
"""

from __future__ import annotations

import math
import statistics
from datetime import date, timedelta

from cloud.alerts.model import (
    EGG_DROP,
    MORTALITY,
    SUSPECTED_DISEASE,
    AlertKey,
    DailyRecord,
    Finding,
    FlockHistory,
    Severity,
)
from cloud.alerts.rules.baseline import two_day
from cloud.alerts.rules.persistence import below, persistent
from cloud.alerts.rules.result import NO_DATA, RuleResult, end_of_day
from cloud.alerts.thresholds import (
    BaselineThresholds,
    DiseaseThresholds,
    EggThresholds,
    MortalityThresholds,
)

DEFAULT_BASELINE = BaselineThresholds()
_EGGS = two_day("eggs")


def check_mortality(history: FlockHistory, day: date, th: MortalityThresholds) -> RuleResult:
    record = history.get(day)
    alive = history.alive(day)
    if record is None or alive is None or alive <= 0 or history.suspect(day, "deaths"):
        return NO_DATA
    deaths = record.deaths
    pct = 100.0 * deaths / alive
    triggers: list[dict[str, object]] = []
    severity = Severity.INFO

    if alive <= th.small_flock_max_birds:
        if deaths >= th.small_flock_deaths_24h:
            triggers.append({"rule": "small_flock_24h", "threshold": th.small_flock_deaths_24h})
            severity = Severity.CRITICAL
    elif pct >= th.large_flock_pct_24h - 1e-9:  # 2 % itself alerts (see thresholds)
        triggers.append({"rule": "pct_24h", "threshold": th.large_flock_pct_24h})
        severity = Severity.CRITICAL

    if _consecutive(history, day, th):
        triggers.append({"rule": "consecutive_days", "threshold": th.consecutive_pct})
        severity = Severity.CRITICAL

    ratio = _ratio_trigger(history, day, alive, deaths, th)
    if ratio is not None:
        triggers.append(ratio)
        severity = max(severity, Severity.WARNING)

    if not triggers:
        return None
    first = triggers[0]
    return Finding(
        key=AlertKey(history.context.farm, history.context.house, MORTALITY),
        severity=severity,
        at=end_of_day(day),
        rule=str(first["rule"]),
        value=round(pct, 3),
        threshold=_as_float(first["threshold"]),
        evidence={"deaths": deaths, "alive": alive, "pct": round(pct, 3), "triggers": triggers},
    )


def _consecutive(history: FlockHistory, day: date, th: MortalityThresholds) -> bool:
    for back in range(th.consecutive_days):
        d = day - timedelta(days=back)
        record, alive = history.get(d), history.alive(d)
        if record is None or not alive:
            return False
        if record.deaths < th.consecutive_min_deaths:
            return False
        if 100.0 * record.deaths / alive < th.consecutive_pct:
            return False
    return True


def _ratio_trigger(
    history: FlockHistory, day: date, alive: int, deaths: int, th: MortalityThresholds
) -> dict[str, object] | None:
    """2.9x the previous week's daily mean, and statistically out of line with the recent past.

    The ratio alone fires on noise: a flock losing one bird a day has weeks with two deaths
    and then a day with three. So the count must also be implausible against the previous
    `ratio_test_days` (conditional binomial test of two Poisson counts, which accounts for
    the baseline being an estimate), with the baseline floored at the normal loss rate.
    """
    week = history.window(day - timedelta(days=1), 7)
    if len(week) < th.ratio_min_baseline_days:
        return None
    floor = alive * th.baseline_floor_per_10k / 10_000
    week_mean = max(sum(r.deaths for r in week) / len(week), floor)
    if deaths < max(th.ratio_min_deaths, th.ratio_to_last_week * week_mean):
        return None
    past = history.window(day - timedelta(days=1), th.ratio_test_days)
    n = len(past)
    base = max(sum(r.deaths for r in past), math.ceil(n * floor))
    p_value = binomial_sf(deaths, deaths + base, 1.0 / (n + 1))
    if p_value >= th.ratio_max_p_value:
        return None
    return {
        "rule": "ratio_to_last_week",
        "threshold": th.ratio_to_last_week,
        "baseline_per_day": round(week_mean, 3),
        "p_value": float(f"{p_value:.3g}"),
    }


def binomial_sf(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p), summed over the tail in log space."""
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    log_p, log_q = math.log(p), math.log1p(-p)
    total = 0.0
    for i in range(k, n + 1):
        term = math.exp(
            math.lgamma(n + 1)
            - math.lgamma(i + 1)
            - math.lgamma(n - i + 1)
            + i * log_p
            + (n - i) * log_q
        )
        total += term
        if i > n * p and term < 1e-17 * total:
            break
    return min(total, 1.0)


def check_suspected_disease(
    history: FlockHistory, day: date, mortality: RuleResult, th: DiseaseThresholds
) -> RuleResult:
    """Mortality together with a water, feed or egg drop: suspect HPAI / Newcastle disease."""
    if not isinstance(mortality, Finding):
        return mortality  # no mortality alert: clear, or no data to judge
    signals: list[dict[str, object]] = []
    for back in range(th.lookback_days):
        d = day - timedelta(days=back)
        today = history.get(d)
        if today is None:
            continue
        before = history.window(d - timedelta(days=1), 7)
        for name, limit in (
            ("water_l", th.water_drop_pct),
            ("feed_kg", th.feed_drop_pct),
            ("eggs", th.egg_drop_pct),
        ):
            drop = _drop_pct(getattr(today, name), _usual(before, name))
            if drop is not None and drop >= limit:
                signals.append({"signal": name, "date": d.isoformat(), "drop_pct": round(drop, 1)})
    if not signals:
        return None
    ctx = history.context
    return Finding(
        key=AlertKey(ctx.farm, ctx.house, SUSPECTED_DISEASE),
        severity=Severity.CRITICAL,
        at=end_of_day(day),
        rule="mortality_with_intake_drop",
        value=mortality.value,
        evidence={"mortality": dict(mortality.evidence), "signals": signals},
    )


def check_egg_drop(
    history: FlockHistory,
    day: date,
    th: EggThresholds,
    base: BaselineThresholds = DEFAULT_BASELINE,
) -> RuleResult:
    """Eggs down on two days running, judged on two-day sums against the flock's own level.

    Eggs collected late make one day 20-50 % short and the next day make it up: the two-day
    sum cancels that, and the second day's confirmation drops the one short sum left.
    """
    today, lasting = persistent(lambda d, lag: below(history, d, _EGGS, th.drop_pct, base, lag), day)
    if today is None or today.usual < 2 * th.min_baseline_eggs:
        return NO_DATA
    if not lasting:
        return None
    ctx = history.context
    return Finding(
        key=AlertKey(ctx.farm, ctx.house, EGG_DROP),
        severity=Severity.WARNING,
        at=end_of_day(day),
        rule="two_day_sum_vs_usual_2_days",
        value=round(-today.change_pct, 1),
        threshold=round(today.limit_pct, 1),
        evidence={
            "eggs_2d": int(today.value),
            "usual_2d": round(today.usual, 1),
            "spread_pct": round(today.spread_pct, 1),
        },
    )


def _usual(records: list[DailyRecord], name: str) -> float | None:
    """The flock's usual level before a day: the median of the previous week's values.

    A median rather than yesterday keeps the signal up while intake stays low, for as
    long as the deaths continue, instead of only on the day it fell.
    """
    values = [v for r in records if (v := getattr(r, name)) is not None]
    return float(statistics.median(values)) if values else None


def _drop_pct(now: float | None, prev: float | None) -> float | None:
    if now is None or prev is None or prev <= 0:
        return None
    return 100.0 * (prev - now) / prev


def _as_float(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) else None
