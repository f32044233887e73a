"""A camera's adapted model served as INT8 where that changes nothing it finds.

A model adapted from COCO holds up to four networks, each looking at a frame twice
(`cloud.detect.views`). Quantised (`models.quantize`) with activation ranges from the camera's
own labelled frames, as the model sees them, it serves a frame in about three quarters of the time
from a quarter of the file, with the same recall on the real henhouse test frames (docs/results.md,
"2026-12-07 (evening)"). Ranges fitted to a handful of frames can still be wrong for one camera,
so the copy replaces the float model only where, on the labelled frames and copy-paste frames
made from them, each model finds again at least AGREEMENT of the other's boxes.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from cloud.detect import (
    Detections,
    ModelEntry,
    OnnxDetector,
    iou_matrix,
    mirrored_frames,
    sha256_file,
)
from models.copy_paste import Labelled, synthesise

log = logging.getLogger(__name__)

AGREEMENT = 0.95
CHECK_PASTED = 20  # copy-paste frames beside the labelled ones: more birds to compare on
SAME_BOX = 0.5  # IoU at which two models' boxes of one class are the same bird


@dataclass(frozen=True)
class Int8Check:
    agreement: float  # the lower of the two shares found again
    boxes: int  # the float model's boxes compared
    kept: bool

    def to_json(self) -> dict[str, Any]:
        return {"agreement": round(self.agreement, 3), "boxes": self.boxes, "kept": self.kept}


def found_again(a: Detections, b: Detections, classes: Sequence[int]) -> tuple[int, int]:
    """Of `a`'s boxes of `classes`, how many and how many of them `b` also has (same class, IoU
    >= SAME_BOX). A box clipped to a line at the frame's edge is no bird and overlaps nothing: left out."""
    a, b = (d.select(np.isin(d.classes, list(classes)) & (d.boxes[:, 2] > d.boxes[:, 0])
                     & (d.boxes[:, 3] > d.boxes[:, 1])) for d in (a, b))
    if not len(a) or not len(b):
        return len(a), 0
    same = (iou_matrix(a.boxes, b.boxes) >= SAME_BOX) & (a.classes[:, None] == b.classes[None, :])
    return len(a), int(same.any(axis=1).sum())


def agreement(first: OnnxDetector, second: OnnxDetector, images: Sequence[np.ndarray],
              classes: Sequence[int]) -> tuple[float, int]:
    """The lower of the shares of each model's boxes the other finds again, and the first's box count.
    No box from either: 0 (nothing shows the copy is faithful)."""
    counts = np.zeros(4, np.int64)  # first's boxes, found by second; second's boxes, found by first
    for image in images:
        [a] = first.detect([image])
        [b] = second.detect([image])
        counts += (*found_again(a, b, classes), *found_again(b, a, classes))
    if counts[0] == 0 or counts[2] == 0:
        return 0.0, int(counts[0])
    return float(min(counts[1] / counts[0], counts[3] / counts[2])), int(counts[0])


def int8_if_faithful(served: ModelEntry, classes: Sequence[int], frames: Sequence[Labelled],
                     seed: int) -> Int8Check:
    """Quantise `served` (the float model as it will be served) on `frames`; where it agrees,
    the INT8 file replaces the float one at the same path."""
    from models.quantize import quantize

    images = [f.image for f in frames]
    looks = [*images, *mirrored_frames(images)] if served.mirrored else images
    int8 = served.path.with_suffix(".int8.onnx")
    try:
        quantize(served.path, int8, served.input_size, looks)
    except Exception as exc:  # an optimisation: minutes of training must not be lost to it
        int8.unlink(missing_ok=True)
        log.warning("INT8 quantisation failed (%s): the float model stays", exc)
        return Int8Check(0.0, 0, False)
    try:
        copy = replace(served, path=int8, sha256=sha256_file(int8))
        check = [*images, *(f.image for f in synthesise(frames, CHECK_PASTED, seed))]
        share, boxes = agreement(OnnxDetector(served, threads=2), OnnxDetector(copy, threads=2), check, classes)
        kept = share >= AGREEMENT
        if kept:
            int8.replace(served.path)
        log.info("INT8 copy and float model agree on %.3f of %d boxes (%.2f needed): %s", share, boxes,
                 AGREEMENT, "the INT8 copy is served" if kept else "the float model stays")
        return Int8Check(share, boxes, kept)
    finally:
        int8.unlink(missing_ok=True)
