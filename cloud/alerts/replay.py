"""Replay: re-evaluate stored data over a period, in event time, as the live engine would have.

Flock rules run once per local day, climate rules once per stored hour, the regional rule
at each day's end. By default alerts go to a memory store (a dry run that changes nothing);
give it a `PgAlertStore` to write them.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg

from cloud.alerts.lifecycle import AlertEngine
from cloud.alerts.messages import MessageInput, place_label, render
from cloud.alerts.service import AlertService
from cloud.alerts.source_pg import (
    FlockRow,
    growth_curve,
    load_environment,
    load_farms,
    load_flocks,
    load_history,
)
from cloud.alerts.store import Alert, AlertStore, MemoryAlertStore
from cloud.alerts.thresholds import ThresholdBook
from farming.growth import ExpectedWeight

# Enough past hours for every climate rule (6 h humidity window, 1 h change).
ENV_LOOKBACK = timedelta(hours=8)


@dataclass
class ReplayResult:
    alerts: list[Alert]
    days: int
    flocks: int
    env_hours: int


def replay(
    conn: psycopg.Connection,
    start: date,
    end: date,
    tz: str = "Asia/Shanghai",
    store: AlertStore | None = None,
    thresholds: ThresholdBook | None = None,
) -> ReplayResult:
    if end < start:
        raise ValueError(f"--to {end} is before --from {start}")
    store = store if store is not None else MemoryAlertStore()
    farms = load_farms(conn)
    service = AlertService(AlertEngine(store=store), farms, thresholds)
    flocks = load_flocks(conn, start, end)
    histories = {f.flock: load_history(conn, f, end, tz) for f in flocks}
    zone = ZoneInfo(tz)
    lo = datetime.combine(start, time.min, zone).astimezone(UTC)
    hi = datetime.combine(end + timedelta(days=1), time.min, zone).astimezone(UTC)
    env = {f.house: load_environment(conn, f.house, lo - ENV_LOOKBACK, hi) for f in flocks}
    curves = {f.flock: growth_curve(conn, f) for f in flocks}
    env_hours = 0
    day = start
    while day <= end:
        day_lo = datetime.combine(day, time.min, zone).astimezone(UTC)
        for flock in flocks:
            if flock.placed_on <= day and (flock.ended_on is None or day <= flock.ended_on):
                history = histories[flock.flock]
                curve = curves[flock.flock]
                service.flock_day(history, day, curve)
                env_hours += _climate_day(
                    service, flock, history.get(day), env[flock.house], day, day_lo, curve
                )
        service.end_of_day(day)
        day += timedelta(days=1)
    opened = [a for a in store.overlapping(lo, hi) if lo <= a.opened_at < hi + timedelta(days=1)]
    return ReplayResult(opened, (end - start).days + 1, len(flocks), env_hours)


def _climate_day(
    service: AlertService,
    flock: FlockRow,
    record: Any,
    samples: list[Any],
    day: date,
    day_lo: datetime,
    curve: ExpectedWeight | None,
) -> int:
    times = [s.at for s in samples]
    first = bisect.bisect_right(times, day_lo)
    last = bisect.bisect_right(times, day_lo + timedelta(days=1))
    age = (day - flock.placed_on).days
    weight = record.mean_weight_g if record is not None and record.mean_weight_g else None
    if weight is None and curve is not None:
        weight = curve(age)
    for i in range(first, last):
        at = times[i]
        window_start = bisect.bisect_left(times, at - ENV_LOOKBACK)
        service.environment(
            flock.farm, flock.house, samples[window_start : i + 1], at, flock.breed, weight, age
        )
    return last - first


def alert_rows(
    alerts: list[Alert], names: dict[str, str], lang: str = "zh-CN"
) -> list[dict[str, Any]]:
    rows = []
    for alert in sorted(alerts, key=lambda a: (a.opened_at, str(a.key))):
        row = alert.to_dict()
        place = place_label(names.get(alert.key.farm or "", alert.key.farm), alert.key.house, lang)
        row.update(
            date=alert.opened_at.date().isoformat(),
            message=render(MessageInput.from_finding(alert.first, place), lang, reply_hint=False),
        )
        rows.append(
            {
                "date": row.pop("date"),
                "type": row.pop("type"),
                "severity": row.pop("severity"),
                **row,
            }
        )
    return rows
