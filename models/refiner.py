"""Train the second-stage refiner (see cloud/detect/refine.py) and export it to ONNX.

Its examples are the detector's own proposals on a YOLO folder, so it learns to fix the
mistakes the detector actually makes: a proposal overlapping a labelled bird (IoU >= 0.35)
is that bird's class with that bird's box; one overlapping nothing (IoU < 0.2) is background;
in between is ambiguous and left out. Torch is the `train` extra only; serving reads ONNX.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cloud.detect import OnnxDetector, RefinerSpec, cut, iou_matrix, prior, to_window, windows
from models.evaluate import data_names, image_files, label_path, read_labels

log = logging.getLogger(__name__)
POSITIVE_IOU = 0.35
BACKGROUND_IOU = 0.2


@dataclass
class Examples:
    crops: np.ndarray  # (n, s, s, 3) uint8 BGR
    prior: np.ndarray  # (n, 4 + nc) proposal box in its window, detector's class scores
    label: np.ndarray  # (n,) 0 background, 1.. detector class + 1
    box: np.ndarray  # (n, 4) true box in the window (meaningless for background)

    def __len__(self) -> int:
        return len(self.label)

    def save(self, path: Path) -> None:
        np.savez(path, crops=self.crops, prior=self.prior, label=self.label, box=self.box)

    @classmethod
    def concat(cls, parts: Sequence[Examples]) -> Examples:
        return cls(
            *(
                np.concatenate([getattr(p, f) for p in parts])
                for f in ("crops", "prior", "label", "box")
            )
        )

    @classmethod
    def load(cls, path: Path) -> Examples:
        z = np.load(path)
        return cls(z["crops"], z["prior"], z["label"], z["box"])


def collect(
    data_dir: Path,
    detector: OnnxDetector,
    spec: RefinerSpec,
    *,
    data_to_model: dict[int, int],
    limit: int | None = None,
) -> Examples:
    """The detector's proposals on every image, labelled by the truth they overlap."""
    import cv2

    parts: list[tuple[np.ndarray, ...]] = []
    files = image_files(data_dir)[:limit]
    for n, f in enumerate(files):
        frame = cv2.imread(str(f), cv2.IMREAD_COLOR)
        if frame is None:
            continue
        gt_cls, gt = read_labels(label_path(f, data_dir), frame.shape[1], frame.shape[0])
        known = np.array([c in data_to_model for c in gt_cls], bool)
        gt_cls = np.array([data_to_model[c] for c in gt_cls[known]], np.int64)
        gt = gt[known]
        [props] = detector.detect([frame], conf=spec.proposal_conf, refine=False)
        if not len(props):
            continue
        label = np.zeros(len(props), np.int64)
        target = props.boxes.copy()
        keep = np.ones(len(props), bool)
        if len(gt):
            ious = iou_matrix(props.boxes, gt)
            best = ious.argmax(axis=1)
            best_iou = ious[np.arange(len(props)), best]
            pos = best_iou >= POSITIVE_IOU
            label[pos] = gt_cls[best[pos]] + 1
            target[pos] = gt[best[pos]]
            keep = pos | (best_iou < BACKGROUND_IOU)
        win = windows(props.boxes[keep], spec.expand)
        parts.append(
            (
                cut(frame, win, spec.input_size),
                prior(props.select(keep), win),
                label[keep],
                to_window(target[keep], win).astype(np.float32),
            )
        )
        if n % 200 == 0:
            log.info("collected %d/%d images", n, len(files))
    return Examples(*(np.concatenate(p) for p in zip(*parts, strict=True)))


def _net(n_classes: int) -> Any:
    import torch
    from torch import nn

    def block(cin: int, cout: int, stride: int) -> nn.Sequential:
        return nn.Sequential(
            nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.SiLU()
        )

    class RefinerNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.features = nn.Sequential(
                block(3, 16, 2),
                block(16, 32, 2),
                block(32, 32, 1),
                block(32, 64, 2),
                block(64, 64, 1),
                block(64, 128, 2),
                nn.Flatten(),
            )
            self.fc = nn.Sequential(nn.LazyLinear(192), nn.SiLU())
            self.cls = nn.Linear(192, n_classes + 1)
            self.delta = nn.Linear(192, 4)
            nn.init.zeros_(self.delta.weight)
            nn.init.zeros_(self.delta.bias)

        def forward(self, crops: torch.Tensor, prior: torch.Tensor) -> Any:
            h = self.fc(torch.cat([self.features(crops), prior], dim=1))
            return self.cls(h), prior[:, :4] + self.delta(h)

    return RefinerNet()


def _augment(
    crops: np.ndarray, prior: np.ndarray, box: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Flips and transposes: birds are seen from above at any heading."""
    crops, prior, box = crops.copy(), prior.copy(), box.copy()
    flip_x = rng.random(len(crops)) < 0.5
    crops[flip_x] = crops[flip_x, :, ::-1]
    for b in (prior, box):
        b[flip_x, :4] = np.stack(
            [1 - b[flip_x, 2], b[flip_x, 1], 1 - b[flip_x, 0], b[flip_x, 3]], 1
        )
    swap = rng.random(len(crops)) < 0.5
    crops[swap] = crops[swap].transpose(0, 2, 1, 3)
    for b in (prior, box):
        b[swap, :4] = b[swap][:, [1, 0, 3, 2]]
    return crops, prior, box


def _chunks(idx: np.ndarray, size: int) -> Iterator[np.ndarray]:
    for k in range(0, len(idx), size):
        yield idx[k : k + size]


def _epoch_index(ex: Examples, rng: np.random.Generator, per_rare: float) -> np.ndarray:
    """Every example of the rarest class, and at most `per_rare` times that of each other."""
    counts = np.bincount(ex.label)
    rare = counts[counts > 0].min()
    picks = []
    for c in np.flatnonzero(counts):
        members = np.flatnonzero(ex.label == c)
        take = min(len(members), int(rare * per_rare))
        picks.append(rng.choice(members, take, replace=False))
    idx = np.concatenate(picks)
    rng.shuffle(idx)
    return idx


def train(
    train_ex: Examples,
    val_ex: Examples,
    n_classes: int,
    *,
    epochs: int = 12,
    batch: int = 256,
    lr: float = 3e-3,
    per_rare: float = 2.5,
    box_weight: float = 8.0,
    seed: int = 0,
    init: Path | None = None,
) -> Any:
    """The refiner network, trained with one-cycle AdamW; reports on `val_ex` each epoch.

    Loss: cross-entropy over background/classes plus smooth-L1 on the boxes of positives.
    """
    import torch
    from torch.nn import functional as F

    from cloud.detect import crop_tensor

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    net = _net(n_classes)
    s = train_ex.crops.shape[1]
    net(torch.zeros(2, 3, s, s), torch.zeros(2, train_ex.prior.shape[1]))  # size the lazy layer
    if init is not None:  # continue an earlier run (a state dict saved by `torch.save`)
        net.load_state_dict(torch.load(init))
    steps = epochs * (len(_epoch_index(train_ex, rng, per_rare)) // batch + 1)
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    for epoch in range(epochs):
        net.train()
        total = 0.0
        idx = _epoch_index(train_ex, rng, per_rare)
        for b in _chunks(idx, batch):
            crops, prior, box = _augment(train_ex.crops[b], train_ex.prior[b], train_ex.box[b], rng)
            x = torch.from_numpy(crop_tensor(crops))
            label = torch.from_numpy(train_ex.label[b])
            logits, pred = net(x, torch.from_numpy(prior))
            loss = F.cross_entropy(logits, label, label_smoothing=0.05)
            pos = label > 0
            if pos.any():
                loss = loss + box_weight * F.smooth_l1_loss(
                    pred[pos], torch.from_numpy(box)[pos], beta=0.02
                )
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(b)
        stats = validate(net, val_ex)
        log.info("epoch %d loss %.4f val %s", epoch + 1, total / len(idx), json.dumps(stats))
    return net


def validate(net: Any, ex: Examples) -> dict[str, float]:
    """Per-class accuracy and the share of positives whose box lands at IoU >= 0.5."""
    import torch

    from cloud.detect import crop_tensor

    net.eval()
    preds, boxes = [], []
    with torch.no_grad():
        for b in _chunks(np.arange(len(ex)), 512):
            logits, box = net(
                torch.from_numpy(crop_tensor(ex.crops[b])), torch.from_numpy(ex.prior[b])
            )
            preds.append(logits.argmax(1).numpy())
            boxes.append(box.numpy())
    pred, box = np.concatenate(preds), np.concatenate(boxes)
    out: dict[str, float] = {}
    for c in np.unique(ex.label):
        sel = ex.label == c
        out[f"acc_{c}"] = round(float((pred[sel] == c).mean()), 4)
    pos = ex.label > 0
    out["box_iou50"] = round(float((_paired_iou(box[pos], ex.box[pos]) >= 0.5).mean()), 4)
    out["prior_iou50"] = round(
        float((_paired_iou(ex.prior[pos, :4], ex.box[pos]) >= 0.5).mean()), 4
    )
    return out


def _paired_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    w = np.clip(np.minimum(a[:, 2], b[:, 2]) - np.maximum(a[:, 0], b[:, 0]), 0, None)
    h = np.clip(np.minimum(a[:, 3], b[:, 3]) - np.maximum(a[:, 1], b[:, 1]), 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return np.asarray(w * h / np.maximum(area_a + area_b - w * h, 1e-9))


def export(net: Any, path: Path, input_size: int, n_prior: int) -> None:
    """ONNX with inputs `crops` (n,3,s,s) and `prior` (n,4+nc); outputs `probs`, `boxes`."""
    import torch

    class WithSoftmax(torch.nn.Module):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, crops: torch.Tensor, prior: torch.Tensor) -> Any:
            logits, boxes = self.inner(crops, prior)
            return torch.softmax(logits, dim=1), boxes

    net.eval()
    torch.onnx.export(
        WithSoftmax(net),
        (torch.zeros(4, 3, input_size, input_size), torch.zeros(4, n_prior)),
        str(path),
        input_names=["crops", "prior"],
        output_names=["probs", "boxes"],
        dynamic_axes={"crops": {0: "n"}, "prior": {0: "n"}, "probs": {0: "n"}, "boxes": {0: "n"}},
        opset_version=17,
        dynamo=False,
    )


CALIBRATION_PRECISION = 0.93  # set on validation a little above the 0.9 target: test sets vary


def build(
    data: Sequence[Path],
    val: Path,
    model_name: str | None,
    name: str,
    spec: RefinerSpec,
    *,
    epochs: int,
    lr: float = 3e-3,
    cache: Path | None = None,
    init: Path | None = None,
) -> dict[str, Any]:
    """Collect, train, export and calibrate; returns the two-stage model's registry entry."""
    import dataclasses

    import torch

    from cloud.detect import REGISTRY, load_entry, sha256_file
    from models.register import derived_entry

    base = load_entry(model_name)
    detector = OnnxDetector(base)

    def examples(folder: Path) -> Examples:
        cached = cache / f"{folder.name}-{spec.input_size}-{spec.expand}.npz" if cache else None
        if cached is not None and cached.exists():
            return Examples.load(cached)
        names = data_names(folder)
        to_model = {i: base.classes.index(n) for i, n in enumerate(names) if n in base.classes}
        ex = collect(folder, detector, spec, data_to_model=to_model)
        if cached is not None:
            cached.parent.mkdir(parents=True, exist_ok=True)
            ex.save(cached)
        return ex

    training = Examples.concat([examples(folder) for folder in data])
    net = train(training, examples(val), len(base.classes), epochs=epochs, lr=lr, init=init)
    target = REGISTRY.parent / "weights" / f"{name}-refiner.onnx"
    export(net, target, spec.input_size, training.prior.shape[1])
    torch.save(net.state_dict(), target.with_suffix(".pt"))  # to continue from (`--init`)

    settings: dict[str, Any] = {
        "file": str(target.relative_to(REGISTRY.parent)),
        "sha256": sha256_file(target),
        "bytes": target.stat().st_size,
        "input_size": spec.input_size,
        "expand": spec.expand,
        "proposal_conf": spec.proposal_conf,
        "classes": ["background", *base.classes],
        "trained_proposal_conf": spec.proposal_conf,
    }
    entry = dataclasses.replace(
        base, name=name, refiner=target, extra={**base.extra, "refiner": settings}
    )
    found = calibrate(OnnxDetector(entry), val, spec.proposal_conf)
    settings.update(
        detector_weight=found.detector_weight,
        proposal_conf=found.proposal_conf,
        trust=found.trust,
        second_look=found.second_look,
    )
    raw = derived_entry(base.name)
    raw.update(
        conf=found.conf,
        card=f"cards/{name}.md",
        refiner=settings,
        source=f"{base.name} proposing at {found.proposal_conf}, refined by a crop network "
        f"({spec.input_size} px windows; last run {epochs} epochs at lr {lr} on "
        f"{', '.join(d.name for d in data)})",
    )
    return raw


FUSION_WEIGHTS = (0.0, 0.25, 0.5, 0.75)
PROPOSAL_CONFS = (0.02, 0.03, 0.05, 0.08)
TRUST_SCORES = (0.9, 0.8, 0.7, 0.6)  # tried in this order: each trusts more proposals
# A higher proposal score, or trusting the detector lower, means fewer crops to look at again
# (the refiner's cost grows with them); taken only while every class keeps its validation
# AP50 within this much of the refiner looking at everything it was trained on.
PROPOSAL_AP_TOLERANCE = 0.005
SECOND_LOOK_BANDS = ((0.4, 0.95), (0.3, 0.97), (0.2, 0.98))  # narrow to wide: more crops
SECOND_LOOK_GAIN = 0.005  # AP50 a class must gain for each wider band's extra crops


@dataclass(frozen=True)
class Calibration:
    detector_weight: dict[str, float]
    conf: dict[str, float]
    proposal_conf: float
    trust: dict[str, float]  # only the classes whose confident proposals need no crop
    second_look: dict[str, tuple[float, float]]  # only the classes whose doubtful crops gain


def calibrate(two_stage: OnnxDetector, val: Path, trained_at: float) -> Calibration:
    """On validation, per class: the detector's weight in the score (best AP50); then the
    highest proposal score, and per class the lowest score the detector is trusted at
    without a crop, that cost no class more than PROPOSAL_AP_TOLERANCE of AP50 in all; then
    per class the band of doubt whose second look gains that class SECOND_LOOK_GAIN (each
    wider band as much again); then the lowest threshold keeping precision >=
    CALIBRATION_PRECISION.

    Proposal scores below `trained_at` (what the refiner learnt from) are never tried.
    Proposals are collected once at the lowest score: those over a higher one are exactly
    what the detector proposes there (greedy NMS never lets a lower box remove a higher one).
    """
    import cv2

    from cloud.detect import (
        NEVER_TRUSTED,
        NO_SECOND_LOOK,
        doubtful,
        finish,
        from_window,
        fuse,
        mirror,
        second_look,
        trusted,
    )
    from models.evaluate import SCORE_FLOOR, evaluate

    refiner = two_stage.refiner
    assert refiner is not None
    classes = list(two_stage.classes)
    seen = []  # per image: frame size, proposals, refiner output, truth
    for f in image_files(val):
        frame = cv2.imread(str(f), cv2.IMREAD_COLOR)
        if frame is None:
            continue
        [props] = two_stage.detect([frame], conf=trained_at, refine=False)
        refined = None
        if len(props):
            win, crops, hints = refiner.inputs(frame, props)
            probs, rel = refiner.raw(crops, hints)
            refined = (probs, rel, *refiner.raw(*mirror(crops, hints)), hints[:, 4:], win)
        truth = read_labels(label_path(f, val), frame.shape[1], frame.shape[0])
        seen.append((frame.shape[1], frame.shape[0], props, refined, *truth))

    floor = np.full(len(classes), SCORE_FLOOR, np.float32)

    never = (NEVER_TRUSTED,) * len(classes)
    once = (NO_SECOND_LOOK,) * len(classes)

    def score(
        weight: tuple[float, ...],
        proposal_conf: float,
        trust: tuple[float, ...] = never,
        bands: tuple[tuple[float, float], ...] = once,
    ) -> dict[str, Any]:
        pairs = []
        for w, h, props, refined, gt_cls, gt in seen:
            if refined is not None:
                assert props.class_scores is not None
                keep = props.class_scores.max(axis=1) > proposal_conf
                probs, rel, m_probs, m_rel, detector_scores, win = (r[keep] for r in refined)
                again = doubtful(probs, bands)  # as Refiner.look
                probs, rel = second_look((probs, rel), again, (m_probs[again], m_rel[again]))
                boxes = from_window(rel, win)
                scores = fuse(probs, detector_scores, weight)
                sure = trusted(detector_scores, trust)  # as Refiner.refine: no crop, own box
                scores[sure] = detector_scores[sure]
                boxes[sure] = props.boxes[keep][sure]
                props = finish(scores, boxes, floor, two_stage.entry.iou, w, h)
            pairs.append((props, gt_cls, gt))
        return evaluate(
            pairs,
            data_names(val),
            classes,
            two_stage.entry.conf,
            suggest_precision=CALIBRATION_PRECISION,
        )

    ap = {w: score((w,) * len(classes), trained_at)["classes"] for w in FUSION_WEIGHTS}
    best = tuple(max(FUSION_WEIGHTS, key=lambda w: ap[w][c]["map50"]) for c in classes)
    result, proposal_conf, trust = score(best, trained_at), trained_at, never
    base = result["classes"]

    def affordable(trial: dict[str, Any]) -> bool:
        lost = max(base[c]["map50"] - trial["classes"][c]["map50"] for c in classes)
        return bool(lost <= PROPOSAL_AP_TOLERANCE)

    for candidate in (c for c in PROPOSAL_CONFS if c > trained_at):
        trial = score(best, candidate)
        if not affordable(trial):
            break
        result, proposal_conf = trial, candidate
    def n_trusted(trust: tuple[float, ...]) -> int:
        return sum(
            int(trusted(p.class_scores[p.class_scores.max(axis=1) > proposal_conf], trust).sum())
            for _, _, p, r, _, _ in seen
            if r is not None and p.class_scores is not None
        )

    for k in range(len(classes)):
        for level in TRUST_SCORES:
            more = trust[:k] + (level,) + trust[k + 1 :]
            if n_trusted(more) == n_trusted(trust):
                continue  # no proposal on validation says whether trusting these is safe
            trial = score(best, proposal_conf, more)
            if not affordable(trial):
                break
            result, trust = trial, more
    bands = once
    for k, c in enumerate(classes):
        for band in SECOND_LOOK_BANDS:
            more_bands = bands[:k] + (band,) + bands[k + 1 :]
            trial = score(best, proposal_conf, trust, more_bands)
            now, then = result["classes"], trial["classes"]
            gain = then[c]["map50"] - now[c]["map50"]
            if gain >= SECOND_LOOK_GAIN and all(
                now[o]["map50"] - then[o]["map50"] <= PROPOSAL_AP_TOLERANCE for o in classes
            ):
                result, bands = trial, more_bands
    log.info(
        "validation at detector weights %s, proposals over %s, trusted at %s, second look %s: %s",
        best,
        proposal_conf,
        trust,
        bands,
        json.dumps(result),
    )
    key = f"conf_for_p{round(100 * CALIBRATION_PRECISION)}"
    chosen: dict[str, dict[str, Any]] = result["classes"]
    conf = {c: chosen[c][key]["conf"] if key in chosen[c] else 0.5 for c in classes}
    return Calibration(
        dict(zip(classes, best, strict=True)),
        conf,
        proposal_conf,
        {c: t for c, t in zip(classes, trust, strict=True) if t < NEVER_TRUSTED},
        {c: b for c, b in zip(classes, bands, strict=True) if b != NO_SECOND_LOOK},
    )


def recalibrate(name: str, val: Path) -> dict[str, Any]:
    """Model `name`'s registry entry calibrated anew on `val` (same files; its measured
    figures dropped, as they were taken at the old settings)."""
    from datetime import date

    from cloud.detect import load_entry
    from models.register import derived_entry

    raw = derived_entry(name)
    if "refiner" not in raw:
        raise ValueError(f"{name} has no refiner to calibrate")
    settings = raw["refiner"]
    trained_at = float(settings.get("trained_proposal_conf", settings["proposal_conf"]))
    found = calibrate(OnnxDetector(load_entry(name)), val, trained_at)
    raw["conf"] = found.conf
    raw["refiner"] = {
        **settings,
        "detector_weight": found.detector_weight,
        "proposal_conf": found.proposal_conf,
        "trust": found.trust,
        "second_look": found.second_look,
    }
    raw["calibrated"] = {"data": str(val), "date": date.today().isoformat()}
    return raw
