"""Does a camera's adapted model still find dead birds, and at what threshold is `dead` served?

Carcass replay (`models.carcass_replay`) keeps `dead` in an adapted model's ranking, but not
reliably: with every layer trained, one henhouse model found 3 of 210 pasted carcasses at the
served 0.25 (AP50 0.27), another none at any score, so its camera would have had no dead-bird
alert again. After training, both the adapted model and its base are therefore run on probe
frames, the farm's own frames with carcasses from renders that adapting never drew from:

- the adapted model's `dead` is served at the highest threshold that still finds TARGET_RECALL
  of the probe's carcasses, never above the adapted default (a rendered carcass is easier than
  a real one) and never under FLOOR;
- if even so it finds fewer than the base model does at the base's own threshold, the camera
  keeps the base's `dead` (`dead_from` in the registry, `cloud.detect.DeadFromBase`): adapting
  must never make a camera blinder to dead birds than it was.

Extra `dead` boxes on live birds still have to stay still for minutes before the detection
worker calls them a death (`cloud.detect.stillness`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from cloud.detect import Detections
from models.carcass_replay import with_carcasses
from models.copy_paste import Labelled
from models.evaluate import match
from models.yolo_folder import CLASSES

TARGET_RECALL = 0.8  # issue 18's bar for `dead`
FLOOR = 0.05  # under this the probe's few carcasses say too little about live birds' scores
PROBE_FRAMES = 12
PER_FRAME = 2
PROBE_SEED = 1000  # added to the adapt seed: renders apart from replay's and paste-carcasses' (50)

Detect = Callable[[list[np.ndarray]], list[Detections]]


def probe_frames(frames: Sequence[Labelled], seed: int) -> list[Labelled]:
    """The farm's labelled frames (BGR) with rendered carcasses that adapting never saw."""
    return with_carcasses(frames, seed + PROBE_SEED, per_frame=PER_FRAME, count=PROBE_FRAMES)


@dataclass(frozen=True)
class ProbeScores:
    """A model's `dead` boxes on the probe: scores of those on a carcass (one per carcass at
    most) and of the others (on live birds, on the floor)."""

    carcasses: int
    hits: tuple[float, ...]
    others: tuple[float, ...]

    def found(self, threshold: float) -> int:
        return sum(s > threshold for s in self.hits)  # the detector keeps scores above it

    def false_boxes(self, threshold: float) -> int:
        return sum(s > threshold for s in self.others)


def score_probe(detect: Detect, dead_id: int, probe: Sequence[Labelled]) -> ProbeScores:
    """`detect` runs a model (its class ids, `dead_id` its `dead`) keeping `dead` boxes down to
    the lowest threshold of interest; `probe` as `probe_frames` makes it."""
    dead = CLASSES.index("dead")
    hits: list[float] = []
    others: list[float] = []
    carcasses = 0
    for frame, det in zip(probe, _batched(detect, [f.image for f in probe]), strict=True):
        boxes = det.select(det.classes == dead_id)
        truth = frame.boxes[frame.classes == dead]
        carcasses += len(truth)
        tp = match(boxes, np.full(len(truth), dead_id, np.int64), truth)
        hits += boxes.scores[tp].tolist()
        others += boxes.scores[~tp].tolist()
    return ProbeScores(carcasses, tuple(hits), tuple(others))


def calibrated_threshold(scores: ProbeScores, ceiling: float) -> float:
    """The highest threshold in [FLOOR, ceiling] still finding TARGET_RECALL of the carcasses
    (FLOOR when none does), rounded down to 4 decimals."""
    hits = sorted(scores.hits, reverse=True)
    needed = math.ceil(TARGET_RECALL * scores.carcasses)
    best = hits[needed - 1] if 0 < needed <= len(hits) else FLOOR
    # just under the needed hit's score: the detector keeps a box scoring above its threshold
    return max(FLOOR, min(ceiling, math.floor(best * 1e4 - 1) / 1e4))


@dataclass(frozen=True)
class DeadCheck:
    threshold: float  # `dead` threshold of the adapted model
    own_found: int
    own_false_boxes: int
    base_threshold: float
    base_found: int
    base_false_boxes: int
    carcasses: int

    @property
    def keeps_base(self) -> bool:
        """The base finds more carcasses at its threshold than the adapted model at its own."""
        return self.base_found > self.own_found

    def to_json(self) -> dict[str, object]:
        return {"probe_carcasses": self.carcasses, "served_by": "base" if self.keeps_base else "own",
                "own": {"threshold": self.threshold, "found": self.own_found,
                        "false_boxes": self.own_false_boxes},
                "base": {"threshold": self.base_threshold, "found": self.base_found,
                         "false_boxes": self.base_false_boxes}}


def check_dead(own: ProbeScores, base: ProbeScores, base_threshold: float, ceiling: float) -> DeadCheck:
    threshold = calibrated_threshold(own, ceiling)
    return DeadCheck(threshold, own.found(threshold), own.false_boxes(threshold), base_threshold,
                     base.found(base_threshold), base.false_boxes(base_threshold), own.carcasses)


def _batched(detect: Detect, images: list[np.ndarray], size: int = 4) -> list[Detections]:
    return [d for k in range(0, len(images), size) for d in detect(images[k:k + size])]
