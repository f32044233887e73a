"""A day's written values that were not believed, as one finding for the person who wrote them."""

from __future__ import annotations

from datetime import date

from cloud.alerts.model import RECORD_SUSPECT, AlertKey, Finding, FlockHistory, Severity
from cloud.alerts.rules.result import RuleResult, end_of_day


def check_record(history: FlockHistory, day: date) -> RuleResult:
    suspects = history.suspects.get(day, ())
    if not suspects:
        return None
    first = suspects[0]
    ctx = history.context
    return Finding(
        key=AlertKey(ctx.farm, ctx.house, RECORD_SUSPECT),
        severity=Severity.WARNING,
        at=end_of_day(day),
        rule="value_not_believed",
        value=len(suspects),
        evidence={
            "day": day.isoformat(),
            "column": first.column,
            "written": first.value,
            "reason": first.reason,
            "suspects": [s.to_dict() for s in suspects],
        },
    )
