"""Prometheus metrics for one ingest process (a registry per process, made by its composition root)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class IngestMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.received = Counter("fhy_ingest_messages_received", "MQTT messages received", ["kind"], registry=r)
        self.written = Counter("fhy_ingest_rows_written", "Rows inserted", ["table"], registry=r)
        self.duplicates = Counter(
            "fhy_ingest_duplicate_rows", "Rows already present (redelivery or replay)", ["table"], registry=r
        )
        self.rejected = Counter(
            "fhy_ingest_messages_rejected", "Messages quarantined, by reason", ["reason"], registry=r
        )
        self.retained_skipped = Counter(
            "fhy_ingest_retained_skipped", "Retained replays not ingested (each was ingested when published)",
            registry=r,
        )
        self.receipts = Counter(
            "fhy_ingest_receipts", "Receipts published to gateways after a commit, by outcome", ["outcome"],
            registry=r,
        )
        self.batches = Counter("fhy_ingest_batches", "Batches committed", registry=r)
        self.retries = Counter("fhy_ingest_batch_retries", "Batch writes retried", ["cause"], registry=r)
        self.batch_seconds = Histogram(
            "fhy_ingest_batch_seconds", "Decode + write + commit time per batch",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10), registry=r,
        )
        self.lag_seconds = Histogram(
            "fhy_ingest_event_lag_seconds", "Ingest (commit) time minus the message's event time",
            buckets=(0.1, 0.5, 1, 5, 15, 60, 300, 1800, 3600, 21600, 86400, 604800), registry=r,
        )
        self.unacked = Gauge(
            "fhy_ingest_unacked", "Messages delivered to us and not yet acknowledged", registry=r
        )
        self.queue_depth = Gauge("fhy_ingest_queue_depth", "Deliveries waiting to be batched", registry=r)
        self.connected = Gauge("fhy_ingest_broker_connected", "1 while connected to the broker", registry=r)
        self.subscribed = Gauge(
            "fhy_ingest_subscribed", "1 once the broker granted our subscriptions on this connection", registry=r
        )
