"""Composition root of an ingest process: settings in, running service out.

`run_workers` starts N independent worker processes (each its own MQTT session on
the shared subscription and its own database connection) and restarts one that
dies, with the same client id, so the broker hands it back its unacknowledged
messages.
"""

from __future__ import annotations

import gc
import logging
import multiprocessing
import queue
import signal
import threading
import time
from dataclasses import dataclass
from typing import Any

import psycopg

from cloud.db.connection import connect
from cloud.frames_store import open_frame_store
from cloud.ingest.metrics import IngestMetrics
from cloud.ingest.service import IngestService
from cloud.ingest.subscriber import BrokerAddress, Delivery, MqttSubscriber
from cloud.ingest.writer import BatchWriter, WriteMethod
from cloud.settings import CloudSettings
from protocol.topics import PREFIX

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IngestOptions:
    client_id: str
    group: str = "ingest"
    mqtt5: bool = True
    receive_maximum: int = 1000
    batch_messages: int = 500
    batch_wait_s: float = 0.1
    metrics_port: int | None = None
    session_expiry_s: int = 3600
    write_method: str = "auto"  # "copy", "unnest", or "auto" (copy unless the engine lacks it)
    retire: bool = False  # leave the group for good: unsubscribe, write what is held, end the session
    max_future_s: float = 600.0  # event times further ahead of receipt are quarantined (future_ts)


def topics(options: IngestOptions) -> list[str]:
    # Everything under our prefix: unknown kinds and versions are judged and quarantined
    # rather than never seen. MQTT 3.1.1 has no shared subscriptions: one plain subscriber.
    pattern = f"{PREFIX}/#"
    return [f"$share/{options.group}/{pattern}" if options.mqtt5 else pattern]


def build(settings: CloudSettings, options: IngestOptions,
          metrics: IngestMetrics | None = None) -> tuple[MqttSubscriber, IngestService]:
    metrics = metrics or IngestMetrics()
    deliveries: queue.Queue[Delivery] = queue.Queue(maxsize=options.receive_maximum)
    address = BrokerAddress.parse(
        settings.mqtt_url, settings.mqtt_username,
        settings.mqtt_password.get_secret_value() if settings.mqtt_password else None,
    )
    subscriber = MqttSubscriber(
        address, options.client_id, topics(options), deliveries, metrics,
        mqtt5=options.mqtt5, receive_maximum=options.receive_maximum,
        session_expiry_s=options.session_expiry_s, retire=options.retire,
    )
    frames = open_frame_store(settings.frames_dir, settings.frames_s3_url, settings.frames_s3_endpoint)

    def open_connection() -> psycopg.Connection:
        return connect(settings.database_url, settings.database_schema, application_name=options.client_id)

    def make_writer(conn: psycopg.Connection) -> BatchWriter:
        return BatchWriter(conn, frames, resolve_write_method(conn, options.write_method))

    service = IngestService(
        deliveries, subscriber, open_connection, make_writer, metrics,
        batch_messages=options.batch_messages, batch_wait_s=options.batch_wait_s,
        receipts=subscriber, max_future_ms=int(options.max_future_s * 1000),
    )
    return subscriber, service


def resolve_write_method(conn: psycopg.Connection, requested: str) -> WriteMethod:
    if requested in ("copy", "unnest"):
        return requested  # type: ignore[return-value]
    if requested != "auto":
        raise ValueError(f"write method must be copy, unnest or auto, not {requested!r}")
    # The PGlite TimescaleDB test engine crashes on COPY FROM STDIN; every real server has it.
    row = conn.execute("SELECT version()").fetchone()
    conn.commit()
    version = str(row[0]).lower() if row else ""
    return "unnest" if "emscripten" in version or "wasm" in version else "copy"


def tune_gc() -> None:
    """Decoding allocates ~10 short-lived objects per reading, all freed by refcount; the default
    cyclic-GC thresholds then rescan the whole heap every few batches (~30 % of decode CPU).
    Freeze what startup built and collect young objects less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)


def run_worker(options: IngestOptions, settings: CloudSettings | None = None) -> None:
    """One ingest worker in this process until SIGTERM/SIGINT."""
    settings = settings or CloudSettings()
    metrics = IngestMetrics()
    if options.metrics_port is not None:
        from prometheus_client import start_http_server

        start_http_server(options.metrics_port, registry=metrics.registry)
    subscriber, service = build(settings, options, metrics)
    if options.retire:
        retire(subscriber, service, options.client_id)
        return
    tune_gc()
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    subscriber.start()
    log.info("ingest worker %s started", options.client_id)
    try:
        service.run(stop)
    finally:
        subscriber.stop()
        service.close()


def retire(subscriber: MqttSubscriber, service: IngestService, client_id: str) -> None:
    """Take a worker id out of the shared group without losing what the broker queued for it.

    A stopped worker keeps its session, and Mosquitto keeps routing its share of the stream to
    that session (so a restart loses nothing); a worker removed for good must be retired, or
    its share is dropped when the session expires."""
    subscriber.start()
    try:
        if not subscriber.wait_retired(60):
            raise RuntimeError(f"{client_id}: broker did not confirm the unsubscription")
        drained = service.drain(lambda: subscriber.unacked)
    finally:
        service.close()
    if not drained:
        subscriber.stop()
        raise RuntimeError(f"{client_id}: messages still arriving; session kept, run --retire again")
    subscriber.stop(end_session=True)
    log.warning("ingest worker %s retired: its session is gone", client_id)


def _child(options: IngestOptions, verbose_level: int) -> None:
    logging.basicConfig(level=verbose_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    run_worker(options)


def run_workers(base: IngestOptions, count: int, log_level: int = logging.WARNING) -> None:
    """N worker processes on one shared subscription; a dead one is restarted with its id."""
    ctx = multiprocessing.get_context("spawn")

    def options_for(i: int) -> IngestOptions:
        port = None if base.metrics_port is None else base.metrics_port + i
        return IngestOptions(**{**base.__dict__, "client_id": f"{base.client_id}-{i}", "metrics_port": port})

    procs: dict[int, Any] = {}
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    while not stop.is_set():
        for i in range(count):
            proc = procs.get(i)
            if proc is None or not proc.is_alive():
                if proc is not None:
                    log.warning("ingest worker %d exited (%s); restarting", i, proc.exitcode)
                procs[i] = ctx.Process(target=_child, args=(options_for(i), log_level), daemon=False)
                procs[i].start()
        stop.wait(1.0)
    for proc in procs.values():
        proc.terminate()
    deadline = time.monotonic() + 15
    for proc in procs.values():
        proc.join(max(0.1, deadline - time.monotonic()))
