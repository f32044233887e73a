"""The shipped model: registry integrity, parity with ultralytics, eval and bench commands."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from cloud.detect.detector import OnnxDetector
from cloud.detect.postprocess import iou_one_to_many
from cloud.detect.registry import REGISTRY, ModelEntry, RegistryError, load_entry, sha256_file
from firmware_sim.camera.dataset import write_dataset
from firmware_sim.camera.scene import random_sample

pytestmark = pytest.mark.skipif(not REGISTRY.exists(), reason="no model registered yet")
HAS_ULTRALYTICS = importlib.util.find_spec("ultralytics") is not None


@pytest.fixture(scope="module")
def entry() -> ModelEntry:
    return load_entry()


@pytest.fixture(scope="module")
def detector(entry: ModelEntry) -> OnnxDetector:
    return OnnxDetector(entry, threads=2)


def _bgr(seed: int, size: tuple[int, int] = (1280, 720)) -> np.ndarray:
    rgb, _, _ = random_sample(seed, size)
    return np.ascontiguousarray(rgb[..., ::-1])


def test_registry_entry_is_complete_and_matches_the_file(entry: ModelEntry) -> None:
    doc = json.loads(REGISTRY.read_text())
    raw = doc["models"][entry.name]
    assert {"file", "sha256", "input_size", "classes", "conf", "iou", "card"} <= set(raw)
    assert sha256_file(entry.path) == entry.sha256
    assert entry.path.stat().st_size < 15 * 1024 * 1024
    assert {"chicken", "dead"} <= set(entry.classes)
    assert (REGISTRY.parent / raw["card"]).exists()
    if "refiner" in raw:  # the second stage is part of the model: checked and sized alike
        assert entry.refiner is not None and sha256_file(entry.refiner) == raw["refiner"]["sha256"]
        assert entry.path.stat().st_size + entry.refiner.stat().st_size < 15 * 1024 * 1024
        assert raw["refiner"]["classes"] == ["background", *entry.classes]


def test_a_registry_whose_refiner_file_changed_is_refused(tmp_path: Path) -> None:
    doc = json.loads(REGISTRY.read_text())
    name = next(n for n, m in doc["models"].items() if "refiner" in m)
    for key in ("file", "card"):
        doc["models"][name][key] = str(REGISTRY.parent / doc["models"][name][key])
    refiner = dict(doc["models"][name]["refiner"], sha256="0" * 64)
    refiner["file"] = str(REGISTRY.parent / refiner["file"])
    doc["models"][name]["refiner"] = refiner
    registry = tmp_path / "registry.json"
    registry.write_text(json.dumps(doc))
    with pytest.raises(RegistryError, match="sha256"):
        load_entry(name, registry)


def test_the_tracker_thresholds_default_to_the_per_frame_ones(tmp_path: Path) -> None:
    doc = json.loads(REGISTRY.read_text())
    name = doc["default"]
    raw = doc["models"][name]
    raw["file"] = str(REGISTRY.parent / raw["file"])
    raw["track_conf"] = {"dead": 0.05}
    registry = tmp_path / "registry.json"
    registry.write_text(json.dumps(doc))
    entry = load_entry(name, registry, verify=False)
    dead = entry.classes.index("dead")
    track = entry.track_vector()
    assert track[dead] == 0.05
    assert [t for i, t in enumerate(track) if i != dead] == [
        c for i, c in enumerate(entry.conf_vector()) if i != dead
    ]


def test_per_class_thresholds_keep_what_one_floor_and_a_filter_keep(
    detector: OnnxDetector,
) -> None:
    frame = _bgr(4245)
    thresholds = np.array([0.5, 0.1], np.float32)
    [per_class] = detector.detect([frame], conf=thresholds)
    [floor] = detector.detect([frame], conf=0.1)
    filtered = floor.select(floor.scores > thresholds[floor.classes])
    np.testing.assert_array_equal(per_class.boxes, filtered.boxes)
    np.testing.assert_array_equal(per_class.classes, filtered.classes)


def test_detector_finds_birds_in_rendered_frames(detector: OnnxDetector) -> None:
    reported = hits = birds = 0
    for seed in (4242, 4243, 4244):
        rgb, labels, _ = random_sample(seed, (1280, 720))
        [det] = detector.detect([np.ascontiguousarray(rgb[..., ::-1])])
        truth = np.array([[lab.x0, lab.y0, lab.x1, lab.y1] for lab in labels])
        hits += sum(bool(iou_one_to_many(b, truth).max() >= 0.5) for b in det.boxes)
        reported += len(det)
        birds += len(labels)
        assert (det.boxes[:, 2] <= 1280).all() and (det.boxes[:, 3] <= 720).all()
    # Most of what it reports is a bird and it finds a fair share of the birds; an untrained
    # network reports nothing or noise.
    assert hits >= 0.8 * reported and hits >= 0.3 * birds


def test_batched_equals_one_by_one(detector: OnnxDetector) -> None:
    frames = [_bgr(s, (640, 480)) for s in (1, 2, 3)]
    batched = detector.detect(frames)
    single = [detector.detect([f])[0] for f in frames]
    for a, b in zip(batched, single, strict=True):
        assert np.allclose(a.boxes, b.boxes, atol=1e-3) and (a.classes == b.classes).all()


@pytest.mark.skipif(not HAS_ULTRALYTICS, reason="ultralytics (train extra) not installed")
def test_same_boxes_as_ultralytics_on_the_same_weights(
    entry: ModelEntry, detector: OnnxDetector
) -> None:
    from ultralytics import YOLO

    model: Any = YOLO(str(entry.path), task="detect")
    conf = min(entry.conf_vector())
    compared = 0
    for seed in (5, 6, 7):
        frame = _bgr(seed, (1280, 720) if seed % 2 else (640, 480))
        [ours] = detector.detect([frame], conf=conf, iou=entry.iou, refine=False)
        theirs = model.predict(
            frame, imgsz=entry.input_size, conf=conf, iou=entry.iou, device="cpu", verbose=False
        )[0].boxes
        t_boxes = theirs.xyxy.numpy()
        t_cls = theirs.cls.numpy().astype(int)
        assert len(ours) == len(t_boxes)
        if len(ours) == 0:
            continue
        o = np.argsort(-ours.scores, kind="stable")
        t = np.argsort(-theirs.conf.numpy(), kind="stable")
        assert np.abs(ours.boxes[o] - t_boxes[t]).max() <= 1.0
        assert (ours.classes[o] == t_cls[t]).all()
        compared += len(ours)
    assert compared > 0


def test_eval_command_reports_per_class_metrics(tmp_path: Path) -> None:
    from models.cli import models

    write_dataset(tmp_path / "ds", 3, seed=777, sizes=[(640, 480)])
    result = CliRunner().invoke(models, ["eval", "--data", str(tmp_path / "ds"), "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert 0.0 <= out["map50"] <= 1.0
    for name in ("chicken", "dead"):
        c = out["classes"][name]
        assert {"precision", "recall", "map50", "instances"} <= set(c)
    assert out["classes"]["chicken"]["instances"] > 0


def test_eval_reads_a_labelling_tool_export_as_the_same_set(tmp_path: Path) -> None:
    """Another tool's export of the same frames: its own class names in its own order, one
    data.yaml beside its splits, polygons for boxes. Every figure comes out the same."""
    from models.cli import models

    ours = tmp_path / "ds"
    write_dataset(ours, 3, seed=777, sizes=[(640, 480)])
    theirs = tmp_path / "export" / "test"
    shutil.copytree(ours / "images", theirs / "images")
    (theirs / "labels").mkdir()
    for label in (ours / "labels").glob("*.txt"):
        rows = []
        for line in label.read_text().splitlines():
            c, cx, cy, w, h = (float(v) for v in line.split())
            corners = [cx - w / 2, cy - h / 2, cx + w / 2, cy - h / 2, cx + w / 2, cy + h / 2, cx - w / 2, cy + h / 2]
            rows.append(" ".join([str(1 - int(c)), *(f"{v:.6f}" for v in corners)]))
        (theirs / "labels" / label.name).write_text("\n".join(rows) + "\n")
    (theirs.parent / "data.yaml").write_text("train: ../train/images\ntest: ../test/images\nnc: 2\n"
                                             "names: ['Dead-Chicken', 'Hens']\n")

    def figures(data: Path) -> dict[str, Any]:
        result = CliRunner().invoke(models, ["eval", "--data", str(data), "--json"])
        assert result.exit_code == 0, result.output
        out = json.loads(result.output)
        return {"map50": out["map50"], "classes": out["classes"], "read": out["data_classes"]}

    cvat = tmp_path / "cvat" / "obj_train_data"  # CVAT: obj.names above, labels beside the images
    cvat.mkdir(parents=True)
    for image in (theirs / "images").iterdir():
        shutil.copy(image, cvat / image.name)
        shutil.copy(theirs / "labels" / f"{image.stem}.txt", cvat / f"{image.stem}.txt")
    (cvat.parent / "obj.names").write_text("dead chicken\nhen\n")

    mine = figures(ours)
    assert mine["classes"]["chicken"]["instances"] > 0
    for other, read in ((figures(theirs), {"Dead-Chicken": "dead", "Hens": "chicken"}),
                        (figures(cvat), {"dead chicken": "dead", "hen": "chicken"})):
        assert other["read"] == read
        assert other["map50"] == pytest.approx(mine["map50"], abs=1e-6)
        for name in ("chicken", "dead"):
            for key in ("precision", "recall", "map50", "instances"):
                assert other["classes"][name][key] == pytest.approx(mine["classes"][name][key], abs=1e-6)


def test_eval_names_a_set_without_our_classes_instead_of_scoring_nothing(tmp_path: Path) -> None:
    from models.cli import models

    write_dataset(tmp_path / "ds", 1, seed=777, sizes=[(640, 480)])
    (tmp_path / "ds" / "data.yaml").write_text("names: [egg, feeder]\n")
    result = CliRunner().invoke(models, ["eval", "--data", str(tmp_path / "ds"), "--json"])
    assert result.exit_code == 1 and "egg, feeder" in result.output and "Traceback" not in result.output
    (tmp_path / "frames" / "images").mkdir(parents=True)
    result = CliRunner().invoke(models, ["eval", "--data", str(tmp_path / "frames"), "--json"])
    assert result.exit_code == 1 and "has no data.yaml, classes.txt or obj.names" in result.output
    (tmp_path / "ds" / "data.yaml").write_text("names: [chicken, dead]\n")
    shutil.rmtree(tmp_path / "ds" / "labels")  # frames without labels are not frames without birds
    result = CliRunner().invoke(models, ["eval", "--data", str(tmp_path / "ds"), "--json"])
    assert result.exit_code == 1 and "none of the 1 images" in result.output and "has a label file" in result.output


def test_bench_command_prints_the_contract_fields() -> None:
    from fuhuiyang.bench.detect import detect

    result = CliRunner().invoke(detect, ["--frames", "2", "--rounds", "1", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    for key in (
        "onnx_ms_per_frame",
        "raw_session_ms_per_frame",
        "ultralytics_ms_per_frame",
        "speedup_vs_ultralytics",
        "pipeline_overhead_ratio",
        "frames_per_s_per_core",
    ):
        assert key in out
    assert out["onnx_ms_per_frame"] > 0 and out["raw_session_ms_per_frame"] > 0
    assert out["pipeline_overhead_ratio"] == pytest.approx(
        out["onnx_ms_per_frame"] / out["raw_session_ms_per_frame"], rel=0.01
    )
    if out["ultralytics_ms_per_frame"] is None:
        assert out["ultralytics_reason"]


def test_bench_of_a_model_looking_twice_compares_one_look_and_prices_the_second(tmp_path: Path) -> None:
    from fuhuiyang.bench.detect import detect

    doc = json.loads(REGISTRY.read_text())
    raw = dict(doc["models"][doc["default"]], mirrored=True)
    raw.pop("refiner", None)
    raw["file"] = str(REGISTRY.parent / raw["file"])
    registry = tmp_path / "registry.json"
    registry.write_text(json.dumps({"default": "twice", "models": {"twice": raw}}))
    result = CliRunner().invoke(detect, ["--registry", str(registry), "--frames", "2", "--rounds", "1",
                                         "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["pipeline_overhead_ratio"] == pytest.approx(
        out["onnx_ms_per_frame"] / out["raw_session_ms_per_frame"], rel=0.01)
    assert out["second_look_cost_ratio"] == pytest.approx(
        out["two_looks_ms_per_frame"] / out["onnx_ms_per_frame"], rel=0.01)


def test_trusted_proposals_keep_the_detectors_verdict_and_the_rest_are_cropped(
    two_stage: ModelEntry,
) -> None:
    """Serving with trust gives the same detections as refining everything and then putting
    the detector's scores and boxes back on the trusted proposals."""
    import dataclasses

    from cloud.detect.refine import finish, from_window, fuse, trusted

    det = OnnxDetector(two_stage, threads=2)
    refiner = det.refiner
    assert refiner is not None
    refiner.spec = dataclasses.replace(refiner.spec, trust=(0.7, 2.0), second_look=())
    rgb, _, _ = random_sample(21, (1280, 720))
    frame = np.ascontiguousarray(rgb[..., ::-1])
    [props] = det.detect([frame], conf=refiner.spec.proposal_conf, refine=False)
    assert props.class_scores is not None
    sure = trusted(props.class_scores, refiner.spec.trust)
    assert 0 < sure.sum() < len(props)  # a crowded frame has both kinds

    win, crops, hints = refiner.inputs(frame, props)
    probs, rel = refiner.raw(crops, hints)
    scores = fuse(probs, hints[:, 4:], refiner.spec.detector_weight)
    boxes = from_window(rel, win)
    scores[sure], boxes[sure] = props.class_scores[sure], props.boxes[sure]
    want = finish(scores, boxes, det.conf, det.entry.iou, 1280, 720)

    asked: list[int] = []
    raw = refiner.raw

    def counting(crops: np.ndarray, prior: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        asked.append(len(crops))
        return raw(crops, prior)

    refiner.raw = counting  # type: ignore[method-assign]
    [got] = det.detect([frame])
    assert asked == [int((~sure).sum())]
    assert np.allclose(got.boxes, want.boxes, atol=1e-3)
    assert np.allclose(got.scores, want.scores, atol=1e-5)
    assert np.array_equal(got.classes, want.classes)


def test_doubtful_crops_are_looked_at_twice_and_the_looks_averaged(
    two_stage: ModelEntry,
) -> None:
    import dataclasses

    from cloud.detect.refine import doubtful, mirror, mirror_boxes

    det = OnnxDetector(two_stage, threads=2)
    refiner = det.refiner
    assert refiner is not None
    refiner.spec = dataclasses.replace(refiner.spec, second_look=((1.0, 0.0), (0.2, 0.98)))
    rgb, _, _ = random_sample(22, (1280, 720))
    frame = np.ascontiguousarray(rgb[..., ::-1])
    [props] = det.detect([frame], conf=refiner.spec.proposal_conf, refine=False)
    _, crops, hints = refiner.inputs(frame, props)
    probs, rel = refiner.raw(crops, hints)
    again = doubtful(probs, refiner.spec.second_look)
    assert 0 < again.sum() < len(props)
    m_probs, m_rel = refiner.raw(*mirror(crops[again], hints[again]))

    got_probs, got_rel = refiner.look(crops, hints)
    assert np.allclose(got_probs[~again], probs[~again])
    assert np.allclose(got_rel[~again], rel[~again])
    assert np.allclose(got_probs[again], (probs[again] + m_probs) / 2, atol=1e-6)
    assert np.allclose(got_rel[again], (rel[again] + mirror_boxes(m_rel)) / 2, atol=1e-6)
    # The mirrored look sees the same bird: its box, flipped back, is close to the first's.
    assert np.median(np.abs(mirror_boxes(m_rel) - rel[again])) < 0.05
