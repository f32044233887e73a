"""The backtest of one stored flock: its recorded days (entered or imported from its book) run
through the same rules and lifecycle as live, for the web app's "which days would have alerted"."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import psycopg

from cloud.alerts.backtest import BacktestResult, backtest
from cloud.alerts.source_pg import flock_context, growth_curve, load_farms, load_flock, load_records
from cloud.alerts.thresholds import ThresholdBook


def backtest_flock(conn: psycopg.Connection, flock_id: str, until: date, tz: str, lang: str = "zh-CN",
                   book: ThresholdBook | None = None) -> BacktestResult | None:
    flock = load_flock(conn, flock_id)
    if flock is None:
        return None
    records = load_records(conn, flock, until, tz)
    thresholds = (book or ThresholdBook()).resolve(flock.breed, flock.farm, flock.house)
    farm = load_farms(conn).get(flock.farm)
    # Messages name the farm as its people know it; thresholds were resolved by its id above.
    context = replace(flock_context(flock), farm=farm.name if farm else flock.farm)
    return backtest(records, context, thresholds, curve=growth_curve(conn, flock), lang=lang)
