"""Pure pre/post-processing and metrics, without a model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cloud.detect.postprocess import Detections, decode, iou_matrix, nms, to_frame
from cloud.detect.preprocess import PAD_VALUE, letterbox, to_tensor
from models.evaluate import (
    DataSetError,
    average_precision,
    data_names,
    evaluate,
    match,
    our_class,
    read_labels,
    read_visibility,
)


def test_letterbox_720p_into_320() -> None:
    img = np.zeros((720, 1280, 3), np.uint8)
    out, lb = letterbox(img, 320)
    assert out.shape == (320, 320, 3)
    assert lb.gain == pytest.approx(0.25) and lb.pad_x == 0 and lb.pad_y == 70
    assert (out[:70] == PAD_VALUE).all() and (out[-70:] == PAD_VALUE).all()
    assert (out[70:250] == 0).all()


def test_to_tensor_is_rgb_nchw_unit_range() -> None:
    img = np.zeros((4, 4, 3), np.uint8)
    img[..., 0] = 255  # blue in BGR
    t = to_tensor([img, img])
    assert t.shape == (2, 3, 4, 4) and t.dtype == np.float32
    assert (t[:, 2] == 1.0).all() and (t[:, 0] == 0.0).all()


def test_nms_keeps_best_of_overlaps_and_separate_boxes() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60]], np.float32)
    scores = np.array([0.8, 0.9, 0.3], np.float32)
    assert nms(boxes, scores, 0.5).tolist() == [1, 2]
    assert nms(boxes, scores, 0.9).tolist() == [1, 0, 2]


def _greedy_nms(boxes: np.ndarray, scores: np.ndarray, iou: float) -> list[int]:
    """Textbook greedy NMS: the reference OpenCV's must agree with."""
    order = [int(i) for i in np.argsort(-scores, kind="stable")]
    keep: list[int] = []
    while order:
        k = order.pop(0)
        keep.append(k)
        order = [i for i in order if iou_matrix(boxes[k : k + 1], boxes[i : i + 1])[0, 0] <= iou]
    return keep


def test_nms_matches_greedy_reference_on_crowded_candidates() -> None:
    """Hundreds of anchors on a few dozen birds, as the detector gives at a low score."""
    rng = np.random.default_rng(3)
    centres = np.repeat(rng.uniform(0, 1200, (40, 2)), 15, axis=0) + rng.normal(0, 5, (600, 2))
    boxes = np.hstack([centres, centres + rng.uniform(30, 60, (600, 2))]).astype(np.float32)
    scores = rng.uniform(0.02, 1.0, 600).astype(np.float32)
    for iou in (0.3, 0.5, 0.7):
        assert nms(boxes, scores, iou, max_det=600).tolist() == _greedy_nms(boxes, scores, iou)
    assert len(nms(boxes, scores, 0.5, max_det=7)) == 7
    assert nms(boxes[:0], scores[:0], 0.5).tolist() == []


def _head(rows: list[tuple[float, float, float, float, float, float]]) -> np.ndarray:
    """(cx, cy, w, h, p_chicken, p_dead) per anchor -> (6, anchors)."""
    return np.array(rows, np.float32).T


def test_decode_is_class_aware_and_thresholded() -> None:
    pred = _head(
        [
            (100, 100, 20, 20, 0.9, 0.1),
            (101, 101, 20, 20, 0.1, 0.8),  # same place, other class: kept
            (102, 100, 20, 20, 0.7, 0.0),  # duplicate chicken: suppressed
            (200, 200, 20, 20, 0.2, 0.1),  # below threshold
        ]
    )
    det = decode(pred, 0.25, 0.5)
    assert det.classes.tolist() == [0, 1]
    assert det.boxes[0].tolist() == [90, 90, 110, 110]
    per_class = decode(pred, np.array([0.95, 0.25], np.float32), 0.5)
    assert per_class.classes.tolist() == [1]


def _boxes(det: Detections) -> list[tuple[int, float]]:
    return sorted((int(c), round(float(p), 2)) for c, p in zip(det.classes, det.scores, strict=True))


def test_decode_gives_the_bird_class_too_where_dead_scores_higher() -> None:
    pred = _head(
        [
            (100, 100, 20, 20, 0.4, 0.6),  # dead first, a bird all the same
            (200, 200, 20, 20, 0.2, 0.3),  # dead only: the bird score is under its threshold
            (300, 300, 20, 20, 0.9, 0.1),  # a bird, nothing more
        ]
    )
    one_each = decode(pred, 0.25, 0.5)
    assert _boxes(one_each) == [(0, 0.9), (1, 0.3), (1, 0.6)]
    birds_too = decode(pred, 0.25, 0.5, also=0)
    assert _boxes(birds_too) == [(0, 0.4), (0, 0.9), (1, 0.3), (1, 0.6)]
    assert birds_too.class_scores is not None and birds_too.class_scores.shape == (4, 2)


def test_to_frame_inverts_the_letterbox() -> None:
    _, lb = letterbox(np.zeros((480, 640, 3), np.uint8), 320)
    box_in_frame = np.array([100.0, 200.0, 300.0, 260.0])
    in_input = box_in_frame * lb.gain + [lb.pad_x, lb.pad_y, lb.pad_x, lb.pad_y]
    det = Detections(in_input[None].astype(np.float32), np.array([0.9]), np.array([1]))
    assert np.allclose(to_frame(det, lb).boxes[0], box_in_frame, atol=1e-3)


def test_match_and_average_precision() -> None:
    gt_cls = np.array([1, 1])
    gt = np.array([[0, 0, 10, 10], [20, 20, 30, 30]], np.float64)
    det = Detections(
        np.array([[0, 0, 10, 10], [0, 0, 10, 10], [50, 50, 60, 60]], np.float32),
        np.array([0.9, 0.8, 0.7]),
        np.array([1, 1, 1]),
    )
    tp = match(det, gt_cls, gt)
    assert tp.tolist() == [True, False, False]  # one truth, claimed once
    assert average_precision(np.array([0.9, 0.8]), np.array([True, True]), 2) == pytest.approx(
        1.0, abs=0.006
    )  # trapezoid envelope, as ultralytics
    # Precision 1 up to recall 0.5, then the envelope falls linearly to 0 at recall 1.
    assert average_precision(np.array([0.9]), np.array([True]), 2) == pytest.approx(0.75, abs=0.01)
    assert average_precision(np.array([]), np.array([], bool), 3) == 0.0


def test_evaluate_matches_classes_by_name() -> None:
    # The data calls class 0 `dead`; the model calls it 1.
    gt_boxes = np.array([[0, 0, 10, 10], [20, 20, 30, 30]], np.float64)
    gt_cls = np.array([0, 1])  # data: dead, chicken
    det = Detections(
        np.array([[0, 0, 10, 10], [20, 20, 30, 30]], np.float32),
        np.array([0.9, 0.9]),
        np.array([1, 0]),
    )  # model: dead, chicken
    res = evaluate(
        [(det, gt_cls, gt_boxes)], ["dead", "chicken"], ["chicken", "dead"], {"default": 0.25}
    )
    classes = res["classes"]
    assert isinstance(classes, dict)
    assert classes["dead"]["recall"] == 1.0 and classes["dead"]["precision"] == 1.0
    assert res["map50"] == pytest.approx(1.0, abs=0.006)  # trapezoid envelope, as ultralytics


def test_evaluate_breaks_recall_down_by_how_much_of_a_bird_shows() -> None:
    gt_boxes = np.array([[0, 0, 10, 10], [20, 20, 30, 30], [40, 40, 50, 50]], np.float64)
    gt_cls = np.array([1, 1, 0])  # dead, dead, chicken
    visible = np.array([0.95, 0.4, 0.6])
    det = Detections(
        np.array([[0, 0, 10, 10], [20, 20, 30, 30], [40, 40, 50, 50]], np.float32),
        np.array([0.9, 0.2, 0.8]),  # the half-hidden carcass scores under the threshold
        np.array([1, 1, 0]),
    )
    names = ["chicken", "dead"]
    res = evaluate([(det, gt_cls, gt_boxes, visible)], names, names, {"default": 0.5})
    bands = res["recall_by_visibility"]
    assert isinstance(bands, dict)
    assert bands["dead"]["0.9-1"] == {"instances": 1, "recall": 1.0}
    assert bands["dead"]["0.3-0.5"] == {"instances": 1, "recall": 0.0}
    assert bands["dead"]["0.5-0.7"] == {"instances": 0, "recall": 0.0}
    assert bands["chicken"]["0.5-0.7"] == {"instances": 1, "recall": 1.0}
    # Without visibility (any YOLO export) there is no breakdown, and the rest is the same.
    plain = evaluate([(det, gt_cls, gt_boxes)], names, names, {"default": 0.5})
    assert "recall_by_visibility" not in plain and plain["classes"] == res["classes"]


def test_evaluate_counts_each_miss_and_false_alarm_by_cause() -> None:
    names = ["chicken", "dead"]
    gt_boxes = np.array(
        [[0, 0, 10, 10], [20, 0, 30, 10], [40, 0, 50, 10], [60, 0, 70, 10], [80, 0, 90, 10]],
        np.float64,
    )
    gt_cls = np.array([1, 1, 1, 1, 0])  # four carcasses, one live bird
    det = Detections(
        np.array(
            [
                [0, 0, 10, 10],  # dead, under the threshold: a low-score miss
                [20, 0, 30, 10],  # the second carcass called a chicken
                [40, 0, 44, 10],  # dead, confident, but a sliver of the third: mislocated
                [80, 0, 90, 10],  # the live bird called dead
                [80, 0, 90, 10],  # ... and called a chicken too (found)
                [200, 200, 210, 210],  # dead on bare floor
            ],
            np.float32,
        ),
        np.array([0.2, 0.9, 0.9, 0.8, 0.9, 0.7]),
        np.array([1, 0, 1, 1, 0, 1]),
    )
    res = evaluate([(det, gt_cls, gt_boxes)], names, names, {"default": 0.5})
    dead = res["classes"]["dead"]["errors"]  # type: ignore[index]
    assert dead["misses"] == {"low_score": 1, "other_class": 1, "mislocated": 1, "not_found": 1}
    assert dead["false_positives"] == {
        "other_class": 1,
        "duplicate": 0,
        "mislocated": 1,
        "background": 1,
    }
    chicken = res["classes"]["chicken"]["errors"]  # type: ignore[index]
    assert chicken["misses"] == {"low_score": 0, "other_class": 0, "mislocated": 0, "not_found": 0}
    assert chicken["false_positives"]["other_class"] == 1  # the carcass called a chicken


def test_read_visibility_only_when_it_matches_the_labels(tmp_path: Path) -> None:
    (tmp_path / "images").mkdir()
    (tmp_path / "visibility").mkdir()
    image = tmp_path / "images" / "a.jpg"
    (tmp_path / "visibility" / "a.txt").write_text("0.5\n1.0\n")
    shown = read_visibility(image, tmp_path, 2)
    assert shown is not None and shown.tolist() == [0.5, 1.0]
    assert read_visibility(image, tmp_path, 3) is None  # out of step with the labels: ignored
    assert read_visibility(tmp_path / "images" / "b.jpg", tmp_path, 1) is None


def test_read_labels(tmp_path: Path) -> None:
    f = tmp_path / "a.txt"
    f.write_text("1 0.5 0.5 0.25 0.5\n")
    cls, boxes = read_labels(f, 200, 100)
    assert cls.tolist() == [1] and boxes[0].tolist() == [75, 25, 125, 75]
    assert read_labels(tmp_path / "missing.txt", 10, 10)[0].size == 0


def test_read_labels_takes_polygons_and_names_a_bad_line(tmp_path: Path) -> None:
    f = tmp_path / "a.txt"
    f.write_text("0 0.4 0.2 0.6 0.3 0.5 0.8\n1 0.5 0.5 0.25 0.5 0.97\n")  # a triangle; a box with a score
    cls, boxes = read_labels(f, 200, 100)
    assert cls.tolist() == [0, 1]
    assert np.allclose(boxes, [[80, 20, 120, 80], [75, 25, 125, 75]])
    f.write_text("0 0.5 0.5 0.25 0.5\n\n0 0.5 0.5\n")
    with pytest.raises(DataSetError, match="a.txt line 3: 2 numbers"):
        read_labels(f, 200, 100)
    f.write_text("chicken 0.5 0.5 0.25 0.5\n")
    with pytest.raises(DataSetError, match="line 1: not numbers"):
        read_labels(f, 200, 100)
    f.write_text("0 0.5 0.5 0.25 0.5\n0 640 360 80 60\n")  # pixels, not fractions
    with pytest.raises(DataSetError, match="line 2: 640 is not a fraction"):
        read_labels(f, 1280, 720)
    f.write_text("0 1.02 0.5 0.1 0.1\n")  # an edge box rounded past the edge is still read
    assert read_labels(f, 100, 100)[0].tolist() == [0]


@pytest.mark.parametrize(("name", "ours"), [
    ("chicken", "chicken"), ("Hen", "chicken"), ("live_broilers", "chicken"), ("Sick Chicken", "chicken"),
    ("chicken-alive", "chicken"), ("Unhealthy", "chicken"),
    ("dead", "dead"), ("Dead-Chicken", "dead"), ("chicken_dead", "dead"), ("carcass", "dead"),
    ("egg", None), ("feeder", None), ("dead feeder", None), ("", None),
])
def test_real_sets_class_names_are_read_as_ours(name: str, ours: str | None) -> None:
    assert our_class(name) == ours


def test_class_names_come_from_the_folder_or_its_parent(tmp_path: Path) -> None:
    split = tmp_path / "export" / "valid"
    split.mkdir(parents=True)
    with pytest.raises(DataSetError, match="no data.yaml"):
        data_names(split)
    (tmp_path / "export" / "data.yaml").write_text("names: {0: Hen, 1: egg}\n")
    assert data_names(split) == ["chicken", "egg"]
    (split / "data.yaml").write_text("names: [dead]\n")
    assert data_names(split) == ["dead"]
    (split / "data.yaml").write_text("nc: 2\n")
    with pytest.raises(DataSetError, match="no `names`"):
        data_names(split)
    (split / "data.yaml").unlink()
    (split / "classes.txt").write_text("Dead_Hen\nrooster\n\n")  # Label Studio's export
    assert data_names(split) == ["dead", "chicken"]


def test_conf_for_precision_picks_the_lowest_threshold_that_keeps_precision() -> None:
    from models.evaluate import conf_for_precision

    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.5])
    tp = np.array([True, True, False, True, False])
    # precision by rank: 1, 1, .67, .75, .6 -> at >= 0.75 the lowest is 0.6 with recall 3/4
    assert conf_for_precision(scores, tp, 4, 0.75) == (0.6, 0.75, 0.75)
    assert conf_for_precision(scores, tp, 4, 1.0) == (0.8, 1.0, 0.5)
    assert conf_for_precision(scores, np.zeros(5, bool), 4, 0.5) is None


def test_meets_targets_needs_both_classes_and_dead_recall_at_precision() -> None:
    from models.evaluate import meets_targets

    def result(chicken_ap: float, dead_ap: float, dead_p: float, dead_r: float) -> dict:
        return {
            "classes": {
                "chicken": {"map50": chicken_ap, "precision": 0.95, "recall": 0.9},
                "dead": {"map50": dead_ap, "precision": dead_p, "recall": dead_r},
            }
        }

    assert meets_targets(result(0.93, 0.96, 0.92, 0.96))
    assert not meets_targets(result(0.89, 0.96, 0.92, 0.96))  # chicken AP short
    assert not meets_targets(result(0.93, 0.96, 0.88, 0.97))  # dead precision short
    assert not meets_targets(result(0.93, 0.96, 0.92, 0.94))  # dead recall short
    assert not meets_targets(
        {"classes": {"chicken": {"map50": 1.0, "precision": 1.0, "recall": 1.0}}}
    )
