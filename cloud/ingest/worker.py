"""An ingest worker from ready collaborators: broker address, frame store, database connections.

`assemble` joins them into a subscriber and its service; the process's composition root
(`fuhuiyang.processes.ingest`) reads the settings, builds the collaborators and runs it.
"""

from __future__ import annotations

import gc
import logging
import queue
from collections.abc import Callable
from dataclasses import dataclass

import psycopg

from cloud.frames_store import FrameStore
from cloud.ingest.metrics import IngestMetrics
from cloud.ingest.service import IngestService
from cloud.ingest.writer import BatchWriter, WriteMethod
from messaging.broker import BrokerAddress
from messaging.subscriber import Delivery, MqttSubscriber
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


def assemble(address: BrokerAddress, frames: FrameStore, open_connection: Callable[[], psycopg.Connection],
             options: IngestOptions, metrics: IngestMetrics) -> tuple[MqttSubscriber, IngestService]:
    """The subscriber on the shared group and the service that writes what it delivers."""
    deliveries: queue.Queue[Delivery] = queue.Queue(maxsize=options.receive_maximum)
    subscriber = MqttSubscriber(
        address, options.client_id, topics(options), deliveries, metrics,
        mqtt5=options.mqtt5, receive_maximum=options.receive_maximum,
        session_expiry_s=options.session_expiry_s, retire=options.retire,
    )

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
