"""The alert worker process's composition root (`fuhuiyang alerts run`, `alerts replay`, the demo).

Reads the cloud and SMS settings, opens the database connection, builds the SMS provider,
the alert store, the one lifecycle engine, the notification stores and the dispatcher, and
hands them to `AlertWorker`, which builds none of them itself.
"""

from __future__ import annotations

from pathlib import Path

import psycopg

from cloud.alerts.lifecycle import AlertEngine
from cloud.alerts.store_pg import PgAlertStore
from cloud.alerts.thresholds import ThresholdBook, load_book
from cloud.alerts.worker import AlertWorker
from cloud.db.connection import connect
from cloud.notify.directory_pg import PgDirectory
from cloud.notify.dispatch import Dispatcher
from cloud.notify.ledger_pg import PgLedger
from cloud.notify.outbox import Outbox
from cloud.notify.outbox_pg import PgOutboxStore
from cloud.notify.providers import SmsProvider
from cloud.notify.refusals_pg import PgRefusalLog
from cloud.notify.settings import SmsSettings, build_provider
from cloud.settings import CloudSettings


def build_worker(
    conn: psycopg.Connection,
    provider: SmsProvider,
    sms: SmsSettings | None = None,
    thresholds: ThresholdBook | None = None,
    tz: str = "Asia/Shanghai",
    heartbeat_s: float = 300.0,
) -> AlertWorker:
    """A worker on one connection, sending through `provider` with `sms`'s pacing and prices."""
    sms = sms or SmsSettings()
    alerts = PgAlertStore(conn)
    directory = PgDirectory(conn)
    outbox = Outbox(PgOutboxStore(conn), provider, refusals=PgRefusalLog(conn))
    dispatcher = Dispatcher(
        directory,
        outbox,
        alerts,
        pacing=sms.pacing(),
        place=directory.place,
        region_name=directory.region_name,
        price_per_segment=sms.price_per_segment,
        ledger=PgLedger(conn),
        sign_name=getattr(provider, "sign_name", None) or sms.sign_name,
    )
    engine = AlertEngine(store=alerts)
    return AlertWorker(conn, alerts, engine, dispatcher, outbox, thresholds, tz, heartbeat_s)


def open_database(settings: CloudSettings) -> psycopg.Connection:
    """The worker's own connection (psycopg errors propagate: the caller says what failed)."""
    conn = connect(settings.database_url, settings.database_schema)
    if not settings.database_prepared_statements:
        conn.prepare_threshold = None  # PGlite: one shared backend
    return conn


def open_worker(thresholds_path: Path | None, heartbeat_s: float) -> AlertWorker:
    """`alerts run`: everything from the FUHUIYANG_* environment. ValueError/OSError for bad
    settings or threshold files; psycopg errors when the database cannot be reached."""
    settings, sms = CloudSettings(), SmsSettings()
    provider = build_provider(sms)
    book = load_book(thresholds_path) if thresholds_path is not None else None
    conn = open_database(settings)
    return build_worker(conn, provider, sms, book, settings.timezone, heartbeat_s)
