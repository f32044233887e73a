"""Dead birds end to end: rendered camera frames over a real Mosquitto, a detection worker,
stillness in event time, one mortality record and one dead-bird alert.

Each scene runs twice: with the shipped default model, and with a label-driven detector that
errs the way a detector does (jittered boxes, missed carcasses, resting birds now and then
called dead), so the pipeline is proven apart from the model's accuracy (`models eval`
measures that).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
import pytest

import protocol
from cloud.alerts.model import DEAD_BIRD
from cloud.detect.metrics import DetectMetrics
from cloud.detect.postprocess import Detections
from cloud.detect.service import Detector
from cloud.detect.stillness import StillnessConfig
from cloud.detect.worker import DetectOptions
from cloud.notify.settings import PrintProvider, SmsSettings
from cloud.settings import CloudSettings
from firmware_sim.camera.bird import Pose
from firmware_sim.camera.render import encode_jpeg
from firmware_sim.camera.scene import Frame, HouseScene
from fuhuiyang.processes.alerts import build_worker
from fuhuiyang.processes.detect import build
from protocol.topics import Kind, topic_for
from tests.cloud.conftest import Publisher, count, serving, wait_until
from tests.support.databases import TestDatabase

SPAN_MIN = 30  # the worker's stillness span
FRAME_MIN = 5  # one scheduled frame every five minutes, as the edge agent's camera channel sends
MIN_MS = 60_000
T0 = 1_782_000_000_000  # 2026-06-21, event time of the first frame


@pytest.fixture
def broker(mosquitto_factory):  # type: ignore[no-untyped-def]
    return mosquitto_factory()


class ErringDetector:
    """Answers from the renderer's labels, with a detector's errors: boxes jitter by a few
    pixels, a carcass is missed in one frame of five, a resting bird is called dead in one of
    six. Frames are recognised by their decoded pixels (the worker decodes the same JPEG)."""

    classes = ("chicken", "dead")
    name = "erring-oracle"

    def __init__(self, seed: int = 0) -> None:
        self.truth: dict[bytes, Detections] = {}
        self.rng = np.random.default_rng(seed)

    def learn(self, jpeg: bytes, frame: Frame, scene: HouseScene) -> None:
        boxes, classes = [], []
        for lab in frame.labels:
            bird = scene.birds[lab.bird]
            cls = lab.cls
            if cls == 1 and self.rng.random() < 0.2:
                continue
            if bird.pose is Pose.LYING and self.rng.random() < 1 / 6:
                cls = 1
            boxes.append(np.array([lab.x0, lab.y0, lab.x1, lab.y1]) + self.rng.normal(0, 2.0, 4))
            classes.append(cls)
        decoded = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
        self.truth[hashlib.sha256(decoded.tobytes()).digest()] = Detections(
            np.array(boxes, np.float32).reshape(-1, 4), np.full(len(boxes), 0.8, np.float32),
            np.array(classes, np.int64))

    def detect(self, frames: list[np.ndarray]) -> list[Detections]:
        return [self.truth[hashlib.sha256(image.tobytes()).digest()] for image in frames]


@pytest.fixture(params=["erring-oracle", "shipped"])
def detector(request: pytest.FixtureRequest) -> ErringDetector | None:
    return ErringDetector() if request.param == "erring-oracle" else None


@contextmanager
def running_detector(db: TestDatabase, broker_url: str, frames_dir: Path,
                     detector: Detector | None) -> Iterator[DetectMetrics]:
    settings = CloudSettings(database_url=db.url, database_schema=db.schema, mqtt_url=broker_url,
                             frames_dir=frames_dir)
    options = DetectOptions(client_id=f"detect-{uuid.uuid4().hex[:8]}",
                            stillness=StillnessConfig(still_span_s=SPAN_MIN * 60))
    metrics = DetectMetrics()
    subscriber, service = build(settings, options, metrics, detector)
    with serving(subscriber, service, "detection worker"):
        yield metrics


class Camera:
    """Publishes a scene's frames as gateway gw1's camera cam1 would."""

    def __init__(self, pub: Publisher, scene: HouseScene, detector: ErringDetector | None) -> None:
        self.pub, self.scene, self.detector, self.seq, self.ts = pub, scene, detector, 0, T0

    def shoot(self, minutes: int, *, lights_on: bool = True) -> list[Frame]:
        frames = []
        for _ in range(minutes // FRAME_MIN):
            frame = self.scene.frame(self.ts, lights_on=lights_on)
            jpeg = encode_jpeg(frame.rgb, frame.jpeg_quality)
            if self.detector is not None:
                self.detector.learn(jpeg, frame, self.scene)
            h, w = frame.rgb.shape[:2]
            meta = protocol.FrameMeta(gateway_id="gw1", seq=self.seq, ts=self.ts, camera="cam1", width=w,
                                      height=h, size=len(jpeg), sha256=hashlib.sha256(jpeg).hexdigest())
            self.pub.publish(topic_for("gw1", Kind.FRAME), protocol.encode_frame(meta, jpeg)).wait_for_publish(10)
            frames.append(frame)
            self.seq += 1
            self.ts += FRAME_MIN * MIN_MS
            self.scene.advance(FRAME_MIN * 60)
        return frames


def bird_in_full_view(frame: Frame) -> int:
    """The bird nearest the middle of the frame of those showing whole: one that dies there is
    in view (not cut by the frame's edge or behind a post)."""
    h, w = frame.rgb.shape[:2]
    whole = [lab for lab in frame.labels if lab.visible >= 0.99]
    return min(whole, key=lambda b: ((b.x0 + b.x1 - w) ** 2 + (b.y0 + b.y1 - h) ** 2)).bird


def detector_deaths(db: TestDatabase) -> list[tuple[datetime, dict]]:
    with db.connect() as conn:
        return conn.execute("SELECT ts, evidence FROM mortality_records WHERE source = 'detector' "
                            "ORDER BY ts").fetchall()


def judged(db: TestDatabase) -> int:
    return count(db, "SELECT count(*) FROM detection_frames")


def test_a_bird_dying_in_view_raises_exactly_one_dead_bird_event(farm, broker, tmp_path, detector) -> None:  # type: ignore[no-untyped-def]
    scene = HouseScene(7, n_birds=14, size=(1280, 720), maturity=0.8)
    pub = Publisher("127.0.0.1", broker.port)
    with running_detector(farm, broker.url, tmp_path, detector):
        camera = Camera(pub, scene, detector)
        camera.shoot(20)  # the flock as usual
        died_ms = camera.ts
        victim = bird_in_full_view(scene.frame(died_ms))  # as the camera sees it then
        scene.kill(victim)
        frames = camera.shoot(SPAN_MIN + 30)
        wait_until(lambda: judged(farm) == camera.seq, timeout=120, what="every frame judged")
    pub.close()

    deaths = detector_deaths(farm)
    assert len(deaths) == 1, deaths
    ts, evidence = deaths[0]
    delay_min = (ts.timestamp() * 1000 - died_ms) / MIN_MS
    assert SPAN_MIN <= delay_min <= SPAN_MIN + 10, delay_min
    carcass = next(lab for f in reversed(frames) for lab in f.labels if lab.bird == victim)
    x0, y0, x1, y1 = evidence["box"]
    assert x0 < (carcass.x0 + carcass.x1) / 2 < x1 and y0 < (carcass.y0 + carcass.y1) / 2 < y1
    assert (tmp_path / evidence["crop"]).exists() or Path(evidence["crop"]).exists()

    # The alert worker turns it into one dead-bird alert that carries the evidence.
    with farm.connect() as conn:
        worker = build_worker(conn, PrintProvider(), SmsSettings())
        worker.cycle(datetime.fromtimestamp(camera.ts / 1000, UTC))
        worker.cycle(datetime.fromtimestamp((camera.ts + 30 * MIN_MS) / 1000, UTC))
        alerts = conn.execute("SELECT farm_id, house_id, evidence FROM alerts WHERE type = %s",
                              (DEAD_BIRD,)).fetchall()
    assert len(alerts) == 1
    assert alerts[0][:2] == ("f1", "h1")
    assert alerts[0][2]["last"]["evidence"]["crop"] == evidence["crop"]


def test_resting_birds_and_dark_hours_raise_nothing(farm, broker, tmp_path, detector) -> None:  # type: ignore[no-untyped-def]
    scene = HouseScene(11, n_birds=14, size=(1280, 720), maturity=0.8)
    for i in range(0, 14, 2):  # half the flock is dull and rests most of the time
        scene.sicken(i, 0.1)
    pub = Publisher("127.0.0.1", broker.port)
    with running_detector(farm, broker.url, tmp_path, detector):
        camera = Camera(pub, scene, detector)
        camera.shoot(120)
        scene.kill(1)  # dies after lights-out: dark hours do not count towards stillness
        camera.shoot(180, lights_on=False)
        wait_until(lambda: judged(farm) == camera.seq, timeout=180, what="every frame judged")
    pub.close()
    assert detector_deaths(farm) == []
