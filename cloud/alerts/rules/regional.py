"""Regional rule: several farms of one township with mortality alerts within a window."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta

from cloud.alerts.model import REGIONAL_OUTBREAK, AlertKey, Finding, MortalityEvent, Severity
from cloud.alerts.rules.result import Evaluation
from cloud.alerts.thresholds import RegionalThresholds


def check_regional(
    events: Sequence[MortalityEvent], at: datetime, th: RegionalThresholds
) -> Evaluation:
    """One finding per township where >= `min_farms` farms had mortality alerts in the window.

    Townships with events but too few farms are reported cleared, so a regional alert
    resolves once the cluster ages out of the window.
    """
    window = timedelta(hours=th.window_hours)
    by_township: dict[str, dict[str, datetime]] = defaultdict(dict)
    for event in events:
        if at - window <= event.at <= at:
            first = by_township[event.township].get(event.farm)
            if first is None or event.at < first:
                by_township[event.township][event.farm] = event.at
    result = Evaluation(at=at)
    for township, farms in sorted(by_township.items()):
        key = AlertKey(None, None, REGIONAL_OUTBREAK, region=township)
        if len(farms) < th.min_farms:
            result.cleared.append(key)
            continue
        ordered = sorted(farms.items(), key=lambda item: item[1])
        result.findings.append(
            Finding(
                key=key,
                severity=Severity.CRITICAL,
                at=at,
                rule="farms_with_mortality_in_window",
                value=len(farms),
                threshold=th.min_farms,
                evidence={
                    "township": township,
                    "farms": [farm for farm, _ in ordered],
                    "first_at": ordered[0][1].isoformat(),
                    "window_hours": th.window_hours,
                },
            )
        )
    return result
