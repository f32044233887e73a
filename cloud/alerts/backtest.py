"""Backtest: run the daily flock rules and the lifecycle over a flock's history in event time.

Each recorded day is judged with only the records up to that day, exactly as the live
engine would have judged it, and the lifecycle decides which findings become alerts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

from cloud.alerts.lifecycle import AlertEngine, Notify
from cloud.alerts.messages import MessageInput, place_label, render
from cloud.alerts.model import DailyRecord, FlockContext, Suspect
from cloud.alerts.policy import LifecyclePolicy
from cloud.alerts.rules import evaluate_flock_day
from cloud.alerts.rules.result import end_of_day
from cloud.alerts.screening import screen
from cloud.alerts.store import MemoryAlertStore
from cloud.alerts.thresholds import ThresholdBook, Thresholds
from farming.growth import ExpectedWeight


@dataclass(frozen=True)
class BacktestResult:
    alerts: list[dict[str, Any]]
    notifications: int
    days: int


def backtest(
    records: list[DailyRecord],
    context: FlockContext,
    thresholds: Thresholds | None = None,
    curve: ExpectedWeight | None = None,
    lang: str = "zh-CN",
    policy: LifecyclePolicy | None = None,
    noted: Mapping[date, list[Suspect]] | None = None,
) -> BacktestResult:
    """`noted`: cells the file reader rejected, reported with the values the screen rejects."""
    if thresholds is None:  # the built-in defaults, with the breed's own layer
        thresholds = ThresholdBook().resolve(context.breed, context.farm, context.house)
    history = screen(context, records, thresholds, noted)
    store = MemoryAlertStore()
    engine = AlertEngine(policy, store)
    notifications = 0
    # A day whose only row was unreadable is still judged: its writer gets the question.
    for day in sorted(set(history.days) | set(history.suspects)):
        effects = engine.apply(evaluate_flock_day(history, day, thresholds, curve))
        effects += engine.tick(end_of_day(day))
        notifications += sum(1 for e in effects if isinstance(e, Notify))
    place = place_label(context.farm, context.house, lang)
    alerts = []
    for alert in store.all():
        row = alert.to_dict()
        opened = alert.opened_at.date()
        row.update(
            date=opened.isoformat(),
            last_date=alert.last_seen_at.date().isoformat(),
            resolved_on=None if alert.resolved_at is None else alert.resolved_at.date().isoformat(),
            severity=alert.severity.label,
            message=render(MessageInput.from_finding(alert.first, place), lang, reply_hint=False),
        )
        for drop in (
            "id",
            "opened_at",
            "last_seen_at",
            "resolved_at",
            "region",
            "subject",
            "acknowledged_by",
        ):
            row.pop(drop, None)
        alerts.append(_ordered(row))
    alerts.sort(key=lambda a: (a["date"], a["type"]))
    return BacktestResult(alerts=alerts, notifications=notifications, days=len(history))


def backtest_flocks(
    records: list[DailyRecord],
    context: FlockContext,
    placements: list[date],
    thresholds: Thresholds | None = None,
    curve: ExpectedWeight | None = None,
    lang: str = "zh-CN",
    noted: Mapping[date, list[Suspect]] | None = None,
) -> BacktestResult:
    """A house's records over several flocks, each judged as its own flock from its placement.

    A broiler house's year is five or six flocks: each one's ages (for the growth curve and the
    growth-expected water) count from its own placement; records before the first are left out.
    """
    starts = sorted(set(placements))
    alerts: list[dict[str, Any]] = []
    notifications = days = 0
    for i, placed in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else date.max
        rows = [r for r in records if placed <= r.day < end]
        marks = {d: s for d, s in (noted or {}).items() if placed <= d < end}
        if not rows and not marks:
            continue
        one = backtest(rows, replace(context, placed_on=placed), thresholds, curve, lang, noted=marks)
        alerts += one.alerts
        notifications += one.notifications
        days += one.days
    alerts.sort(key=lambda a: (a["date"], a["type"]))
    return BacktestResult(alerts=alerts, notifications=notifications, days=days)


def infer_placement(records: list[DailyRecord], curve: ExpectedWeight | None) -> date | None:
    """Placement date from the first weighed day and the growth curve, if the birds are young.

    Without weights there is no telling a 3-day-old flock from a 300-day-old one, so no
    guess: age-based rules then stay off rather than judge adult birds as chicks.
    """
    if curve is None:
        return None
    first = next((r for r in records if r.mean_weight_g), None)
    if first is None or first.mean_weight_g is None:
        return None
    for tenth in range(0, 56 * 10 + 1):
        if curve(tenth / 10) >= first.mean_weight_g:
            return first.day - timedelta(days=round(tenth / 10))
    return None  # heavier than the table's last week: too old to place on the curve


def _ordered(row: dict[str, Any]) -> dict[str, Any]:
    first = ("date", "type", "severity", "rule", "value", "threshold")
    return {
        **{k: row[k] for k in first if k in row},
        **{k: v for k, v in row.items() if k not in first},
    }
