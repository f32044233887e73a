"""A person's actions on a stored alert (the app, the web page), through the lifecycle engine.

Every change of an alert's state goes through `AlertEngine`, whoever asks: the transition is
written to the alert's own log and `PgAlertStore` tells the live stream (NOTIFY). The caller's
transaction holds the change, so it can write its audit row alongside and commit both at once.
"""

from __future__ import annotations

from datetime import datetime

import psycopg

from cloud.alerts.lifecycle import AlertEngine
from cloud.alerts.store import user_actor
from cloud.alerts.store_pg import PgAlertStore


def acknowledge(conn: psycopg.Connection, row_id: int, user_id: int, at: datetime) -> bool:
    """Acknowledge the alert in row `row_id` as app user `user_id`; False if it was not open."""
    store = PgAlertStore(conn, caller_commits=True)
    alert = store.by_row(row_id)
    if alert is None:
        raise KeyError(f"no alert in row {row_id}")
    return bool(AlertEngine(store=store).acknowledge(alert.id, by=user_actor(user_id), at=at))
