"""Prometheus metrics for one detection worker process."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class DetectMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.frames = Counter("fhy_detect_frames", "Frames judged", ["light"], registry=r)
        self.duplicates = Counter("fhy_detect_duplicate_frames", "Frames already judged (redelivery)", registry=r)
        self.rejected = Counter("fhy_detect_rejected_frames", "Frames that could not be judged", ["reason"], registry=r)
        self.in_zones = Counter(
            "fhy_detect_in_zones", "Detections dropped inside a camera's no-report zone", registry=r
        )
        self.candidates = Counter("fhy_detect_dead_birds", "Dead birds confirmed by stillness", registry=r)
        self.unplaced = Counter(
            "fhy_detect_unplaced", "Deaths seen on a gateway or camera with no known house", registry=r
        )
        self.inference_seconds = Histogram(
            "fhy_detect_inference_seconds", "Model time per frame",
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5), registry=r,
        )
        self.connected = Gauge("fhy_detect_broker_connected", "1 while connected to the broker", registry=r)
        self.subscribed = Gauge(
            "fhy_detect_subscribed", "1 once the broker granted our subscription on this connection", registry=r
        )
