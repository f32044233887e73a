"""Looks at a frame (as it is and mirrored, by each network of a model) fused: unit rules and the served detector."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from cloud.detect.detector import OnnxDetector
from cloud.detect.postprocess import Detections, iou_one_to_many
from cloud.detect.registry import REGISTRY, RegistryError, entry_from_raw, load_entry
from cloud.detect.views import fuse, fuse_all, mirrored, unmirror
from firmware_sim.camera.scene import random_sample

THR = np.array([0.2, 0.2], np.float32)  # chicken, dead


def _det(boxes: list[list[float]], scores: list[float], classes: list[int]) -> Detections:
    return Detections(np.array(boxes, np.float32).reshape(-1, 4), np.array(scores, np.float32),
                      np.array(classes, np.int64), np.array([[s, 0.0] if c == 0 else [0.0, s]
                                                             for s, c in zip(scores, classes, strict=True)],
                                                            np.float32).reshape(-1, 2))


def test_a_bird_both_looks_see_keeps_its_score_and_a_box_between_theirs() -> None:
    a = _det([[10, 10, 50, 50]], [0.8], [0])
    b = _det([[14, 10, 54, 50]], [0.4], [0])
    [fused] = [fuse(a, b, THR, 0.7)]
    assert len(fused) == 1
    assert fused.scores[0] == pytest.approx(0.6)
    # weighted by score: two thirds of the way to the surer look's box
    assert fused.boxes[0, 0] == pytest.approx(10 + 4 / 3, abs=1e-4)
    assert fused.class_scores is not None and fused.class_scores[0, 0] == pytest.approx(0.6)


def test_a_box_one_look_alone_makes_is_halved_and_dropped_under_the_threshold() -> None:
    a = _det([[10, 10, 50, 50], [200, 200, 240, 240]], [0.9, 0.3], [0, 0])
    b = _det([[11, 11, 51, 51], [400, 10, 440, 50]], [0.9, 0.5], [0, 0])
    fused = fuse(a, b, THR, 0.7)
    by_x = {round(float(x)): float(s) for x, s in zip(fused.boxes[:, 0], fused.scores, strict=True)}
    assert by_x == {10: pytest.approx(0.9), 400: pytest.approx(0.25)}  # 0.3 alone is 0.15: gone


def test_boxes_of_two_classes_are_two_birds_not_one() -> None:
    a = _det([[10, 10, 50, 50]], [0.6], [0])
    b = _det([[10, 10, 50, 50]], [0.6], [1])
    fused = fuse(a, b, THR, 0.7)
    assert sorted(fused.classes.tolist()) == [0, 1]
    assert np.allclose(fused.scores, 0.3)


def test_four_looks_fuse_each_networks_two_first_and_count_a_lone_box_a_quarter() -> None:
    bird = [[10, 10, 50, 50]]
    looks = [_det(bird, [0.8], [0]), _det(bird, [0.6], [0]), _det(bird, [0.4], [0]),
             _det([[300, 300, 340, 340]], [0.9], [0])]
    fused = fuse_all(looks, THR, 0.7)
    by_x = {round(float(x)): float(s) for x, s in zip(fused.boxes[:, 0], fused.scores, strict=True)}
    # the bird: (0.8 + 0.6) / 2 and 0.4 / 2, then their mean; the lone box 0.9 / 4 = 0.225 > 0.2
    assert by_x == {10: pytest.approx(0.45), 300: pytest.approx(0.225)}
    assert len(fuse_all(looks, np.array([0.25, 0.25], np.float32), 0.7)) == 1
    assert fuse_all(looks[:1], THR, 0.7) is looks[0]


def test_unmirror_undoes_the_mirror() -> None:
    frame = np.zeros((20, 100, 3), np.uint8)
    frame[:, 10:30] = 255
    [flipped] = mirrored([frame])
    assert flipped[:, 70:90].min() == 255 and flipped[:, :70].max() == 0
    on_flipped = _det([[70, 0, 90, 20]], [0.9], [0])
    assert unmirror(on_flipped, 100).boxes.tolist() == [[10, 0, 30, 20]]


def test_a_registry_entry_says_whether_its_model_looks_twice() -> None:
    raw = {"file": "m.onnx", "sha256": "0" * 64, "input_size": 480, "classes": ["chicken", "dead"],
           "conf": {"chicken": 0.25}, "iou": 0.7}
    assert not entry_from_raw("m", raw, Path("."), verify=False).mirrored
    looked_twice = entry_from_raw("m", {**raw, "mirrored": True}, Path("."), verify=False)
    assert looked_twice.mirrored and "mirrored" not in looked_twice.extra
    assert entry_from_raw("m", raw, Path("."), verify=False).networks == 1
    two = entry_from_raw("m", {**raw, "networks": 2}, Path("."), verify=False)
    assert two.networks == 2 and "networks" not in two.extra
    with pytest.raises(RegistryError, match="networks must be 1, 2, 4"):
        entry_from_raw("m", {**raw, "networks": 3}, Path("."), verify=False)


@pytest.mark.skipif(not REGISTRY.exists(), reason="no model registered yet")
def test_the_served_detector_looking_twice_is_the_same_on_a_mirrored_frame() -> None:
    entry = dataclasses.replace(load_entry(), mirrored=True)
    detector = OnnxDetector(entry, threads=2)
    rgb, labels, _ = random_sample(4242, (1280, 720))
    frame = np.ascontiguousarray(rgb[..., ::-1])
    [det] = detector.detect([frame])
    [det_of_mirror] = detector.detect(mirrored([frame]))
    back = unmirror(det_of_mirror, frame.shape[1])
    assert len(det) == len(back) and len(det) > 0
    for box, score in zip(det.boxes, det.scores, strict=True):
        same = iou_one_to_many(box, back.boxes)
        assert same.max() > 0.99 and abs(back.scores[same.argmax()] - score) < 1e-3
    # Still the birds of the frame, and nothing under the model's thresholds.
    truth = np.array([[lab.x0, lab.y0, lab.x1, lab.y1] for lab in labels])
    hits = sum(bool(iou_one_to_many(b, truth).max() >= 0.5) for b in det.boxes)
    assert hits >= 0.8 * len(det)
    assert (det.scores >= np.asarray(entry.conf_vector(), np.float32)[det.classes]).all()

