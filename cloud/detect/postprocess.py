"""Decode YOLO (v8/11) head output, non-maximum suppression, and map boxes back to the frame.

The exported head gives (batch, 4 + classes, anchors): centre x, centre y, width, height in
input pixels, then per-class scores already passed through a sigmoid.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from cloud.detect.preprocess import Letterbox

MAX_WH = 7680.0  # class offset for class-aware NMS in one pass, as ultralytics does


@dataclass(frozen=True)
class Detections:
    boxes: np.ndarray  # (n, 4) x0, y0, x1, y1 in frame pixels
    scores: np.ndarray  # (n,)
    classes: np.ndarray  # (n,) int
    class_scores: np.ndarray | None = None  # (n, nc) every class's score, where kept

    def __len__(self) -> int:
        return int(self.scores.shape[0])

    def select(self, which: np.ndarray) -> Detections:
        cs = None if self.class_scores is None else self.class_scores[which]
        return Detections(self.boxes[which], self.scores[which], self.classes[which], cs)


def iou_one_to_many(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    x0 = np.maximum(box[0], boxes[:, 0])
    y0 = np.maximum(box[1], boxes[:, 1])
    x1 = np.minimum(box[2], boxes[:, 2])
    y1 = np.minimum(box[3], boxes[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return np.asarray(inter / np.maximum(area + areas - inter, 1e-9))


def best_overlap(box: np.ndarray, boxes: np.ndarray, min_iou: float) -> int | None:
    """Index of the box in `boxes` that `box` overlaps most, if by IoU >= `min_iou`."""
    if not len(boxes):
        return None
    ious = iou_one_to_many(box, boxes)
    best = int(np.argmax(ious))
    return best if ious[best] >= min_iou else None


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    w = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0])
    h = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1])
    inter = np.clip(w, 0, None) * np.clip(h, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return np.asarray(inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-9))


def nms(boxes: np.ndarray, scores: np.ndarray, iou: float, max_det: int = 300) -> np.ndarray:
    """Greedy NMS; returns kept indices, highest score first.

    OpenCV's (C++) greedy NMS: the same boxes in the same order as a numpy loop over the
    kept boxes, 10x faster on a crowded frame's ~700 candidates at a low score. Boxes scoring
    0 are dropped (every caller has thresholded above 0 already).
    """
    if not len(boxes):
        return np.zeros(0, np.int64)
    xywh = np.empty((len(boxes), 4), np.float64)  # float64: float32 would be read as int rects
    xywh[:, :2] = boxes[:, :2]
    xywh[:, 2:] = boxes[:, 2:] - boxes[:, :2]
    # top_k 0: OpenCV's top_k would cut the candidates before suppression, not the kept.
    nms_boxes: Any = cv2.dnn.NMSBoxes  # its stubs ask for lists; arrays are what it reads fastest
    kept = nms_boxes(xywh, np.asarray(scores, np.float32), 0.0, iou, 1.0, 0)
    return np.asarray(kept, np.int64).reshape(-1)[:max_det]


def decode(
    pred: np.ndarray, conf: float | np.ndarray, iou: float, max_det: int = 300, also: int | None = None
) -> Detections:
    """One image's head output (4 + nc, anchors) -> detections in input pixels.

    `conf` may be one threshold or one per class. Each anchor gives its best class (as
    ultralytics predicts); class `also` is given too wherever it passes its threshold.
    """
    scores_all = pred[4:].T  # (anchors, nc)
    thr = np.broadcast_to(np.asarray(conf, dtype=np.float32), scores_all.shape[1:])
    best = scores_all.argmax(axis=1)
    anchors = np.flatnonzero(scores_all[np.arange(best.shape[0]), best] > thr[best])
    cls = best[anchors]
    if also is not None:
        extra = np.flatnonzero((best != also) & (scores_all[:, also] > thr[also]))
        anchors = np.concatenate([anchors, extra])
        cls = np.concatenate([cls, np.full(len(extra), also, best.dtype)])
    if not len(anchors):
        return Detections(
            np.zeros((0, 4), np.float32),
            np.zeros(0, np.float32),
            np.zeros(0, np.int64),
            np.zeros((0, scores_all.shape[1]), np.float32),
        )
    xywh = pred[:4, anchors].T
    score = scores_all[anchors, cls]
    boxes = np.empty_like(xywh)
    boxes[:, :2] = xywh[:, :2] - xywh[:, 2:] / 2
    boxes[:, 2:] = xywh[:, :2] + xywh[:, 2:] / 2
    kept = nms(boxes + (cls[:, None] * MAX_WH), score, iou, max_det)
    return Detections(boxes[kept], score[kept], cls[kept].astype(np.int64), scores_all[anchors][kept])


def to_frame(det: Detections, lb: Letterbox) -> Detections:
    """Undo the letterbox and clip to the frame."""
    if not len(det):
        return det
    b = det.boxes.copy()
    b[:, [0, 2]] = np.clip((b[:, [0, 2]] - lb.pad_x) / lb.gain, 0, lb.width)
    b[:, [1, 3]] = np.clip((b[:, [1, 3]] - lb.pad_y) / lb.gain, 0, lb.height)
    return Detections(b, det.scores, det.classes, det.class_scores)
