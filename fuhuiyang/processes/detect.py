"""Composition root of `fuhuiyang cloud detect`: settings and the model registry in, a running worker out."""

from __future__ import annotations

import logging
import signal
import threading

from cloud.detect.dead_from import Sessions
from cloud.detect.metrics import DetectMetrics
from cloud.detect.scoped import ModelCatalog
from cloud.detect.service import DetectionService, Detector
from cloud.detect.worker import DetectOptions, RegisteredDetector, ScopedDetectors, assemble
from cloud.settings import CloudSettings
from fuhuiyang.processes.resources import broker_address, connection_factory, frame_store
from messaging.subscriber import MqttSubscriber

log = logging.getLogger(__name__)


def build(settings: CloudSettings, options: DetectOptions, metrics: DetectMetrics | None = None,
          detector: Detector | None = None) -> tuple[MqttSubscriber, DetectionService]:
    """Subscriber and service. The default detector is the registered model named in `options`
    (or `detector`); a camera or farm with its own registered model (scope in the shipped
    registry or in `settings.models_dir`) is judged by that one, re-read when the files change."""
    catalog = ModelCatalog(models_dir=settings.models_dir, default=options.model)
    sessions = Sessions(catalog.entry, options.threads)  # a model serving several cameras loads once
    detector = detector or RegisteredDetector(catalog.entry(catalog.default), sessions)
    choice = ScopedDetectors(catalog, detector, lambda entry: RegisteredDetector(entry, sessions))
    return assemble(broker_address(settings), detector, frame_store(settings),
                    connection_factory(settings, options.client_id), options, metrics or DetectMetrics(), choice)


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
