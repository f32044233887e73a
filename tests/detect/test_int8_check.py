"""A camera's adapted model is served as INT8 only where the copy finds what the float model finds."""

from __future__ import annotations

import importlib.util
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from cloud.detect import Detections, ModelEntry, OnnxDetector, sha256_file
from firmware_sim.camera.scene import random_sample
from models import int8_check
from models.copy_paste import Labelled
from models.int8_check import agreement, found_again, int8_if_faithful

HAS_TORCH = importlib.util.find_spec("torch") is not None


def boxes(rows: list[list[float]], classes: list[int]) -> Detections:
    return Detections(np.array(rows, np.float32).reshape(-1, 4), np.ones(len(classes), np.float32),
                      np.array(classes, np.int64))


def test_a_box_is_found_again_by_a_box_of_its_class_over_it() -> None:
    a = boxes([[0, 0, 10, 10], [20, 20, 30, 30], [40, 40, 50, 50]], [0, 0, 1])
    b = boxes([[1, 1, 10, 10], [20, 20, 30, 30]], [0, 1])
    assert found_again(a, b, [0, 1]) == (3, 1)  # the second is `dead` there, the third missing
    assert found_again(a, b, [0]) == (2, 1)  # only the classes the model learnt are compared
    assert found_again(b, a, [0, 1]) == (2, 1)
    assert found_again(boxes([], []), b, [0]) == (0, 0)
    assert found_again(boxes([[5, 0, 9, 0], [0, 0, 10, 10]], [0, 0]), a, [0]) == (1, 1)  # a line is no box


def _rendered(count: int) -> list[Labelled]:
    out = []
    for seed in range(count):
        rgb, _, _ = random_sample(seed, (320, 192))
        out.append(Labelled(f"r{seed}", np.ascontiguousarray(rgb[..., ::-1]), np.zeros(0, np.int64),
                            np.zeros((0, 4))))
    return out


@pytest.mark.skipif(not HAS_TORCH, reason="needs the train extra (torch)")
def test_the_int8_copy_replaces_the_float_file_only_where_it_agrees(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from models import nanodet

    onnx = nanodet.export_onnx([nanodet.NanoDet()], 160, ("chicken", "dead"), (0,), tmp_path / "cam.onnx")
    served = ModelEntry(name="cam", path=onnx, sha256=sha256_file(onnx), input_size=160,
                        classes=("chicken", "dead"), conf={"chicken": 0.01, "dead": 0.01}, iou=0.5, mirrored=True)
    frames = _rendered(3)
    images = [f.image for f in frames]
    float_model = OnnxDetector(served, threads=1)
    share, compared = agreement(float_model, float_model, images, [0])
    assert share == 1.0 and compared > 0  # a model agrees with itself, on boxes it found
    assert agreement(float_model, float_model, [np.zeros((192, 320, 3), np.uint8)], [1]) == (0.0, 0)

    float_sha, float_bytes = served.sha256, onnx.stat().st_size
    monkeypatch.setattr(int8_check, "agreement", lambda *a: (0.5, 40))
    check = int8_if_faithful(served, [0], frames, seed=0)
    assert check.to_json() == {"agreement": 0.5, "boxes": 40, "kept": False}
    assert sha256_file(onnx) == float_sha and sorted(p.name for p in tmp_path.iterdir()) == ["cam.onnx"]

    def broken(*_: object) -> None:
        raise RuntimeError("unsupported operator")

    with monkeypatch.context() as m:
        m.setattr("models.quantize.quantize", broken)
        assert not int8_if_faithful(served, [0], frames, seed=0).kept  # the trained float model stays
    assert sha256_file(onnx) == float_sha

    monkeypatch.setattr(int8_check, "agreement", lambda *a: (0.97, 40))
    assert int8_if_faithful(served, [0], frames, seed=0).kept
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cam.onnx"]  # one file, at the same path
    assert onnx.stat().st_size < float_bytes / 2
    int8 = OnnxDetector(replace(served, sha256=sha256_file(onnx)), threads=1)
    [det] = int8.detect([images[0]])
    assert len(det) and np.all(np.isin(det.classes, [0]))  # it serves, on the class it learnt
