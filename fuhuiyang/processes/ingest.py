"""Composition root of `fuhuiyang cloud ingest`: settings in, running workers out.

`run_workers` starts N independent worker processes (each its own MQTT session on
the shared subscription and its own database connection) and restarts one that
dies, with the same client id, so the broker hands it back its unacknowledged
messages.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import threading
import time
from typing import Any

from cloud.ingest.metrics import IngestMetrics
from cloud.ingest.service import IngestService
from cloud.ingest.worker import IngestOptions, assemble, retire, tune_gc
from cloud.settings import CloudSettings
from fuhuiyang.processes.resources import broker_address, connection_factory, frame_store
from messaging.subscriber import MqttSubscriber

log = logging.getLogger(__name__)


def build(settings: CloudSettings, options: IngestOptions,
          metrics: IngestMetrics | None = None) -> tuple[MqttSubscriber, IngestService]:
    """One worker's subscriber and service, wired to what `settings` name."""
    return assemble(broker_address(settings), frame_store(settings),
                    connection_factory(settings, options.client_id), options, metrics or IngestMetrics())


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
