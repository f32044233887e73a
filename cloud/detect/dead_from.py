"""A camera's adapted model whose `dead` comes from the model it was adapted from.

`models adapt` registers `"dead_from": BASE` when its probe (`models.dead_check`) found the
adapted model blinder to dead birds than its base on that camera's own floor: the adapted
model then finds the birds and the base the carcasses, so adapting never costs a camera its
dead-bird alerts. Both run on every frame; the entry's `conf` already carries the base's
`dead` threshold. `Sessions` opens each model once however many cameras it serves, so a base
that is also the worker's default costs no second session.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from cloud.detect.detector import NEVER_TRUSTED, OnnxDetector
from cloud.detect.postprocess import Detections
from cloud.detect.registry import ModelEntry, RegistryError


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
        self.name = f"{own.name} (dead: {base.name})"  # as the console shows who judged a frame
        self.conf = own.conf
        self._dead = own.classes.index("dead")

    def detect(self, frames: Sequence[np.ndarray], *, conf: float | Sequence[float] | np.ndarray | None = None,
               iou: float | None = None) -> list[Detections]:
        thr = self.own.thresholds(conf)
        only_dead = np.full_like(thr, NEVER_TRUSTED)
        only_dead[self._dead] = thr[self._dead]
        but_dead = thr.copy()
        but_dead[self._dead] = NEVER_TRUSTED
        return [_join(a, b) for a, b in zip(self.own.detect(frames, conf=but_dead, iou=iou),
                                            self.base.detect(frames, conf=only_dead, iou=iou), strict=True)]


def _join(a: Detections, b: Detections) -> Detections:
    scores = None
    if a.class_scores is not None and b.class_scores is not None:
        scores = np.concatenate([a.class_scores, b.class_scores])
    return Detections(np.concatenate([a.boxes, b.boxes]), np.concatenate([a.scores, b.scores]),
                      np.concatenate([a.classes, b.classes]), scores)


class Sessions:
    """One ONNX session per registered model, shared by all that serve it: the worker's default,
    cameras' models and the bases their `dead` comes from. A model registered again under its
    name (another file or thresholds) replaces its session. `lookup` finds an entry by name
    (a registry lookup: shipped models first, then the deployment's)."""

    def __init__(self, lookup: Callable[[str], ModelEntry] | None = None, threads: int | None = None) -> None:
        self.lookup = lookup
        self.threads = threads
        self._open: dict[str, OnnxDetector] = {}

    def open(self, entry: ModelEntry) -> OnnxDetector:
        held = self._open.get(entry.name)
        if held is None or held.entry != entry:
            held = self._open[entry.name] = OnnxDetector(entry, threads=self.threads)
        return held

    def named(self, name: str) -> OnnxDetector:
        if self.lookup is None:
            raise RegistryError(f"no registry was given to find {name}")
        return self.open(self.lookup(name))


def served_detector(entry: ModelEntry, sessions: Sessions) -> OnnxDetector | DeadFromBase:
    """The detector a registry entry is served as, its sessions opened through `sessions`."""
    own = sessions.open(entry)
    base = entry.extra.get("dead_from")
    if base is None:
        return own
    try:
        return DeadFromBase(own, sessions.named(str(base)))
    except RegistryError as exc:
        raise RegistryError(f"{entry.name} takes `dead` from {base}: {exc}") from None
