"""The ingest loop: collect deliveries into batches, judge, write, commit, then acknowledge.

Acknowledging only after the commit makes the path at-least-once; the idempotent
writes make the database exactly-once. A database outage pauses the loop (no acks,
so the broker holds the messages); a batch the database refuses is split until
the offending message is found and quarantined (with its payload), so its neighbours
still land. After each commit every gateway in the batch gets a receipt (docs/protocol.md):
the gateway deletes a message from its outbox only once a receipt covers it.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import psycopg
from psycopg import errors

from cloud.ingest import sanity
from cloud.ingest.metrics import IngestMetrics
from cloud.ingest.rows import Accepted, Ignored, Judged, judge
from cloud.ingest.writer import BatchWriter, StorageUnavailable, WriteResult
from messaging.subscriber import Delivery
from protocol import Kind, Receipt, encode, topic_for

log = logging.getLogger(__name__)

_TRANSIENT = (errors.DeadlockDetected, errors.SerializationFailure, errors.LockNotAvailable)


@dataclass(frozen=True)
class _Prepared:
    deliveries: list[Delivery]
    judged: list[Judged]
    started: float


class Acker(Protocol):
    def ack(self, delivery: Delivery) -> None: ...


class ReceiptSender(Protocol):
    def publish(self, topic: str, payload: bytes) -> bool: ...


class IngestService:
    def __init__(
        self,
        deliveries: queue.Queue[Delivery],
        acker: Acker,
        connect: Callable[[], psycopg.Connection],
        writer_factory: Callable[[psycopg.Connection], BatchWriter],
        metrics: IngestMetrics,
        *,
        batch_messages: int = 500,
        batch_bytes: int = 8 * 1024 * 1024,
        batch_wait_s: float = 0.1,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        receipts: ReceiptSender | None = None,
        max_future_ms: int = sanity.DEFAULT_MAX_FUTURE_MS,
    ) -> None:
        self.deliveries = deliveries
        self.acker = acker
        self._connect = connect
        self._writer_factory = writer_factory
        self.metrics = metrics
        self.batch_messages = batch_messages
        self.batch_bytes = batch_bytes
        self.batch_wait_s = batch_wait_s
        self.clock = clock
        self.sleep = sleep
        self.receipts = receipts
        self.max_future_ms = max_future_ms
        self._writer: BatchWriter | None = None
        self._writer_error: BaseException | None = None

    # --- loop --------------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        """Decode the next batch while the previous one is written (the database works meanwhile)."""
        handoff: queue.Queue[_Prepared | None] = queue.Queue(maxsize=1)
        writer = threading.Thread(target=self._write_loop, args=(handoff, stop), name="ingest-writer",
                                  daemon=True)
        writer.start()
        try:
            while not stop.is_set() and writer.is_alive():
                batch = self.collect(timeout=0.5)
                if batch:
                    prepared = self.prepare(batch)
                    while writer.is_alive():
                        try:
                            handoff.put(prepared, timeout=0.5)
                            break
                        except queue.Full:
                            continue
        finally:
            while writer.is_alive():
                try:
                    handoff.put(None, timeout=0.5)
                    break
                except queue.Full:
                    continue
            writer.join()
        if self._writer_error is not None and not stop.is_set():
            raise RuntimeError("ingest writer failed; unacknowledged messages will be redelivered") \
                from self._writer_error

    def _write_loop(self, handoff: queue.Queue[_Prepared | None], stop: threading.Event) -> None:
        try:
            while (prepared := handoff.get()) is not None:
                self.commit(prepared, stop)
        except BaseException as exc:  # surfaced by run(): the process exits and is restarted
            self._writer_error = exc

    def drain(self, unacked: Callable[[], int], idle_s: float = 1.0, deadline_s: float = 120.0) -> bool:
        """Write whatever the broker still hands us until nothing is pending for `idle_s`.

        Used when a worker retires from the group; False if it did not come to rest in time."""
        deadline = time.monotonic() + deadline_s
        quiet_since = time.monotonic()
        while time.monotonic() < deadline:
            batch = self.collect(timeout=0.1)
            if batch:
                self.process(batch)
                quiet_since = time.monotonic()
            elif unacked() > 0 or not self.deliveries.empty():
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= idle_s:
                return True
        return False

    def collect(self, timeout: float) -> list[Delivery]:
        try:
            first = self.deliveries.get(timeout=timeout)
        except queue.Empty:
            return []
        batch, size = [first], len(first.payload)
        deadline = time.monotonic() + self.batch_wait_s
        while len(batch) < self.batch_messages and size < self.batch_bytes:
            remaining = deadline - time.monotonic()
            try:
                item = self.deliveries.get_nowait() if remaining <= 0 else self.deliveries.get(timeout=remaining)
            except queue.Empty:
                break
            batch.append(item)
            size += len(item.payload)
        self.metrics.queue_depth.set(self.deliveries.qsize())
        return batch

    def prepare(self, deliveries: list[Delivery]) -> _Prepared:
        fresh = [d for d in deliveries if not d.retain]
        if len(fresh) < len(deliveries):
            self._skip_retained([d for d in deliveries if d.retain])
        return _Prepared(deliveries, [self._judge(d) for d in fresh], time.perf_counter())

    def _skip_retained(self, replays: list[Delivery]) -> None:
        # A delivery flagged retain comes from the broker's retained store when a subscription is
        # (re)made, not from a publisher: its original was ingested when it was published (our
        # subscriptions do not ask for retain-as-published). Ingesting it again on every reconnect
        # would repeat status changes and quarantine rows. Acknowledged with its batch.
        self.metrics.retained_skipped.inc(len(replays))
        log.info("skipped %d retained replay(s), e.g. on %s", len(replays), replays[0].topic[:120])

    def _judge(self, delivery: Delivery) -> Judged:
        item = judge(delivery.topic, delivery.payload)
        if isinstance(item, Accepted):
            # The service's clock, not the delivery's stamp: the same in production, and injectable.
            return sanity.check(item, int(self.clock() * 1000), self.max_future_ms) or item
        return item

    def process(self, deliveries: list[Delivery], stop: threading.Event | None = None) -> None:
        """Prepare and commit one batch in this thread."""
        self.commit(self.prepare(deliveries), stop)

    def commit(self, prepared: _Prepared, stop: threading.Event | None = None) -> None:
        deliveries, started = prepared.deliveries, prepared.started
        result = self._write_with_retry(deliveries, prepared.judged, stop) if prepared.judged else WriteResult()
        for delivery in deliveries:  # in arrival order, as MQTT expects
            self.acker.ack(delivery)
        self._send_receipts(result)
        judged = result.judged
        now = self.clock()
        for item in judged:
            if isinstance(item, Accepted):
                self.metrics.received.labels(item.kind.value).inc()
                self.metrics.lag_seconds.observe(max(0.0, now - item.event_ms / 1000))
            elif isinstance(item, Ignored):
                self.metrics.received.labels(item.kind.value).inc()
            else:
                self.metrics.received.labels("rejected").inc()
                self.metrics.rejected.labels(item.reason).inc()
                log.warning("quarantined message on %s: %s (%s)", item.topic, item.reason, item.detail)
        self.metrics.batches.inc()
        self.metrics.batch_seconds.observe(time.perf_counter() - started)

    # --- writing -----------------------------------------------------------------
    def _write_with_retry(self, deliveries: list[Delivery], judged: list[Judged],
                          stop: threading.Event | None) -> WriteResult:
        delay = 0.5
        while True:
            try:
                return self._write_or_split(judged)
            except (psycopg.OperationalError, psycopg.InterfaceError, StorageUnavailable, *_TRANSIENT) as exc:
                cause = type(exc).__name__
                self.metrics.retries.labels(cause).inc()
                if isinstance(exc, _TRANSIENT):
                    log.info("batch of %d hit %s; retrying", len(deliveries), cause)
                    continue
                log.log(logging.WARNING if delay == 0.5 else logging.DEBUG,  # once per outage
                        "%s unavailable (%s); holding %d messages unacknowledged",
                        "frame store" if isinstance(exc, StorageUnavailable) else "database", exc,
                        len(deliveries))
                if not isinstance(exc, StorageUnavailable):
                    self._drop_connection()
                if stop is not None and stop.is_set():
                    raise
                self.sleep(delay)
                delay = min(delay * 2, 30.0)

    def _write_or_split(self, judged: list[Judged]) -> WriteResult:
        """Write; the result holds the items as finally judged (a refused one becomes a Rejection)."""
        try:
            return self._account(self._get_writer().write(judged))
        except psycopg.DatabaseError as exc:
            if isinstance(exc, (psycopg.OperationalError, *_TRANSIENT)):
                raise
            if len(judged) > 1:  # find the one message the database refuses
                middle = len(judged) // 2
                return self._write_or_split(judged[:middle]).merge(self._write_or_split(judged[middle:]))
            item = judged[0]
            if not isinstance(item, Accepted):
                raise
            log.warning("database refused a message from %s: %s", item.gateway_id, exc)
            refused = item.reject("db_rejected", str(exc))
            return self._account(self._get_writer().write([refused]))

    def _account(self, result: WriteResult) -> WriteResult:
        for table, count in result.written.items():
            self.metrics.written.labels(table).inc(count)
        for table, count in result.duplicates.items():
            if count:
                self.metrics.duplicates.labels(table).inc(count)
        return result

    def _send_receipts(self, result: WriteResult) -> None:
        """One receipt per gateway of the committed batch; a lost one is made good by the gateway's
        resend (a duplicate is receipted again), so failures are only counted."""
        if self.receipts is None:
            return
        ts = int(self.clock() * 1000)
        for gateway_id, draft in result.receipts.items():
            receipt = Receipt(gateway_id=gateway_id, ts=ts, upto=draft.upto, ranges=draft.ranges())
            sent = self.receipts.publish(topic_for(gateway_id, Kind.RECEIPT), encode(receipt))
            self.metrics.receipts.labels("sent" if sent else "failed").inc()

    def _get_writer(self) -> BatchWriter:
        if self._writer is None:
            self._writer = self._writer_factory(self._connect())
        return self._writer

    def _drop_connection(self) -> None:
        if self._writer is not None:
            try:
                self._writer.conn.close()
            except Exception:  # already broken; nothing to save
                log.debug("closing a broken connection failed", exc_info=True)
            self._writer = None

    def close(self) -> None:
        self._drop_connection()
