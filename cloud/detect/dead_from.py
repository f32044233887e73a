"""A camera's adapted model whose `dead` comes from the model it was adapted from.

`models adapt` registers `"dead_from": BASE` when its probe (`models.dead_check`) found the
adapted model blinder to dead birds than its base on that camera's own floor: the adapted
model then finds the birds and the base the carcasses, so adapting never costs a camera its
dead-bird alerts. Both run on every frame; the entry's `conf` already carries the base's
`dead` threshold.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from cloud.detect.detector import OnnxDetector
from cloud.detect.postprocess import Detections
from cloud.detect.registry import ModelEntry, RegistryError

NEVER = 1.0  # a threshold no score passes (boxes are kept above their threshold)


class DeadFromBase:
    """`detect` as OnnxDetector's: the adapted model's boxes of every class but `dead`, and
    the base's `dead` boxes, at the thresholds given (one per class, the adapted model's order)."""

    def __init__(self, own: OnnxDetector, base: OnnxDetector) -> None:
        if own.classes != base.classes:
            raise RegistryError(f"{own.name} takes `dead` from {base.name}, whose classes differ: "
                                f"{list(base.classes)} against {list(own.classes)}")
        self.own, self.base = own, base
        self.entry = own.entry
        self.classes = own.classes
        self.name = own.name
        self.conf = own.conf
        self._dead = own.classes.index("dead")

    def detect(self, frames: Sequence[np.ndarray], *, conf: float | Sequence[float] | np.ndarray | None = None,
               iou: float | None = None) -> list[Detections]:
        thr = self.conf if conf is None else np.broadcast_to(np.asarray(conf, np.float32), self.conf.shape)
        only_dead = np.full_like(thr, NEVER)
        only_dead[self._dead] = thr[self._dead]
        but_dead = thr.copy()
        but_dead[self._dead] = NEVER
        return [_join(a, b) for a, b in zip(self.own.detect(frames, conf=but_dead, iou=iou),
                                            self.base.detect(frames, conf=only_dead, iou=iou), strict=True)]


def _join(a: Detections, b: Detections) -> Detections:
    scores = None
    if a.class_scores is not None and b.class_scores is not None:
        scores = np.concatenate([a.class_scores, b.class_scores])
    return Detections(np.concatenate([a.boxes, b.boxes]), np.concatenate([a.scores, b.scores]),
                      np.concatenate([a.classes, b.classes]), scores)


def served_detector(entry: ModelEntry, lookup: Callable[[str], ModelEntry] | None = None,
                    threads: int | None = None) -> OnnxDetector | DeadFromBase:
    """The detector a registry entry is served as; `lookup` finds the entry its `dead_from`
    names (a registry lookup: shipped models first, then the deployment's)."""
    base = entry.extra.get("dead_from")
    if base is not None and lookup is None:
        raise RegistryError(f"{entry.name} takes `dead` from {base}, and no registry was given to find it")
    own = OnnxDetector(entry, threads=threads)
    if base is None or lookup is None:
        return own
    return DeadFromBase(own, OnnxDetector(lookup(str(base)), threads=threads))
