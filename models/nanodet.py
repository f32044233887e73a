"""NanoDet-m trained on COCO photographs: a start for `models adapt` that has seen real birds.

Our own models were trained on renders only; on the real henhouse frames the shipped model
finds almost nothing before adapting (AP50 0.05), NanoDet-m's COCO `bird` already 0.34, and a
few minutes of fine-tuning on 10 labelled frames take it past what adapting our own model
reaches in 15 (docs/results.md, issue 18). The network (`models/weights/nanodet-m-coco/`,
Apache-2.0, see its NOTICE.md) runs through `models.tfjs_graph`; here are what NanoDet's
training needs around it, for our two classes: `chicken` is learnt on COCO's `bird` channel, and
`dead` on a channel no poultry house needs (`toothbrush`), started afresh as NanoDet starts a
class (small weights, a prior of 0.01): started as a copy of `bird`, it learnt carcasses worse
and called more live birds dead (docs/results.md, issue 18):

- its anchor points and box decoding (distances to the box's sides as distributions over
  `BINS` steps of the level's stride, "generalized focal loss");
- ATSS assignment and its losses: quality focal loss on the score (target: the predicted box's
  IoU with its bird), GIoU and distribution focal loss on the box;
- fine-tuning on a farm's labelled frames (letterbox at random scales and places, flips,
  colour, grey) within a number of steps and a deadline;
- the served module: our runtime's input (RGB in [0, 1], letterboxed as `cloud.detect`
  does) in, and ultralytics' output layout out, `(1, 4 + nc, points)`, centre and size in
  input pixels then each class's score: so the detection worker serves it like any model.
  A class not learnt (`dead` where the farm labelled no carcass) scores 0 and is served from
  the base (`cloud.detect.dead_from`).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torchvision.ops import box_iou, generalized_box_iou

from models.copy_paste import Labelled
from models.tfjs_graph import GraphModule
from models.yolo_folder import CLASSES

GRAPH = Path(__file__).resolve().parent / "weights" / "nanodet-m-coco" / "nanodet.json"
COCO_BIRD = 14  # COCO's `bird`: chickens in photographs are mostly labelled so
COCO_DEAD = 79  # COCO's `toothbrush`, never in a poultry house: taken over for `dead`
CHANNELS = (COCO_BIRD, COCO_DEAD)  # per class of models.yolo_folder.CLASSES (chicken, dead)
DEAD_PRIOR = 0.01  # `dead`'s score everywhere before training, as NanoDet initialises a class
# The last convolution of each level: 1x1 kernel (HWIO, 80 class + 4 * BINS outputs) and bias
_HEADS = (("PartitionedCall/split_29", "unknown_62"), ("PartitionedCall/split_31", "unknown_68"),
          ("PartitionedCall/split_33", "unknown_72"))
STRIDES = (8, 16, 32)
BINS = 11  # NanoDet-m: reg_max 10
ANCHOR_SCALE = 5.0  # ATSS anchor side, in strides (NanoDet's octave_base_scale)
TOP_K = 9  # ATSS candidates per level
_SCORES = ("Identity", "Identity_1", "Identity_2")  # (1, points, 80) at strides 8, 16, 32
_DISTANCES = ("Identity_3", "Identity_4", "Identity_5")  # (1, points, 4 * BINS)
# NanoDet's own input normalisation (BGR, 0..255)
_MEAN = (103.53, 116.28, 123.675)
_STD = (57.375, 57.12, 58.395)
PAD = 114  # letterbox grey, as cloud.detect.preprocess pads
LOG_EVERY = 40  # steps between progress lines: about half a minute on two cores

log = logging.getLogger(__name__)


class NanoDet(torch.nn.Module):
    """forward(BGR 0..255, (n, 3, s, s), s a multiple of 32) -> scores per class (n, points,
    len(CHANNELS)) and side-distance logits (n, points, 4, BINS), levels in STRIDES order."""

    mean: torch.Tensor
    std: torch.Tensor

    def __init__(self, graph: Path = GRAPH) -> None:
        super().__init__()
        self.graph = GraphModule(graph, "input_1", [*_SCORES, *_DISTANCES])
        self.register_buffer("mean", torch.tensor(_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(_STD).view(1, 3, 1, 1), persistent=False)
        fixed = torch.Generator().manual_seed(0)  # the same start whatever ran before
        with torch.no_grad():
            for kernel, bias in _HEADS:
                k, b = (self.graph.weights[self.graph.index[n]] for n in (kernel, bias))
                k[..., COCO_DEAD] = torch.randn(k[..., COCO_DEAD].shape, generator=fixed) * 0.01
                b[COCO_DEAD] = -math.log((1 - DEAD_PRIOR) / DEAD_PRIOR)

    def forward(self, bgr: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        scores, dists = [], []
        for i in range(bgr.shape[0]):  # the graph's reshapes are written for one image
            out = self.graph((bgr[i:i + 1] - self.mean) / self.std)
            scores.append(torch.cat([o[0][:, CHANNELS] for o in out[:3]]))
            dists.append(torch.cat([o[0] for o in out[3:]]).reshape(-1, 4, BINS))
        return torch.stack(scores), torch.stack(dists)


@dataclass(frozen=True)
class Points:
    """Anchor points of a square input: (x, y) in input pixels and each one's stride."""

    xy: torch.Tensor
    stride: torch.Tensor
    level_sizes: tuple[int, ...]

    @classmethod
    def of(cls, size: int, device: torch.device | str = "cpu") -> Points:
        xy, stride, sizes = [], [], []
        for s in STRIDES:
            side = size // s
            ys, xs = torch.meshgrid(torch.arange(side), torch.arange(side), indexing="ij")
            xy.append(torch.stack([xs.reshape(-1), ys.reshape(-1)], 1).float() * s)
            stride.append(torch.full((side * side,), float(s)))
            sizes.append(side * side)
        return cls(torch.cat(xy).to(device), torch.cat(stride).to(device), tuple(sizes))


def decode(logits: torch.Tensor, xy: torch.Tensor, stride: torch.Tensor) -> torch.Tensor:
    """(p, 4, BINS) side-distance logits -> (p, 4) boxes x1 y1 x2 y2 in input pixels."""
    steps = torch.arange(BINS, dtype=logits.dtype, device=logits.device)
    d = torch.softmax(logits, dim=-1) @ steps * stride[:, None]
    return torch.cat([xy - d[:, :2], xy + d[:, 2:]], 1)


def assign(truth: torch.Tensor, pts: Points) -> torch.Tensor:
    """ATSS: per point, the index of the bird it learns (-1: background). Each bird takes its
    TOP_K nearest points per level whose anchor overlaps it more than the mean plus one standard
    deviation of those candidates' overlaps, and whose centre lies inside it."""
    n = pts.xy.shape[0]
    owner = torch.full((n,), -1, dtype=torch.long, device=truth.device)
    if not len(truth):
        return owner
    half = pts.stride[:, None] * (ANCHOR_SCALE / 2)
    overlap = box_iou(torch.cat([pts.xy - half, pts.xy + half], 1), truth)
    dist = torch.cdist(pts.xy, (truth[:, :2] + truth[:, 2:]) / 2)
    picks, start = [], 0
    for size in pts.level_sizes:
        picks.append(dist[start:start + size].topk(min(TOP_K, size), dim=0, largest=False).indices + start)
        start += size
    candidates = torch.cat(picks)  # (k, birds)
    best = torch.full((n,), -1.0, device=truth.device)
    for g in range(len(truth)):
        c = candidates[:, g]
        o = overlap[c, g]
        x, y = pts.xy[c, 0], pts.xy[c, 1]
        inside = (x > truth[g, 0]) & (x < truth[g, 2]) & (y > truth[g, 1]) & (y < truth[g, 3])
        won = c[(o >= o.mean() + o.std()) & inside]
        won = won[overlap[won, g] > best[won]]  # a point two birds want goes to its better overlap
        owner[won] = g
        best[won] = overlap[won, g]
    return owner


def loss(scores: torch.Tensor, logits: torch.Tensor, truths: Sequence[tuple[torch.Tensor, torch.Tensor]],
         pts: Points) -> torch.Tensor:
    """Generalized focal loss of a batch (scores (n, points, classes); truths: boxes and their
    class, a column of `scores`): quality focal loss on every point's score per class, GIoU (x2)
    and distribution focal loss (x0.25) on the assigned points, as NanoDet weighs them."""
    total = scores.new_zeros(())
    for p, d, (truth, cls) in zip(scores.clamp(1e-6, 1 - 1e-6), logits, truths, strict=True):
        owner = assign(truth, pts)
        pos = owner >= 0
        target = torch.zeros_like(p)
        if pos.any():
            boxes = decode(d[pos], pts.xy[pos], pts.stride[pos])
            matched = truth[owner[pos]]
            target[pos, cls[owner[pos]]] = box_iou(boxes, matched).diagonal().detach().clamp(min=0)
            weight = p[pos].detach().max(dim=1).values
            norm = weight.sum().clamp(min=1e-6)
            giou = ((1 - generalized_box_iou(boxes, matched).diagonal()) * weight).sum() / norm
            total = total + 2.0 * giou + 0.25 * (_dfl(d[pos], matched, pts, pos) * weight).sum() / norm
        quality = F.binary_cross_entropy(p, target, reduction="none") * (target - p).abs().pow(2)
        total = total + quality.sum() / max(int(pos.sum()), 1)
    return total / scores.shape[0]


def _dfl(logits: torch.Tensor, boxes: torch.Tensor, pts: Points, pos: torch.Tensor) -> torch.Tensor:
    """Per point: cross-entropy towards the two bins either side of each true side distance."""
    xy, stride = pts.xy[pos], pts.stride[pos][:, None]
    sides = torch.cat([xy - boxes[:, :2], boxes[:, 2:] - xy], 1) / stride
    sides = sides.clamp(0, BINS - 1 - 0.01).reshape(-1)
    left = sides.floor().long()
    flat = logits.reshape(-1, BINS)
    per_side = (F.cross_entropy(flat, left, reduction="none") * (left + 1 - sides)
                + F.cross_entropy(flat, left + 1, reduction="none") * (sides - left))
    return per_side.reshape(-1, 4).mean(1)


def place(image: np.ndarray, boxes: np.ndarray, size: int, zoom: float,
          at: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """`image` scaled to fit `size` (times `zoom`) on a grey square, its top-left at fraction
    `at` of the room left (a zoomed frame is cut); boxes with it."""
    h, w = image.shape[:2]
    gain = size / max(h, w) * zoom
    nw, nh = max(int(round(w * gain)), 1), max(int(round(h * gain)), 1)
    scaled = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_LINEAR)
    left, top = int(round((size - nw) * at[0])), int(round((size - nh) * at[1]))
    square = np.full((size, size, 3), PAD, np.uint8)
    sx, sy, dx, dy = max(0, -left), max(0, -top), max(0, left), max(0, top)
    cw, ch = min(nw - sx, size - dx), min(nh - sy, size - dy)
    square[dy:dy + ch, dx:dx + cw] = scaled[sy:sy + ch, sx:sx + cw]
    return square, boxes * gain + np.array([left, top, left, top], np.float64)


def augmented(frame: Labelled, learnt: Sequence[int], size: int, rng: np.random.Generator,
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One training view of a frame: its boxes of the `learnt` classes and each one's place in
    `learnt`; flipped, zoomed 0.7-1.6x and placed anywhere, colour and light shifted, one in five
    grey (IR night). A box cut to under 40 % of itself is dropped."""
    keep = np.isin(frame.classes, learnt)
    image, boxes = frame.image, frame.boxes[keep].astype(np.float64)
    column = np.array([list(learnt).index(int(c)) for c in frame.classes[keep]], np.int64)
    if rng.random() < 0.5:
        image = image[:, ::-1]
        boxes = np.stack([image.shape[1] - boxes[:, 2], boxes[:, 1], image.shape[1] - boxes[:, 0], boxes[:, 3]], 1)
    square, boxes = place(np.ascontiguousarray(image), boxes.reshape(-1, 4), size,
                          float(rng.uniform(0.7, 1.6)), (float(rng.random()), float(rng.random())))
    hsv = cv2.cvtColor(square, cv2.COLOR_BGR2HSV).astype(np.float32)
    hsv[..., 0] = (hsv[..., 0] + rng.uniform(-8, 8)) % 180
    hsv[..., 1] *= rng.uniform(0.5, 1.5)
    hsv[..., 2] *= rng.uniform(0.6, 1.4)
    square = cv2.cvtColor(hsv.clip(0, 255).astype(np.uint8), cv2.COLOR_HSV2BGR)
    if rng.random() < 0.2:
        square = cv2.cvtColor(cv2.cvtColor(square, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    whole = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    boxes = boxes.clip(0, size)
    kept = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    seen = (kept > 0.4 * whole) & (kept > 16)
    return square, boxes[seen], column[seen]


def batch_tensor(squares: Sequence[np.ndarray], device: torch.device) -> torch.Tensor:
    return torch.from_numpy(np.stack(squares).transpose(0, 3, 1, 2).astype(np.float32)).to(device)


@dataclass(frozen=True)
class FineTune:
    steps: int = 320  # henhouse, 10 frames: ~3 minutes on two cores; longer overfits 20 birds
    batch: int = 4
    lr: float = 3e-4
    weight_decay: float = 0.05
    seed: int = 0


def fine_tune(model: NanoDet, frames: Sequence[Labelled], learnt: Sequence[int], size: int, plan: FineTune,
              deadline: float, device: torch.device) -> int:
    """Train every layer on `frames` (their boxes of the `learnt` classes, in CLASSES order; the
    other class's score is left as it is) for `plan.steps` steps, or until
    `deadline` (time.monotonic()), the learning rate falling on a cosine over whichever comes
    first. Returns the steps taken."""
    rng = np.random.default_rng(plan.seed)
    torch.manual_seed(plan.seed)
    model.to(device).train()
    pts = Points.of(size, device)
    opt = torch.optim.AdamW(model.parameters(), lr=plan.lr, weight_decay=plan.weight_decay)
    start = time.monotonic()
    span = max(deadline - start, 1e-3)
    step = 0
    while step < plan.steps and time.monotonic() < deadline:
        progress = max(step / plan.steps, (time.monotonic() - start) / span)
        for group in opt.param_groups:
            group["lr"] = plan.lr * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))
        views = [augmented(frames[int(rng.integers(len(frames)))], learnt, size, rng) for _ in range(plan.batch)]
        scores, logits = model(batch_tensor([v[0] for v in views], device))
        truths = [(torch.as_tensor(v[1], dtype=torch.float32, device=device), torch.as_tensor(v[2], device=device))
                  for v in views]
        opt.zero_grad()
        value = loss(scores[..., list(learnt)], logits, truths, pts)
        value.backward()
        opt.step()
        step += 1
        if step % LOG_EVERY == 0:  # minutes on a CPU: say it is moving
            log.info("step %d of %d, loss %.3f, %.0f s", step, plan.steps, value.item(), time.monotonic() - start)
    model.eval()
    return step


class Served(torch.nn.Module):
    """Our runtime's contract: RGB in [0, 1], (1, 3, s, s) -> (1, 4 + len(classes), points):
    centre x, centre y, width, height in input pixels, then one score per class of `classes`
    (named as in CLASSES): its channel's where the class was `learnt`, else 0. Several networks'
    outputs lie side by side along the points axis (`cloud.detect.ModelEntry.networks`)."""

    xy: torch.Tensor
    stride: torch.Tensor

    def __init__(self, networks: Sequence[NanoDet], size: int, classes: Sequence[str], learnt: Sequence[int]) -> None:
        super().__init__()
        self.networks = torch.nn.ModuleList(networks)
        pts = Points.of(size)
        self.register_buffer("xy", pts.xy, persistent=False)
        self.register_buffer("stride", pts.stride, persistent=False)
        ours = [CLASSES.index(c) if c in CLASSES else -1 for c in classes]
        self.columns = [c if c in learnt else -1 for c in ours]

    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        bgr = rgb.flip(1) * 255.0
        return torch.cat([self._one(net, bgr) for net in self.networks], 2)

    def _one(self, net: torch.nn.Module, bgr: torch.Tensor) -> torch.Tensor:
        scores, logits = net(bgr)
        boxes = decode(logits[0], self.xy, self.stride)
        centre_size = torch.cat([(boxes[:, :2] + boxes[:, 2:]) / 2, boxes[:, 2:] - boxes[:, :2]], 1)
        classes = [scores[0, :, c] if c >= 0 else torch.zeros_like(scores[0, :, 0]) for c in self.columns]
        return torch.cat([centre_size, torch.stack(classes, 1)], 1).T[None]


def export_onnx(networks: Sequence[NanoDet], size: int, classes: Sequence[str], learnt: Sequence[int],
                target: Path) -> Path:
    """The served module as ONNX (fixed input (1, 3, size, size)), for `cloud.detect.OnnxDetector`."""
    import warnings

    served = Served([n.cpu().eval() for n in networks], size, classes, learnt)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the tracer's notes on the graph's constant shapes
        torch.onnx.export(served, (torch.zeros(1, 3, size, size),), str(target), dynamo=False,
                          opset_version=17, input_names=["images"], output_names=["output0"])
    return target
