"""Decode YOLO (v8/11) head output, non-maximum suppression, and map boxes back to the frame.

The exported head gives (batch, 4 + classes, anchors): centre x, centre y, width, height in
input pixels, then per-class scores already passed through a sigmoid.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cloud.detect.preprocess import Letterbox

MAX_WH = 7680.0  # class offset for class-aware NMS in one pass, as ultralytics does


@dataclass(frozen=True)
class Detections:
    boxes: np.ndarray  # (n, 4) x0, y0, x1, y1 in frame pixels
    scores: np.ndarray  # (n,)
    classes: np.ndarray  # (n,) int

    def __len__(self) -> int:
        return int(self.scores.shape[0])


def iou_one_to_many(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    x0 = np.maximum(box[0], boxes[:, 0])
    y0 = np.maximum(box[1], boxes[:, 1])
    x1 = np.minimum(box[2], boxes[:, 2])
    y1 = np.minimum(box[3], boxes[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return inter / np.maximum(area + areas - inter, 1e-9)


def nms(boxes: np.ndarray, scores: np.ndarray, iou: float) -> np.ndarray:
    """Greedy NMS; returns kept indices, highest score first."""
    order = np.argsort(-scores, kind="stable")
    keep: list[int] = []
    while order.size:
        i = int(order[0])
        keep.append(i)
        if order.size == 1:
            break
        rest = order[1:]
        order = rest[iou_one_to_many(boxes[i], boxes[rest]) <= iou]
    return np.asarray(keep, dtype=np.int64)


def decode(
    pred: np.ndarray, conf: float | np.ndarray, iou: float, max_det: int = 300
) -> Detections:
    """One image's head output (4 + nc, anchors) -> detections in input pixels.

    `conf` may be one threshold or one per class.
    """
    scores_all = pred[4:].T  # (anchors, nc)
    cls = scores_all.argmax(axis=1)
    score = scores_all[np.arange(cls.shape[0]), cls]
    thr = np.asarray(conf, dtype=np.float32)
    keep = score > (thr[cls] if thr.ndim else thr)
    if not keep.any():
        return Detections(
            np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64)
        )
    xywh = pred[:4, keep].T
    score, cls = score[keep], cls[keep]
    boxes = np.empty_like(xywh)
    boxes[:, :2] = xywh[:, :2] - xywh[:, 2:] / 2
    boxes[:, 2:] = xywh[:, :2] + xywh[:, 2:] / 2
    kept = nms(boxes + (cls[:, None] * MAX_WH), score, iou)[:max_det]
    return Detections(boxes[kept], score[kept], cls[kept].astype(np.int64))


def to_frame(det: Detections, lb: Letterbox) -> Detections:
    """Undo the letterbox and clip to the frame."""
    if not len(det):
        return det
    b = det.boxes.copy()
    b[:, [0, 2]] = np.clip((b[:, [0, 2]] - lb.pad_x) / lb.gain, 0, lb.width)
    b[:, [1, 3]] = np.clip((b[:, [1, 3]] - lb.pad_y) / lb.gain, 0, lb.height)
    return Detections(b, det.scores, det.classes)
