"""Looks at a frame fused into one set of boxes: the frame as it is and mirrored left to right,
by each network a model's file holds.

A farm's adapted model learnt from a handful of frames and can be surer of a bird from one side
than the other. A bird seen from above or at an angle has any heading, so the mirrored frame is
as real as the frame. A box both looks agree on keeps its score; a box only one look makes is
halved. Agreement ranks real birds above the litter and perch edges a model half-learnt
(henhouse, real frames: docs/results.md "Two looks"). Two networks fine-tuned from different
seeds err on different birds; their looks are fused the same way (docs/results.md "Two networks").
"""

from __future__ import annotations

import numpy as np

from cloud.detect.postprocess import MAX_WH, Detections, iou_matrix, nms

SAME_BIRD = 0.55  # IoU at which the two looks' boxes are one bird (as weighted box fusion uses)
LOOK_SHARE = 0.5  # each look is asked for boxes at this share of the final threshold (see fuse)


def mirrored(frames: list[np.ndarray]) -> list[np.ndarray]:
    return [np.ascontiguousarray(f[:, ::-1]) for f in frames]


def unmirror(det: Detections, width: int) -> Detections:
    """Boxes found on a mirrored frame, in the frame's own pixels."""
    boxes = det.boxes.copy()
    boxes[:, [0, 2]] = width - det.boxes[:, [2, 0]]
    return Detections(boxes, det.scores, det.classes, det.class_scores)


def fuse(a: Detections, b: Detections, thr: np.ndarray, iou: float) -> Detections:
    """One box per bird from two looks at the same frame, scores the mean of the two looks.

    Pairs (same class, IoU >= SAME_BIRD) are taken best overlap first, each box in one pair at
    most; a pair's box is the two boxes weighted by score. A box without a partner counts its
    look's score and zero for the other. Each look was cut at LOOK_SHARE of `thr`, so a partner
    under that cut counts as zero: a fused score is low by at most a quarter of the threshold.
    """
    pa, pb = _pairs(a, b)
    lone_a = np.setdiff1d(np.arange(len(a)), pa)
    lone_b = np.setdiff1d(np.arange(len(b)), pb)
    sa, sb = a.scores[pa, None], b.scores[pb, None]
    boxes = np.concatenate([
        (a.boxes[pa] * sa + b.boxes[pb] * sb) / np.maximum(sa + sb, 1e-9), a.boxes[lone_a], b.boxes[lone_b]])
    scores = np.concatenate([(a.scores[pa] + b.scores[pb]) / 2, a.scores[lone_a] / 2, b.scores[lone_b] / 2])
    classes = np.concatenate([a.classes[pa], a.classes[lone_a], b.classes[lone_b]])
    class_scores = None
    if a.class_scores is not None and b.class_scores is not None:
        class_scores = np.concatenate([(a.class_scores[pa] + b.class_scores[pb]) / 2,
                                       a.class_scores[lone_a] / 2, b.class_scores[lone_b] / 2])
    fused = Detections(boxes.astype(np.float32), scores.astype(np.float32), classes, class_scores)
    fused = fused.select(scores >= np.asarray(thr, np.float32)[classes])
    # A lone box beside a pair (a look's box that lost its partner to a better overlap) is the
    # same bird again: class-wise NMS as the looks themselves had.
    return fused.select(nms(fused.boxes + fused.classes[:, None] * MAX_WH, fused.scores, iou))


def fuse_all(looks: list[Detections], thr: np.ndarray, iou: float) -> Detections:
    """Looks (a power of two of them) fused in pairs, then pairs of pairs: given as network 1,
    network 1 mirrored, network 2, ..., each network's two looks are one first. Every look and
    every fusion but the last is cut at LOOK_SHARE of `thr`, as `fuse` expects."""
    cut = np.asarray(thr, np.float32) * LOOK_SHARE
    while len(looks) > 1:
        at = thr if len(looks) == 2 else cut
        looks = [fuse(looks[i], looks[i + 1], at, iou) for i in range(0, len(looks), 2)]
    return looks[0]


def _pairs(a: Detections, b: Detections) -> tuple[np.ndarray, np.ndarray]:
    """Indices into a and b of the boxes paired as one bird."""
    if not len(a) or not len(b):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    overlap = iou_matrix(a.boxes, b.boxes)
    overlap[a.classes[:, None] != b.classes[None, :]] = 0.0
    ia, ib = np.nonzero(overlap >= SAME_BIRD)
    order = np.argsort(-overlap[ia, ib], kind="stable")
    used_a, used_b = set(), set()
    pa, pb = [], []
    for i, j in zip(ia[order].tolist(), ib[order].tolist(), strict=True):
        if i not in used_a and j not in used_b:
            used_a.add(i)
            used_b.add(j)
            pa.append(i)
            pb.append(j)
    return np.asarray(pa, np.int64), np.asarray(pb, np.int64)
