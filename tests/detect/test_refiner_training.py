"""Training the second stage end to end on a few rendered frames (needs the train extra)."""

from __future__ import annotations

import dataclasses
import importlib.util
from pathlib import Path

import cv2
import numpy as np
import pytest

from cloud.detect.detector import OnnxDetector
from cloud.detect.refine import RefinerSpec
from cloud.detect.registry import REGISTRY, load_entry
from firmware_sim.camera.dataset import write_dataset

pytestmark = [
    pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="needs the train extra"),
    pytest.mark.skipif(not REGISTRY.exists(), reason="no model registered yet"),
]


def test_collect_train_export_and_serve(tmp_path: Path) -> None:
    from models.refiner import POSITIVE_IOU, _paired_iou, collect, export, train

    write_dataset(tmp_path / "ds", 4, seed=31, sizes=[(640, 480)], extra_dead=4)
    base = load_entry()
    detector = OnnxDetector(base, threads=2)
    spec = RefinerSpec(input_size=32)
    ex = collect(tmp_path / "ds", detector, spec, data_to_model={0: 0, 1: 1})
    # Every class the refiner tells apart is among the examples: background, chicken, dead.
    assert set(np.unique(ex.label)) == {0, 1, 2}
    assert ex.prior.shape == (len(ex), 4 + len(base.classes))
    # A positive's target is the truth it overlaps; window coordinates keep the overlap.
    pos = ex.label > 0
    assert (_paired_iou(ex.prior[pos, :4], ex.box[pos]) >= POSITIVE_IOU - 1e-6).all()

    net = train(ex, ex, len(base.classes), epochs=1, batch=64)
    onnx = tmp_path / "refiner.onnx"
    export(net, onnx, spec.input_size, ex.prior.shape[1])

    settings = {"input_size": 32, "expand": spec.expand, "proposal_conf": spec.proposal_conf}
    two_stage = OnnxDetector(
        dataclasses.replace(base, refiner=onnx, extra={**base.extra, "refiner": settings}),
        threads=2,
    )
    frame = cv2.imread(str(next((tmp_path / "ds" / "images").rglob("*.jpg"))))
    [det] = two_stage.detect([frame], conf=0.0)
    [proposals] = two_stage.detect([frame], conf=spec.proposal_conf, refine=False)
    assert 0 < len(det) <= len(base.classes) * len(proposals)  # at most each class per box
    assert set(det.classes.tolist()) <= {0, 1}
    assert ((det.scores >= 0) & (det.scores <= 1)).all()
