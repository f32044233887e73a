"""What a rule returns: a Finding when the condition holds, None when it is clear, or
NO_DATA when its inputs are missing (which must not resolve an open alert)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from datetime import date as Date
from enum import Enum

from cloud.alerts.model import AlertKey, Finding


class NoData(Enum):
    NO_DATA = "no_data"


NO_DATA = NoData.NO_DATA
RuleResult = Finding | None | NoData


@dataclass
class Evaluation:
    """Outcome of evaluating a set of rules for one scope at one event time."""

    at: datetime
    findings: list[Finding] = field(default_factory=list)
    cleared: list[AlertKey] = field(default_factory=list)
    no_data: list[AlertKey] = field(default_factory=list)

    def add(self, key: AlertKey, result: RuleResult) -> None:
        if isinstance(result, Finding):
            self.findings.append(result)
        elif result is None:
            self.cleared.append(key)
        else:
            self.no_data.append(key)


def end_of_day(day: Date) -> datetime:
    """Event time of a daily record: the end of that (UTC) day, when the day is complete."""
    return datetime.combine(day, time(23, 59, 59), tzinfo=UTC)
