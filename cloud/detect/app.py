"""Composition root of a detection worker: settings in, running service out.

Workers share frames through their own shared-subscription group (`detect`), separate
from ingest's, so every frame is both stored and judged.
"""

from __future__ import annotations

import logging
import queue
import signal
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import psycopg

from cloud.db.connection import connect
from cloud.detect.detector import OnnxDetector
from cloud.detect.metrics import DetectMetrics
from cloud.detect.postprocess import Detections
from cloud.detect.registry import ModelEntry, load_entry
from cloud.detect.service import DetectionService, Detector
from cloud.detect.stillness import StillnessConfig
from cloud.frames_store import LocalFrameStore
from cloud.ingest.subscriber import BrokerAddress, Delivery, MqttSubscriber
from cloud.settings import CloudSettings
from protocol.topics import Kind, shared_subscription, subscription

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DetectOptions:
    client_id: str
    group: str = "detect"
    mqtt5: bool = True
    model: str | None = None  # registry name; default model when None
    threads: int | None = None
    batch_frames: int = 4
    stillness: StillnessConfig = StillnessConfig()
    metrics_port: int | None = None  # Prometheus /metrics on this port when set


class RegisteredDetector:
    """The ONNX detector with the names the service needs."""

    def __init__(self, entry: ModelEntry, threads: int | None = None) -> None:
        self._onnx = OnnxDetector(entry, threads=threads)
        self._thresholds = entry.track_vector()
        self.classes: Sequence[str] = entry.classes
        self.name = entry.name

    def detect(self, frames: Sequence[np.ndarray]) -> list[Detections]:
        return self._onnx.detect(frames, conf=self._thresholds)


def build(settings: CloudSettings, options: DetectOptions, metrics: DetectMetrics | None = None,
          detector: Detector | None = None) -> tuple[MqttSubscriber, DetectionService]:
    """Subscriber and service; `detector` defaults to the registered model named in `options`."""
    metrics = metrics or DetectMetrics()
    deliveries: queue.Queue[Delivery] = queue.Queue(maxsize=4 * options.batch_frames)
    address = BrokerAddress.parse(
        settings.mqtt_url, settings.mqtt_username,
        settings.mqtt_password.get_secret_value() if settings.mqtt_password else None,
    )
    topic = shared_subscription(options.group, Kind.FRAME) if options.mqtt5 else subscription(Kind.FRAME)
    subscriber = MqttSubscriber(
        address, options.client_id, [topic], deliveries, metrics,  # type: ignore[arg-type]
        mqtt5=options.mqtt5, receive_maximum=2 * options.batch_frames,
    )
    detector = detector or RegisteredDetector(load_entry(options.model), options.threads)

    def open_connection() -> psycopg.Connection:
        return connect(settings.database_url, settings.database_schema, application_name=options.client_id)

    service = DetectionService(
        deliveries, subscriber, detector, open_connection, LocalFrameStore(settings.frames_dir), metrics,
        stillness=options.stillness, batch_frames=options.batch_frames,
    )
    return subscriber, service


def run_worker(options: DetectOptions, settings: CloudSettings | None = None) -> None:
    """One detection worker in this process until SIGTERM/SIGINT."""
    metrics = DetectMetrics()
    subscriber, service = build(settings or CloudSettings(), options, metrics)
    if options.metrics_port is not None:
        from prometheus_client import start_http_server

        start_http_server(options.metrics_port, registry=metrics.registry)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    subscriber.start()
    log.info("detection worker %s started (model %s)", options.client_id, service.detector.name)
    try:
        service.run(stop)
    finally:
        subscriber.stop()
