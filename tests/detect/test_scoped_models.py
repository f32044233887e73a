"""A camera's own model: the detection worker picks the registry entry scoped to the frame's camera,
else its farm's, else the default; a model registered while it runs is used from the next frame."""

from __future__ import annotations

import hashlib
import json
import os
import queue
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

import protocol
from cloud.detect.dead_from import Sessions
from cloud.detect.metrics import DetectMetrics
from cloud.detect.postprocess import Detections
from cloud.detect.registry import ModelEntry, RegistryError
from cloud.detect.scoped import ModelCatalog, Registered, choose, parse_scope
from cloud.detect.service import DetectionService
from cloud.detect.worker import ScopedDetectors
from cloud.frames_store import LocalFrameStore
from messaging.subscriber import Delivery
from tests.support.databases import TestDatabase

T0 = 1_780_000_000_000


class NamedDetector:
    """Stands in for an ONNX model: one chicken per frame, and the model's name."""

    classes: Sequence[str] = ("chicken", "dead")

    def __init__(self, name: str, classes: Sequence[str] = ("chicken", "dead")) -> None:
        self.name = name
        self.classes = classes
        self.frames = 0

    def detect(self, frames: Sequence[np.ndarray]) -> list[Detections]:
        self.frames += len(frames)
        return [Detections(np.array([[10, 10, 40, 30]], np.float32), np.array([0.9], np.float32),
                           np.array([0], np.int64)) for _ in frames]


def entry(tmp: Path, name: str, scope: dict[str, Any] | None = None, content: bytes | None = None) -> dict[str, Any]:
    """A registry entry whose file exists with the right checksum (the worker verifies it)."""
    data = content if content is not None else name.encode()
    (tmp / f"{name}.onnx").write_bytes(data)
    raw: dict[str, Any] = {"file": f"{name}.onnx", "sha256": hashlib.sha256(data).hexdigest(), "input_size": 320,
                           "classes": ["chicken", "dead"], "conf": {"chicken": 0.4, "dead": 0.8}, "iou": 0.5}
    if scope is not None:
        raw["scope"] = scope
    return raw


def write_registry(path: Path, models: dict[str, Any], default: str | None = None) -> None:
    doc: dict[str, Any] = {"models": models}
    if default:
        doc["default"] = default
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc))
    os.replace(tmp, path)  # as a registering process would: never half-written


def delivery(camera: str, seq: int, ts: int) -> Delivery:
    image = np.full((120, 160, 3), (90, 140, 200), np.uint8)
    jpeg = cv2.imencode(".jpg", image)[1].tobytes()
    meta = protocol.FrameMeta(gateway_id="gw1", seq=seq, ts=ts, camera=camera, width=160, height=120,
                              size=len(jpeg), sha256=hashlib.sha256(jpeg).hexdigest())
    return Delivery("fhy/v1/gw1/frame", protocol.encode_frame(meta, jpeg), seq, 1, 0, 0.0)


class Acks:
    def ack(self, delivery: Delivery) -> None:
        pass


def judged_by(db: TestDatabase) -> dict[int, str]:
    with db.connect() as conn:
        return dict(conn.execute("SELECT frame_seq, model FROM detection_frames").fetchall())


def test_choose_prefers_camera_then_farm_then_default() -> None:
    base = Path(".")
    entries = [Registered("default-v1", {}, base), Registered("farm-f1", {}, base, "f1", None),
               Registered("cam-old", {}, base, None, "gw1/cam2"), Registered("cam-new", {}, base, "f1", "gw1/cam2"),
               Registered("other-farm-cam", {}, base, "f9", "gw1/cam3")]
    assert choose(entries, "default-v1", "f1", "gw1/cam2") == "cam-new"  # the later registration
    assert choose(entries, "default-v1", "f1", "gw1/cam1") == "farm-f1"
    assert choose(entries, "default-v1", "f2", "gw2/cam1") == "default-v1"
    assert choose(entries, "default-v1", "f1", "gw1/cam3") == "farm-f1"  # scoped to another farm's camera
    assert parse_scope({"scope": {"farm_id": 7, "camera": None}}) == ("7", None)
    assert parse_scope({}) == (None, None)
    for bad in ({"scope": "gw1/cam1"}, {"scope": {"camera": "cam1"}}, {"scope": {"farm_id": [1]}}):
        with pytest.raises(RegistryError):
            parse_scope(bad)


def test_worker_uses_the_camera_model_there_and_the_default_elsewhere(farm: TestDatabase, tmp_path: Path) -> None:
    with farm.connect() as conn:
        conn.execute("INSERT INTO cameras (gateway_id, id, house_id) VALUES ('gw1', 'cam2', 'h1')")
        conn.commit()
    shipped, models_dir = tmp_path / "shipped", tmp_path / "models"
    shipped.mkdir()
    models_dir.mkdir()
    write_registry(shipped / "registry.json", {"base-v1": entry(shipped, "base-v1")}, default="base-v1")
    catalog = ModelCatalog(shipped / "registry.json", models_dir)
    built: dict[str, NamedDetector] = {}

    def build(model: ModelEntry) -> NamedDetector:
        assert model.path.exists()
        return built.setdefault(model.name, NamedDetector(model.name, model.classes))

    default = NamedDetector("base-v1")
    choice = ScopedDetectors(catalog, default, build)
    service = DetectionService(queue.Queue(), Acks(), default, lambda: farm.connect(),
                               LocalFrameStore(tmp_path / "frames"), DetectMetrics(), batch_frames=4, choice=choice)

    service.process([delivery("cam1", 1, T0), delivery("cam2", 2, T0)])
    assert judged_by(farm) == {1: "base-v1", 2: "base-v1"}

    # `models adapt` registers cam2's own model while the worker runs: the next cam2 frame uses it.
    write_registry(models_dir / "registry.json", {
        "f1-cam2-v1": entry(models_dir, "f1-cam2-v1", {"farm_id": "f1", "camera": "gw1/cam2"})})
    service.process([delivery("cam1", 3, T0 + 60_000), delivery("cam2", 4, T0 + 60_000)])
    assert judged_by(farm)[3] == "base-v1" and judged_by(farm)[4] == "f1-cam2-v1"
    with farm.connect() as conn:  # its detections and the frame both name the model that judged them
        assert conn.execute("SELECT model FROM detections WHERE frame_seq = 4").fetchall() == [("f1-cam2-v1",)]
        summary = conn.execute("SELECT chickens, chicken_score FROM detection_frames WHERE frame_seq = 4").fetchone()
        assert summary is not None and summary[0] == 1 and abs(summary[1] - 0.9) < 1e-6  # what the health check reads

    # A farm-wide model then takes the farm's other cameras; cam2 keeps its own.
    write_registry(models_dir / "registry.json", {
        "f1-cam2-v1": entry(models_dir, "f1-cam2-v1", {"farm_id": "f1", "camera": "gw1/cam2"}),
        "f1-all-v1": entry(models_dir, "f1-all-v1", {"farm_id": "f1", "camera": None})})
    service.process([delivery("cam1", 5, T0 + 120_000), delivery("cam2", 6, T0 + 120_000)])
    assert judged_by(farm)[5] == "f1-all-v1" and judged_by(farm)[6] == "f1-cam2-v1"
    assert built["f1-cam2-v1"].frames == 2 and default.frames == 3

    # A registration whose file does not match its checksum is refused; the default judges instead.
    broken = entry(models_dir, "f1-cam2-v2", {"farm_id": "f1", "camera": "gw1/cam2"})
    (models_dir / "f1-cam2-v2.onnx").write_bytes(b"something else")
    write_registry(models_dir / "registry.json", {"f1-cam2-v2": broken})
    service.process([delivery("cam2", 7, T0 + 180_000)])
    assert judged_by(farm)[7] == "base-v1" and "f1-cam2-v2" not in built

    # So is a model that cannot tell a dead bird.
    chickens_only = entry(models_dir, "f1-cam2-v3", {"farm_id": "f1", "camera": "gw1/cam2"})
    chickens_only["classes"] = ["chicken"]
    write_registry(models_dir / "registry.json", {"f1-cam2-v3": chickens_only})
    service.process([delivery("cam2", 9, T0 + 200_000)])
    assert judged_by(farm)[9] == "base-v1"

    # A half-written registry keeps the models read before.
    (models_dir / "registry.json").write_text('{"models": {"f1-cam2')
    service.process([delivery("cam2", 8, T0 + 240_000)])
    assert judged_by(farm)[8] == "base-v1"


@pytest.mark.parametrize("dead_from_base", [False, True])
def test_a_registered_onnx_model_judges_its_camera(farm: TestDatabase, tmp_path: Path, dead_from_base: bool) -> None:
    """The real loading path: a camera-scoped entry in the models dir (here the shipped default's
    weights under a farm model's name, as `models adapt` would register its own) is verified,
    opened with ONNX Runtime and judges that camera's frame; with `dead_from`, beside the model
    it takes `dead` from, found through the catalog."""
    from cloud.detect.registry import REGISTRY
    from cloud.detect.worker import RegisteredDetector

    if not REGISTRY.exists():
        pytest.skip("no model registered yet")
    shipped = json.loads(REGISTRY.read_text())
    raw = dict(shipped["models"][shipped["default"]])
    source = (REGISTRY.parent / raw["file"]).resolve()
    models_dir = tmp_path / "models"
    models_dir.mkdir()
    (models_dir / "f1-cam1-v1.onnx").symlink_to(source)
    raw.update(file="f1-cam1-v1.onnx", scope={"farm_id": "f1", "camera": "gw1/cam1"})
    raw.pop("refiner", None)
    if dead_from_base:
        raw["dead_from"] = shipped["default"]
    write_registry(models_dir / "registry.json", {"f1-cam1-v1": raw})
    catalog = ModelCatalog(REGISTRY, models_dir)
    default = NamedDetector(catalog.default)
    built: list[RegisteredDetector] = []

    def build(model: ModelEntry) -> RegisteredDetector:
        built.append(RegisteredDetector(model, Sessions(catalog.entry, threads=1)))
        return built[-1]

    choice = ScopedDetectors(catalog, default, build)
    service = DetectionService(queue.Queue(), Acks(), default, lambda: farm.connect(),
                               LocalFrameStore(tmp_path / "frames"), DetectMetrics(), batch_frames=4, choice=choice)
    service.process([delivery("cam1", 1, T0)])
    judge = f"f1-cam1-v1 (dead: {shipped['default']})" if dead_from_base else "f1-cam1-v1"
    assert judged_by(farm) == {1: judge} and default.frames == 0
    assert [type(b.served).__name__ for b in built] == ["DeadFromBase" if dead_from_base else "OnnxDetector"]
