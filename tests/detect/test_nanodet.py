"""NanoDet-m from COCO (`models.nanodet`), the TF.js graph reader under it, and the farm model
`models adapt --start coco` makes from it, served like any other."""

from __future__ import annotations

import base64
import dataclasses
import importlib.util
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

HAS_TORCH = all(importlib.util.find_spec(m) is not None for m in ("torch", "torchvision"))
pytestmark = pytest.mark.skipif(not HAS_TORCH, reason="needs the train extra (torch, torchvision)")


def _b64(text: str) -> dict[str, str]:
    return {"s": base64.b64encode(text.encode()).decode()}


def tiny_graph(tmp_path: Path, op: str = "LeakyRelu") -> tuple[Path, np.ndarray, np.ndarray]:
    """input (1, 2, 8, 8) NCHW -> NHWC -> pad 1 -> 3x3 conv (float16 weights) + bias -> `op`
    -> bilinear to 16x16 -> sigmoid; the weights as stored, for a reference."""
    rng = np.random.default_rng(0)
    kernel = rng.normal(size=(3, 3, 2, 4)).astype(np.float16)  # HWIO
    bias = rng.normal(size=(4,)).astype(np.float32)
    ints = {"perm": np.array([0, 2, 3, 1], np.int32), "pads": np.array([[0, 0], [1, 1], [1, 1], [0, 0]], np.int32),
            "size": np.array([16, 16], np.int32)}
    blob = kernel.tobytes() + bias.tobytes() + b"".join(v.tobytes() for v in ints.values())
    (tmp_path / "g.bin").write_bytes(blob)
    weights = [{"name": "kernel", "shape": [3, 3, 2, 4], "dtype": "float32",
                "quantization": {"dtype": "float16", "original_dtype": "float32"}},
               {"name": "bias", "shape": [4], "dtype": "float32"},
               *({"name": k, "shape": list(v.shape), "dtype": "int32"} for k, v in ints.items())]
    nodes = [
        {"name": "x", "op": "Placeholder", "attr": {"shape": {"shape": {"dim": [{"size": "1"}, {"size": "2"},
                                                                            {"size": "8"}, {"size": "8"}]}}}},
        *({"name": w["name"], "op": "Const"} for w in weights),
        {"name": "nhwc", "op": "Transpose", "input": ["x", "perm"]},
        {"name": "padded", "op": "Pad", "input": ["nhwc", "pads"]},
        {"name": "conv", "op": "Conv2D", "input": ["padded", "kernel"],
         "attr": {"data_format": _b64("NHWC"), "padding": _b64("VALID"), "strides": {"list": {"i": ["1", "1", "1", "1"]}},
                  "dilations": {"list": {"i": ["1", "1", "1", "1"]}}}},
        {"name": "biased", "op": "Add", "input": ["conv", "bias"]},
        {"name": "act", "op": op, "input": ["biased"], "attr": {"alpha": {"f": 0.1}}},
        {"name": "up", "op": "ResizeBilinear", "input": ["act", "size"],
         "attr": {"half_pixel_centers": {"b": True}, "align_corners": {"b": False}}},
        {"name": "out", "op": "Sigmoid", "input": ["up"]},
    ]
    doc = {"format": "graph-model", "modelTopology": {"node": nodes},
           "weightsManifest": [{"paths": ["g.bin"], "weights": weights}]}
    (tmp_path / "g.json").write_text(json.dumps(doc))
    return tmp_path / "g.json", kernel.astype(np.float32), bias


def test_a_graph_runs_as_torch_would_and_its_weights_train(tmp_path: Path) -> None:
    import torch
    import torch.nn.functional as F

    from models.tfjs_graph import GraphModule

    path, kernel, bias = tiny_graph(tmp_path)
    graph = GraphModule(path, "x", ["out"])
    assert len(graph.weights) == 2  # kernel and bias train; the int shapes do not
    for side in (8, 16):  # twice the graph's input: the fixed resize doubles with it
        x = torch.from_numpy(np.random.default_rng(side).normal(size=(1, 2, side, side)).astype(np.float32))
        got = graph(x)[0]
        conv = F.conv2d(F.pad(x, (1, 1, 1, 1)), torch.from_numpy(kernel).permute(3, 2, 0, 1), torch.from_numpy(bias))
        want = torch.sigmoid(F.interpolate(F.leaky_relu(conv, 0.1), size=(2 * side, 2 * side), mode="bilinear",
                                           align_corners=False)).permute(0, 2, 3, 1)
        assert got.shape == (1, 2 * side, 2 * side, 4)
        assert torch.allclose(got, want, atol=1e-5)
    graph(torch.ones(1, 2, 8, 8))[0].sum().backward()
    assert all(w.grad is not None and bool(w.grad.abs().sum() > 0) for w in graph.weights)


def test_an_unknown_op_or_file_is_named(tmp_path: Path) -> None:
    import torch

    from models.tfjs_graph import GraphError, GraphModule

    path, _, _ = tiny_graph(tmp_path, op="Elu")
    with pytest.raises(GraphError, match="act: op Elu is not implemented"):
        GraphModule(path, "x", ["out"])(torch.zeros(1, 2, 8, 8))
    with pytest.raises(GraphError, match="no input 'y'"):
        GraphModule(path, "y", ["out"])
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(GraphError, match="not a TensorFlow.js graph model"):
        GraphModule(tmp_path / "bad.json", "x", ["out"])


def test_the_shipped_network_gives_a_score_and_a_box_per_point() -> None:
    import torch

    from models.nanodet import BINS, NanoDet, Points

    model = NanoDet().eval()
    for size in (160, 416):
        with torch.no_grad():
            scores, logits = model(torch.full((1, 3, size, size), 114.0))
        n = sum((size // s) ** 2 for s in (8, 16, 32))
        assert scores.shape == (1, n, 2) and logits.shape == (1, n, 4, BINS)
        assert float(scores.max()) < 0.3  # a grey square holds no bird
        assert Points.of(size).xy.shape == (n, 2)


def test_atss_gives_a_bird_the_points_inside_it() -> None:
    import torch

    from models.nanodet import Points, assign

    pts = Points.of(416)
    birds = torch.tensor([[100.0, 100.0, 180.0, 160.0], [300.0, 300.0, 330.0, 320.0]])
    owner = assign(birds, pts)
    for g, (x1, y1, x2, y2) in enumerate(birds.tolist()):
        mine = pts.xy[owner == g]
        assert len(mine) > 0
        assert bool(((mine[:, 0] > x1) & (mine[:, 0] < x2) & (mine[:, 1] > y1) & (mine[:, 1] < y2)).all())
    assert int((owner >= 0).sum()) < 60  # the rest is background
    assert bool((assign(torch.zeros((0, 4)), pts) == -1).all())


def bird_frame(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A 640x360 floor with two light 'birds' (ellipses with a dark eye) and their boxes."""
    rng = np.random.default_rng(seed)
    image = np.clip(rng.normal(90, 12, (360, 640, 3)), 0, 255).astype(np.uint8)
    boxes = []
    for cx, cy in ((160 + 40 * seed, 120), (460, 240 - 20 * seed)):
        cv2.ellipse(image, (cx, cy), (48, 30), 0, 0, 360, (225, 230, 235), -1)
        cv2.circle(image, (cx + 30, cy - 10), 5, (20, 20, 20), -1)
        boxes.append([cx - 48, cy - 30, cx + 48, cy + 30])
    return image, np.array(boxes, np.float64)


def test_fine_tuning_learns_a_farms_birds_and_the_onnx_serves_them(
        tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    """A few dozen steps on two frames, saying how far it got: the exported ONNX computes what
    the torch model does, and served by the worker's own detector it finds the birds of a third
    frame."""
    import logging
    import time

    import onnxruntime as ort
    import torch

    from cloud.detect import ModelEntry, OnnxDetector, iou_matrix, letterbox, sha256_file, to_tensor
    from models.copy_paste import Labelled
    from models.nanodet import FineTune, NanoDet, Served, export_onnx, fine_tune

    size = 160
    frames = [Labelled(f"f{s}", *(lambda im, b: (im, np.zeros(len(b), np.int64), b))(*bird_frame(s)))
              for s in (0, 1)]
    model = NanoDet()
    monkeypatch.setattr(logging.getLogger("models.nanodet"), "propagate", True)  # the CLI may have cut it off
    with caplog.at_level(logging.INFO, logger="models.nanodet"):
        steps = fine_tune(model, frames, (0,), size, FineTune(steps=40, batch=2), time.monotonic() + 600,
                          torch.device("cpu"))
    assert steps == 40 and "step 40 of 40, loss" in caplog.text
    image, truth = bird_frame(2)
    classes = ("chicken", "dead")
    onnx = export_onnx([model], size, classes, (0,), tmp_path / "farm.onnx")
    tensor = to_tensor([letterbox(image, size)[0]])
    with torch.no_grad():
        want = Served([model], size, classes, (0,))(torch.from_numpy(tensor)).numpy()
    got = ort.InferenceSession(str(onnx)).run(None, {"images": tensor})[0]
    assert got.shape == (1, 6, sum((size // s) ** 2 for s in (8, 16, 32)))
    assert np.allclose(got, want, atol=1e-3)
    entry = ModelEntry(name="farm", path=onnx, sha256=sha256_file(onnx), input_size=size,
                       classes=classes, conf={"chicken": 0.3, "dead": 0.5}, iou=0.6)
    served = OnnxDetector(entry, threads=1).detect([image])[0]
    assert set(served.classes.tolist()) == {0}  # `dead` scores 0: it is served from the base
    assert len(served) == 2 and bool((iou_matrix(served.boxes, truth).max(axis=1) > 0.5).all())

    # Two networks in one file: their points side by side, each read as a look of its own. Two
    # copies of one network agree on every box, so fused they serve what it serves alone.
    pair = export_onnx([model, model], size, classes, (0,), tmp_path / "pair.onnx")
    out = ort.InferenceSession(str(pair)).run(None, {"images": tensor})[0]
    points = got.shape[2]
    assert out.shape == (1, 6, 2 * points) and np.allclose(out[..., points:], got, atol=1e-3)
    two = dataclasses.replace(entry, path=pair, sha256=sha256_file(pair), networks=2)
    fused, alone = (OnnxDetector(e, threads=1).detect([image], conf=0.05)[0] for e in (two, entry))
    assert len(fused) == len(alone) >= 2
    assert np.allclose(np.sort(fused.scores), np.sort(alone.scores), atol=1e-4)


def carcass_frame(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`bird_frame` with a carcass added: a pink bird on its back, two dark legs up."""
    image, birds = bird_frame(seed)
    cx, cy = 300 + 30 * seed, 280
    cv2.ellipse(image, (cx, cy), (44, 28), 0, 0, 360, (170, 160, 235), -1)
    for dx in (-14, 14):
        cv2.line(image, (cx + dx, cy - 10), (cx + dx + dx // 2, cy - 50), (30, 40, 60), 5)
    boxes = np.vstack([birds, [[cx - 44, cy - 56, cx + 44, cy + 28]]])
    return image, np.array([0, 0, 1]), boxes


def test_a_carcass_is_learnt_on_a_channel_of_its_own() -> None:
    """`dead` starts at its prior (no carcass anywhere yet) and, learnt beside
    `chicken`, scores the carcass of an unseen frame above its living birds, and `chicken` the
    other way round."""
    import time

    import torch

    from cloud.detect import iou_matrix, letterbox, to_tensor
    from models.copy_paste import Labelled
    from models.nanodet import FineTune, NanoDet, Served, fine_tune

    size = 160
    model = NanoDet()
    image, classes, truth = carcass_frame(2)
    square, placed = letterbox(image, size)
    tensor = torch.from_numpy(to_tensor([square]))
    served = Served([model.eval()], size, ("chicken", "dead"), (0, 1))
    with torch.no_grad():
        assert float(served(tensor)[0, 5].max()) < 0.05  # no carcass before training
    frames = [Labelled(f"f{s}", *carcass_frame(s)) for s in (0, 1)]
    steps = fine_tune(model, frames, (0, 1), size, FineTune(steps=60, batch=2), time.monotonic() + 600,
                      torch.device("cpu"))
    assert steps == 60
    with torch.no_grad():
        out = served(tensor)[0].numpy()
    centre, wh = out[:2].T, out[2:4].T
    offset = np.array([placed.pad_x, placed.pad_y] * 2)
    boxes = (np.hstack([centre - wh / 2, centre + wh / 2]) - offset) / placed.gain
    top = int(out[5].argmax())  # the surest carcass point
    assert out[5, top] > 0.3 and iou_matrix(boxes[top:top + 1], truth[classes == 1])[0, 0] > 0.5
    on_birds = iou_matrix(boxes, truth[classes == 0]).max(axis=1) > 0.5
    on_carcass = iou_matrix(boxes, truth[classes == 1])[:, 0] > 0.5
    assert float(out[5, on_birds].max()) < out[5, top]
    assert float(out[4, on_birds].max()) > max(0.3, float(out[4, on_carcass].max()))
