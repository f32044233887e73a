"""A detection worker from ready collaborators: broker address, detector, frame store, connections.

The process's composition root (`fuhuiyang.processes.detect`) reads the settings, loads the
model from the registry, builds the collaborators and runs the service. Workers share frames
through their own shared-subscription group (`detect`), separate from ingest's, so every
frame is both stored and judged.
"""

from __future__ import annotations

import logging
import queue
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import psycopg

from cloud.detect.dead_from import Sessions, served_detector
from cloud.detect.metrics import DetectMetrics
from cloud.detect.postprocess import Detections
from cloud.detect.registry import ModelEntry, RegistryError
from cloud.detect.scoped import ModelCatalog
from cloud.detect.service import DetectionService, Detector
from cloud.detect.stillness import StillnessConfig
from cloud.frames_store import FrameStore
from messaging.broker import BrokerAddress
from messaging.subscriber import Delivery, MqttSubscriber
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
    """A registry entry's detector (`served_detector`) with the names the service needs."""

    def __init__(self, entry: ModelEntry, sessions: Sessions) -> None:
        self.served = served_detector(entry, sessions)
        self._thresholds = entry.track_vector()
        self.classes: Sequence[str] = entry.classes
        self.name = self.served.name

    def detect(self, frames: Sequence[np.ndarray]) -> list[Detections]:
        return self.served.detect(frames, conf=self._thresholds)


class ScopedDetectors:
    """A camera's detector: the catalog's choice for it (camera-scoped, farm-scoped or default),
    built once per model and rebuilt when its registration changes. A scoped model that cannot
    be loaded (file missing, checksum wrong) is logged once and the default judges instead."""

    def __init__(self, catalog: ModelCatalog, default: Detector,
                 build: Callable[[ModelEntry], Detector]) -> None:
        self.catalog = catalog
        self.default = default
        self._build = build
        self._built: dict[str, tuple[str, Detector]] = {}
        self._broken: dict[str, str] = {}  # name -> fingerprint that failed to load

    def refresh(self) -> None:
        if self.catalog.refresh():
            log.info("model registry reloaded: %s entries", len(self.catalog.entries))

    def for_camera(self, farm_id: str | None, gateway_id: str, camera: str) -> Detector:
        name = self.catalog.pick(farm_id, f"{gateway_id}/{camera}")
        if name in (self.default.name, self.catalog.default):
            return self.default
        fingerprint = self.catalog.fingerprint(name)
        built = self._built.get(name)
        if built is not None and built[0] == fingerprint:
            return built[1]
        if self._broken.get(name) == fingerprint:
            return self.default
        try:
            detector = self._build(self.catalog.entry(name))
            if "dead" not in detector.classes:
                raise ValueError(f"it has no 'dead' class ({', '.join(detector.classes)})")
        except (RegistryError, OSError, ValueError, KeyError, RuntimeError) as exc:
            self._broken[name] = fingerprint
            log.error("model %s for camera %s/%s cannot be loaded (%s); the default model %s judges it",
                      name, gateway_id, camera, exc, self.default.name)
            return self.default
        self._built[name] = (fingerprint, detector)
        log.info("model %s loaded for camera %s/%s", name, gateway_id, camera)
        return detector


def assemble(address: BrokerAddress, detector: Detector, frames: FrameStore,
             open_connection: Callable[[], psycopg.Connection], options: DetectOptions,
             metrics: DetectMetrics, choice: ScopedDetectors | None = None) -> tuple[MqttSubscriber, DetectionService]:
    """The subscriber on the frames' shared group and the service that judges what it delivers;
    the evidence of a confirmed death goes into `frames`, the store ingest keeps frames in."""
    deliveries: queue.Queue[Delivery] = queue.Queue(maxsize=4 * options.batch_frames)
    topic = shared_subscription(options.group, Kind.FRAME) if options.mqtt5 else subscription(Kind.FRAME)
    subscriber = MqttSubscriber(
        address, options.client_id, [topic], deliveries, metrics,  # type: ignore[arg-type]
        mqtt5=options.mqtt5, receive_maximum=2 * options.batch_frames,
    )
    service = DetectionService(
        deliveries, subscriber, detector, open_connection, frames, metrics,
        stillness=options.stillness, batch_frames=options.batch_frames, choice=choice,
    )
    return subscriber, service
