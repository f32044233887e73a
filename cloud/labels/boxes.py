"""Label boxes of a farm's data set: validation, a verdict applied to a frame, YOLO rows.

Pure functions on plain values; the database side is `cloud.labels.store`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

CLASSES = ("chicken", "dead")
MAX_BOXES = 1000  # a crowded broiler house seen whole has a few hundred birds in view
# A verdict's box and a label box this close are the same bird (the farmer judged the
# detector's box; the label may be a slightly different drawing of it).
SAME_BIRD_IOU = 0.3


class LabelError(ValueError):
    """A label the set cannot take; the message names the problem."""


@dataclass(frozen=True)
class LabelBox:
    cls: str
    x1: float
    y1: float
    x2: float
    y2: float

    @property
    def box(self) -> tuple[float, float, float, float]:
        return (self.x1, self.y1, self.x2, self.y2)

    def as_json(self) -> dict[str, Any]:
        return {"cls": self.cls, "box": [round(v, 1) for v in self.box]}


def make_box(cls: str, box: Sequence[float]) -> LabelBox:
    """A box from a class name and [x1, y1, x2, y2]; corners may come in any order."""
    if cls not in CLASSES:
        raise LabelError(f"class {cls!r} is not one of {', '.join(CLASSES)}")
    if len(box) != 4:
        raise LabelError(f"a box has 4 numbers, not {len(box)}")
    x1, y1, x2, y2 = (float(v) for v in box)
    if any(v != v or abs(v) > 100_000 for v in (x1, y1, x2, y2)):  # NaN or absurd
        raise LabelError("box coordinates must be pixel positions")
    return LabelBox(cls, min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2))


def from_json(raw: Iterable[dict[str, Any]]) -> list[LabelBox]:
    return [make_box(str(item["cls"]), item["box"]) for item in raw]


def to_json(boxes: Iterable[LabelBox]) -> list[dict[str, Any]]:
    return [b.as_json() for b in boxes]


def fit(boxes: Iterable[LabelBox], width: int, height: int) -> list[LabelBox]:
    """Boxes clipped to the frame; what is left under a pixel wide or high is dropped."""
    out = []
    for b in boxes:
        x1, x2 = max(0.0, min(b.x1, width)), max(0.0, min(b.x2, width))
        y1, y2 = max(0.0, min(b.y1, height)), max(0.0, min(b.y2, height))
        if x2 - x1 >= 1 and y2 - y1 >= 1:
            out.append(LabelBox(b.cls, x1, y1, x2, y2))
    return out


def iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def apply_verdict(boxes: Iterable[LabelBox], verdict: Sequence[float], confirmed: bool) -> list[LabelBox]:
    """A dead-bird record's verdict on a frame's labels: whatever labelled that bird goes; a
    confirmed bird comes back as `dead`; a rejected one stays unlabelled (background), since
    what the detector took for a carcass is as often a feeder, a drinker or litter as a live bird.
    A technician who knows it was a live bird adds it as `chicken` in the console."""
    judged = make_box("dead", verdict)
    kept = [b for b in boxes if iou(b.box, judged.box) < SAME_BIRD_IOU]
    return kept + [judged] if confirmed else kept


def yolo_rows(boxes: Iterable[LabelBox], width: int, height: int) -> list[str]:
    """`class cx cy w h` lines, normalised to the frame, class ids in CLASSES order."""
    return [
        f"{CLASSES.index(b.cls)} {(b.x1 + b.x2) / 2 / width:.6f} {(b.y1 + b.y2) / 2 / height:.6f} "
        f"{(b.x2 - b.x1) / width:.6f} {(b.y2 - b.y1) / height:.6f}"
        for b in fit(boxes, width, height)
    ]
