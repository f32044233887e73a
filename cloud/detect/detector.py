"""The ONNX Runtime detector: one session, warmed up at start, batched calls.

Frames go in as BGR uint8 (what OpenCV decodes); detections come out in frame pixels.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from cloud.detect.postprocess import Detections, decode, to_frame
from cloud.detect.preprocess import letterbox, to_tensor
from cloud.detect.refine import Refiner, RefinerSpec
from cloud.detect.registry import ModelEntry
from cloud.detect.views import LOOK_SHARE, fuse_all, mirrored, unmirror

log = logging.getLogger(__name__)
STRIDE = 32  # largest stride of the YOLO heads
NEVER_TRUSTED = 2.0  # a detector score no proposal reaches
NO_SECOND_LOOK = (1.0, 0.0)  # an empty band
BIRD = "chicken"  # a box of it is kept wherever it passes, even where `dead` scores higher


class OnnxDetector:
    def __init__(
        self,
        entry: ModelEntry,
        *,
        threads: int | None = None,
        providers: Sequence[str] = ("CPUExecutionProvider",),
        warmup: int = 2,
    ) -> None:
        import onnxruntime as ort  # deferred: heavy, cloud extra

        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = threads
            opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # No spin-waiting between calls: with a refiner two sessions alternate, and one's
        # spinning threads took the cores from the other (bare detector call 49 -> 31 ms).
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.entry = entry
        self.session = ort.InferenceSession(str(entry.path), opts, providers=list(providers))
        inp = self.session.get_inputs()[0]
        self.input_name = inp.name
        self.size = entry.input_size
        self.fixed_batch = isinstance(inp.shape[0], int)
        # A model exported with dynamic height/width takes the minimal stride-32 letterbox.
        self.stride: int | None = None if isinstance(inp.shape[-1], int) else STRIDE
        self.conf = np.asarray(entry.conf_vector(), np.float32)
        self.classes: tuple[str, ...] = entry.classes
        self.name = entry.name
        self._bird = self.classes.index(BIRD) if BIRD in self.classes else None
        h = self.size if self.stride is None else self.size * 9 // 16 // STRIDE * STRIDE + STRIDE
        zeros = np.zeros((1, 3, h, self.size), np.float32)  # warm up on the 16:9 camera shape
        for _ in range(warmup):
            self.raw(zeros)
        self.refiner = _load_refiner(entry, opts, providers)
        log.info("loaded %s (%s) input %s", entry.name, Path(entry.path).name, self.size)

    def raw(self, tensor: np.ndarray) -> np.ndarray:
        """The bare session call: (n, 3, s, s) float32 -> (n, 4 + nc, anchors)."""
        if self.fixed_batch and tensor.shape[0] != 1:
            return np.concatenate(
                [self.session.run(None, {self.input_name: t[None]})[0] for t in tensor]
            )
        return np.asarray(self.session.run(None, {self.input_name: tensor})[0])

    def thresholds(self, conf: float | Sequence[float] | np.ndarray | None) -> np.ndarray:
        """One threshold per class: the model's own, or `conf` (one for all, or one per class)."""
        return self.conf if conf is None else np.broadcast_to(np.asarray(conf, np.float32), self.conf.shape)

    def detect(
        self,
        frames: Sequence[np.ndarray],
        *,
        conf: float | Sequence[float] | np.ndarray | None = None,
        iou: float | None = None,
        refine: bool = True,
    ) -> list[Detections]:
        """Detections per frame (BGR uint8), at the model's default thresholds unless given
        (one for all classes, or one per class).

        A bird the model half takes for dead keeps its `chicken` box beside the `dead` one:
        it is still a bird in view (henhouse test: chicken AP50 0.69 -> 0.74, docs/results.md).
        With a refiner (and `refine`), the detector only proposes boxes at the refiner's
        proposal score and the thresholds apply to the refiner's scores; `refine=False`
        gives the detector's own output, one class per box: what ultralytics would give.
        A model registered `mirrored` looks at each frame twice, and each of its `networks`
        looks once more (`cloud.detect.views`).
        """
        thr = self.thresholds(conf)
        iou_thr = self.entry.iou if iou is None else iou
        if not self.entry.mirrored and self.entry.networks == 1:
            return [seen[0] for seen in self._looks(frames, thr, iou_thr, refine)]
        n = len(frames)
        views = [*frames, *mirrored(list(frames))] if self.entry.mirrored else list(frames)
        seen = self._looks(views, thr * LOOK_SHARE, iou_thr, refine)
        fused = []
        for k in range(n):
            looks = []
            for net, det in enumerate(seen[k]):
                looks.append(det)
                if self.entry.mirrored:
                    looks.append(unmirror(seen[n + k][net], frames[k].shape[1]))
            fused.append(fuse_all(looks, thr, iou_thr))
        return fused

    def _looks(
        self, frames: Sequence[np.ndarray], thr: np.ndarray, iou_thr: float, refine: bool
    ) -> list[list[Detections]]:
        """Per frame, each network's detections."""
        if self.refiner is None or not refine:
            return self._detect(frames, thr, iou_thr, self._bird if refine else None)
        proposals = self._detect(frames, self.refiner.spec.proposal_conf, self.entry.iou, self._bird)
        return [[self.refiner.refine(f, p, thr, iou_thr) for p in nets]
                for f, nets in zip(frames, proposals, strict=True)]

    def _detect(
        self, frames: Sequence[np.ndarray], thr: float | np.ndarray, iou_thr: float, also: int | None
    ) -> list[list[Detections]]:
        boxed = [letterbox(f, self.size, self.stride) for f in frames]
        results: list[list[Detections]] = [[] for _ in frames]
        # One session call per input shape (frames of one camera share theirs).
        by_shape: dict[tuple[int, ...], list[int]] = {}
        for i, (img, _) in enumerate(boxed):
            by_shape.setdefault(img.shape, []).append(i)
        for idx in by_shape.values():
            out = self.raw(to_tensor([boxed[i][0] for i in idx]))
            for k, i in enumerate(idx):
                # each network's points, side by side (ModelEntry.networks)
                results[i] = [to_frame(decode(part, thr, iou_thr, also=also), boxed[i][1])
                              for part in np.split(out[k], self.entry.networks, axis=1)]
        return results


def _load_refiner(entry: ModelEntry, opts: object, providers: Sequence[str]) -> Refiner | None:
    raw = entry.extra.get("refiner")
    if entry.refiner is None or not isinstance(raw, dict):
        return None
    weight = raw.get("detector_weight", {})
    trust = raw.get("trust", {})  # classes not named are never trusted
    again = raw.get("second_look", {})  # nor looked at twice
    assert isinstance(weight, dict) and isinstance(trust, dict) and isinstance(again, dict)
    spec = RefinerSpec(
        input_size=int(raw["input_size"]),
        expand=float(raw["expand"]),
        proposal_conf=float(raw["proposal_conf"]),
        detector_weight=tuple(float(weight.get(c, 0.0)) for c in entry.classes),
        trust=tuple(float(trust.get(c, NEVER_TRUSTED)) for c in entry.classes),
        second_look=tuple(_band(again.get(c, NO_SECOND_LOOK)) for c in entry.classes),
    )
    return Refiner(str(entry.refiner), spec, opts, providers)


def _band(pair: Sequence[float]) -> tuple[float, float]:
    """A [low, high] pair from the registry's JSON."""
    low, high = pair
    return float(low), float(high)
