"""A drifting ammonia cell, told apart from real ammonia by the house's own CO2.

Birds give off CO2 and their litter NH3; the same ventilation dilutes both, so the daily ratio
NH3 / (CO2 - outside) moves slowly with litter age and bird size. Electrochemical NH3 cells
creep upward by a few ppm a day when they age or get wet; then the ratio climbs day after day
while CO2 does not. A real ammonia build-up from too little air raises CO2 as well. A single
sensor cannot check itself; two sensors that share a cause can check each other.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from datetime import date, datetime, timedelta

from cloud.alerts.model import SENSOR_DRIFT, AlertKey, Finding, GasDay, Severity
from cloud.alerts.rules.result import Evaluation
from cloud.alerts.thresholds import HealthThresholds

OUTSIDE_CO2_PPM = 420.0


def gas_day(day: date, hours: Sequence[tuple[float, float]], th: HealthThresholds) -> GasDay:
    """A day from its hourly (NH3 ppm, CO2 ppm) means."""
    excess = [co2 - OUTSIDE_CO2_PPM for _, co2 in hours]
    median_excess = statistics.median(excess)
    ratio = None
    if median_excess >= th.co2_excess_min_ppm:
        floor = th.co2_excess_min_ppm
        ratio = statistics.median(
            1000.0 * nh3 / max(e, floor) for (nh3, _), e in zip(hours, excess, strict=True)
        )
    return GasDay(day, statistics.fmean(nh3 for nh3, _ in hours), median_excess, ratio)


def check_nh3_drift(
    farm: str, house: str, days: Sequence[GasDay], at: datetime, th: HealthThresholds
) -> Evaluation:
    """Judge the completed days in `days` (oldest first, one per calendar day)."""
    key = AlertKey(farm, house, SENSOR_DRIFT, subject="nh3_ppm")
    result = Evaluation(at=at)
    recent = list(days[-th.nh3_drift_days :])
    ratios = [d.nh3_per_co2 for d in recent if d.nh3_per_co2 is not None]
    consecutive = all(
        b.day - a.day == timedelta(days=1) for a, b in zip(recent, recent[1:], strict=False)
    )
    if len(ratios) < th.nh3_drift_days or not consecutive:
        result.no_data.append(key)
        return result
    first = recent[0].day
    baseline = [
        (d.nh3_per_co2, d.nh3_ppm)
        for d in days[: -th.nh3_drift_days]
        if first - timedelta(days=th.nh3_drift_baseline_days) <= d.day < first
        and d.nh3_per_co2 is not None
    ]
    if len(baseline) < th.nh3_drift_min_baseline_days:
        result.no_data.append(key)
        return result
    base_ratio = max(statistics.median(r for r, _ in baseline), 1e-6)
    base_nh3 = statistics.median(n for _, n in baseline)
    climbing = all(b > a for a, b in zip(ratios, ratios[1:], strict=False))
    over = all(r >= th.nh3_drift_ratio * base_ratio for r in ratios)
    rise = recent[-1].nh3_ppm - base_nh3
    if not (climbing and over and rise >= th.nh3_drift_min_ppm):
        result.cleared.append(key)
        return result
    result.findings.append(
        Finding(
            key=key,
            severity=Severity.WARNING,
            at=at,
            rule="nh3_vs_co2",
            value=round(ratios[-1] / base_ratio, 1),
            threshold=th.nh3_drift_ratio,
            evidence={
                "nh3_ppm": round(recent[-1].nh3_ppm, 1),
                "baseline_nh3_ppm": round(base_nh3, 1),
                "ratio": round(ratios[-1], 2),
                "baseline_ratio": round(base_ratio, 2),
                "days": [d.day.isoformat() for d in recent],
            },
        )
    )
    return result
