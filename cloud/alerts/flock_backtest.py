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
    house = conn.execute("SELECT name FROM houses WHERE id = %s", (flock.house,)).fetchone()
    # Messages name the farm and house as their people know them; thresholds were resolved by id above.
    context = replace(flock_context(flock), farm=farm.name if farm else flock.farm,
                      house=house[0] if house and house[0] else flock.house)
    return backtest(records, context, thresholds, curve=growth_curve(conn, flock), lang=lang)
