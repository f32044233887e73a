"""Second stage: look again at each proposed bird at the frame's own resolution.

The detector sees a 1280x720 frame shrunk to 640 px; a dead bird's stiff legs and splayed
wing are a pixel or two there, and its box is drawn like a resting bird's. The refiner takes
every proposal the detector makes at a low score, cuts a square window around it from the
full frame (a little larger than the box, so legs outside it are seen), and a small network
says background, chicken or dead and moves the box edges. Both stages run in ONNX Runtime;
the crop geometry lives here so training (`models/refiner.py`) and serving cut alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from cloud.detect.postprocess import MAX_WH, Detections, nms

PAD_VALUE = 114
MIN_WINDOW = 16.0  # px: smaller windows would be upscaled noise
SHRT_MAX = 32767
MAX_LEVEL = 4  # pyramid levels below the frame (16x): windows up to ~2,000 px
TRUST_OTHERS_BELOW = 0.01  # a proposal the detector is sure of gives every other class less


@dataclass(frozen=True)
class RefinerSpec:
    """How the refiner was trained to see; stored beside its file in the registry."""

    input_size: int = 64
    expand: float = 1.4  # window side / longer box side
    proposal_conf: float = 0.02  # detector score a box needs to be looked at again
    # Per detector class, how much of the final score is the detector's own (geometric
    # weighting, set on validation): the detector ranks live birds better than a 64 px crop
    # can, the refiner tells the dead far better.
    detector_weight: tuple[float, ...] = ()
    # Per detector class, the score at which the detector's verdict stands without a crop
    # (every other class under TRUST_OTHERS_BELOW too): a crowded frame's confident live
    # birds are a quarter of its proposals. Empty, or over 1, never (set on validation).
    trust: tuple[float, ...] = ()
    # Per detector class, (low, high): a crop the refiner gives that class a probability
    # strictly between is looked at once more, mirrored, and the two looks averaged (a bird
    # seen from above has any heading; the refiner was trained on mirrored crops too). A few
    # crops a frame; empty, or low >= high, never (set on validation).
    second_look: tuple[tuple[float, float], ...] = ()


def trusted(class_scores: np.ndarray, trust: Sequence[float]) -> np.ndarray:
    """(n,) bool: proposals whose detector scores the refiner need not look at again."""
    if not len(trust) or not len(class_scores):
        return np.zeros(len(class_scores), bool)
    best = class_scores.argmax(axis=1)
    rows = np.arange(len(best))
    others = class_scores.copy()
    others[rows, best] = 0.0
    sure = class_scores[rows, best] >= np.asarray(trust, np.float32)[best]
    return np.asarray(sure & (others.max(axis=1) < TRUST_OTHERS_BELOW))


def windows(boxes: np.ndarray, expand: float) -> np.ndarray:
    """Square windows (x0, y0, side), whole pixels, centred on each xyxy box."""
    cx = (boxes[:, 0] + boxes[:, 2]) / 2
    cy = (boxes[:, 1] + boxes[:, 3]) / 2
    side = np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
    side = np.round(np.maximum(side * expand, MIN_WINDOW))
    return np.stack([np.round(cx - side / 2), np.round(cy - side / 2), side], axis=1)


def to_window(boxes: np.ndarray, win: np.ndarray) -> np.ndarray:
    """xyxy frame boxes -> coordinates in their window, 0..1 across it."""
    return np.asarray((boxes - np.tile(win[:, :2], 2)) / win[:, 2:3])


def from_window(rel: np.ndarray, win: np.ndarray) -> np.ndarray:
    return np.asarray(rel * win[:, 2:3] + np.tile(win[:, :2], 2))


def cut(frame: np.ndarray, win: np.ndarray, size: int) -> np.ndarray:
    """(n, size, size, 3) uint8 crops of `frame` (same channel order), grey outside it.

    Each window is sampled bilinearly from the level of a 2x area-averaged pyramid where it
    is 1-2x the crop size: averaging keeps thin legs visible where plain interpolation would
    alias them, and the pyramid costs one pass per frame instead of one per crop. All the
    windows of one level are sampled by one `remap` call (1.5-2.4x faster than one call each).
    """
    level_of = np.clip(np.floor(np.log2(np.maximum(win[:, 2], 1) / size)), 0, MAX_LEVEL)
    level_of = level_of.astype(np.int64)
    levels = [frame]
    while len(levels) <= level_of.max(initial=0):
        h, w = levels[-1].shape[:2]
        levels.append(cv2.resize(levels[-1], (w // 2, h // 2), interpolation=cv2.INTER_AREA))
    out = np.empty((len(win), size, size, 3), np.uint8)
    per_call = (SHRT_MAX - 1) // size  # remap's output must stay under 32,767 rows
    for level in np.unique(level_of):
        members = np.flatnonzero(level_of == level)
        for first in range(0, len(members), per_call):
            idx = members[first : first + per_call]
            out[idx] = _sample(levels[level], win[idx] * 0.5**level, size)
    return out


def _sample(image: np.ndarray, win: np.ndarray, size: int) -> np.ndarray:
    """(n, size, size, 3) bilinear samples of `image` over windows in its own pixels."""
    centres = np.arange(size, dtype=np.float64) + 0.5
    step = win[:, 2:3] / size  # image pixels per crop pixel
    # Crop pixel u samples image coordinate x0 + (u + 0.5) * step - 0.5.
    xs = (win[:, 0:1] + centres * step - 0.5).astype(np.float32)
    ys = (win[:, 1:2] + centres * step - 0.5).astype(np.float32)
    shape = (len(win), size, size)
    sampled = cv2.remap(
        image,
        np.broadcast_to(xs[:, None, :], shape).reshape(-1, size),
        np.broadcast_to(ys[:, :, None], shape).reshape(-1, size),
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(PAD_VALUE, PAD_VALUE, PAD_VALUE),
    )
    return np.asarray(sampled).reshape(len(win), size, size, 3)


def doubtful(probs: np.ndarray, bands: Sequence[tuple[float, float]]) -> np.ndarray:
    """(n,) bool: crops whose refiner probability for some class lies inside its band."""
    out = np.zeros(len(probs), bool)
    for k, (low, high) in enumerate(bands):
        out |= (probs[:, k + 1] > low) & (probs[:, k + 1] < high)
    return out


def mirror(crops: np.ndarray, prior: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The same crops (n, 3, s, s) flipped left to right, their prior boxes with them."""
    flipped = prior.copy()
    flipped[:, :4] = mirror_boxes(prior[:, :4])
    return np.ascontiguousarray(crops[..., ::-1]), flipped


def mirror_boxes(rel: np.ndarray) -> np.ndarray:
    """Window boxes (0..1) flipped left to right: its own inverse."""
    return np.stack([1 - rel[:, 2], rel[:, 1], 1 - rel[:, 0], rel[:, 3]], axis=1)


def second_look(
    first: tuple[np.ndarray, np.ndarray], again: np.ndarray, mirrored: tuple[np.ndarray, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """The first look's (probs, boxes) with the `again` rows averaged with the refiner's
    look at their mirrored crops (`mirrored`: its probs and boxes for those rows)."""
    probs, rel = first[0].copy(), first[1].copy()
    probs[again] = (probs[again] + mirrored[0]) / 2
    rel[again] = (rel[again] + mirror_boxes(mirrored[1])) / 2
    return probs, rel


def prior(proposals: Detections, win: np.ndarray) -> np.ndarray:
    """What the detector already said of each proposal: its box in the window, its scores."""
    if proposals.class_scores is None:
        raise ValueError("the refiner needs the detector's per-class scores")
    box = to_window(proposals.boxes, win)
    return np.concatenate([box, proposals.class_scores], axis=1).astype(np.float32)


def crop_tensor(crops: np.ndarray, bgr: bool = True) -> np.ndarray:
    """(n, s, s, 3) uint8 -> (n, 3, s, s) float32 RGB in [0, 1]."""
    if bgr:
        crops = crops[..., ::-1]
    return np.ascontiguousarray(crops.transpose(0, 3, 1, 2), dtype=np.float32) / np.float32(255)


class Refiner:
    """The refiner's ONNX session: (crops, priors) -> class probabilities, boxes.

    Its class 0 is background; classes 1.. are the detector's, in the detector's order.
    """

    def __init__(self, path: str, spec: RefinerSpec, opts: object, providers: Sequence[str]):
        import onnxruntime as ort

        self.spec = spec
        self.session = ort.InferenceSession(path, opts, providers=list(providers))
        self._warm()

    def _warm(self) -> None:
        s = self.spec.input_size
        n_prior = self.session.get_inputs()[1].shape[1]
        self.raw(np.zeros((8, 3, s, s), np.float32), np.full((8, n_prior), 0.2, np.float32))

    def raw(self, crops: np.ndarray, prior: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        probs, boxes = self.session.run(None, {"crops": crops, "prior": prior})
        return np.asarray(probs), np.asarray(boxes)

    def inputs(self, frame: np.ndarray, proposals: Detections) -> tuple[np.ndarray, ...]:
        """Window, crop tensor and prior for each proposal of one BGR frame."""
        win = windows(proposals.boxes, self.spec.expand)
        crops = crop_tensor(cut(frame, win, self.spec.input_size))
        return win, crops, prior(proposals, win)

    def look(self, crops: np.ndarray, hints: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Probabilities and window boxes, with the doubtful crops looked at twice."""
        first = self.raw(crops, hints)
        again = doubtful(first[0], self.spec.second_look)
        if not again.any():
            return first
        return second_look(first, again, self.raw(*mirror(crops[again], hints[again])))

    def refine(
        self, frame: np.ndarray, proposals: Detections, conf: np.ndarray, iou: float
    ) -> Detections:
        """Final detections of one frame: reclassified, boxes moved, thresholded, NMS.

        Proposals the detector is sure of keep its scores and box (`RefinerSpec.trust`);
        doubtful crops get a second look (`RefinerSpec.second_look`)."""
        if not len(proposals):
            return proposals
        assert proposals.class_scores is not None
        sure = trusted(proposals.class_scores, self.spec.trust)
        scores, boxes = proposals.class_scores.copy(), proposals.boxes.copy()
        if not sure.all():
            win, crops, hints = self.inputs(frame, proposals.select(~sure))
            probs, rel = self.look(crops, hints)
            scores[~sure] = fuse(probs, hints[:, 4:], self.spec.detector_weight)
            boxes[~sure] = from_window(rel, win)
        return finish(scores, boxes, conf, iou, frame.shape[1], frame.shape[0])


def fuse(probs: np.ndarray, detector: np.ndarray, weight: Sequence[float]) -> np.ndarray:
    """(n, nc) final class scores: refiner ** (1 - w) * detector ** w, per class."""
    w = np.asarray(weight, np.float32) if len(weight) else np.zeros(detector.shape[1], np.float32)
    return probs[:, 1:] ** (1 - w) * detector**w


def finish(
    scores: np.ndarray, boxes: np.ndarray, conf: np.ndarray, iou: float, width: int, height: int
) -> Detections:
    """Every class a proposal passes the threshold of, then class-aware NMS.

    With thresholds above one half (the shipped ones) a proposal yields at most one class;
    below it a bird the refiner is torn about is reported as both, as ultralytics' own
    validation does, so a doubtful dead bird is never hidden behind a likelier chicken.
    """
    rows, cls = np.nonzero(scores > conf[None, :])
    score = scores[rows, cls]
    boxes = boxes[rows].copy()
    boxes[:, [0, 2]] = np.clip(boxes[:, [0, 2]], 0, width)
    boxes[:, [1, 3]] = np.clip(boxes[:, [1, 3]], 0, height)
    kept = nms(boxes + cls[:, None] * MAX_WH, score, iou)
    return Detections(
        boxes[kept].astype(np.float32), score[kept].astype(np.float32), cls[kept].astype(np.int64)
    )
