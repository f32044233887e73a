"""Evaluate a detector on a YOLO-format folder: per-class precision, recall, AP50 and mAP50.

Classes are matched by name between the data and the model (a `dead` in the data is scored
against the model's `dead`); the names real sets give our two classes (`Hen`, `dead_chicken`)
are read as ours (`our_class`), so an export from a labelling tool can be used as it comes. AP uses the
101-point interpolated precision envelope over all detections above a floor score (as COCO
and ultralytics do); precision and recall are taken at the model's default thresholds.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from cloud.detect import Detections, best_overlap, iou_matrix

log = logging.getLogger(__name__)
IMAGE_EXT = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
IOU = 0.5
SCORE_FLOOR = 0.001
SUGGEST_PRECISION = 0.9  # thresholds are suggested for this precision (issue 6 target)


@dataclass
class ClassTally:
    scores: list[float] = field(default_factory=list)
    tp: list[bool] = field(default_factory=list)
    instances: int = 0
    misses: Counter[str] = field(default_factory=Counter)
    false_positives: Counter[str] = field(default_factory=Counter)


class DataSetError(ValueError):
    """A YOLO folder that cannot be read: a clear sentence naming the folder or file."""


# What real sets call our two classes (labelling-tool exports, published sets), after
# `_normalised`: lower case, runs of `-`, `_` and spaces as one space.
_BIRDS = ("chicken", "chickens", "hen", "hens", "rooster", "roosters", "broiler", "broilers",
          "layer", "layers", "pullet", "pullets", "chick", "chicks", "bird", "birds", "poultry", "fowl")
_ALIVE = ("live", "alive", "healthy", "sick", "unhealthy")  # a sick bird is still a bird in view
_DEAD = ("dead", "carcass", "carcasses", "mortality", "deceased")
_OURS = {
    **{n: "chicken" for n in (*_BIRDS, *_ALIVE, *(f"{a} {b}" for a in _ALIVE for b in _BIRDS),
                              *(f"{b} {a}" for a in _ALIVE for b in _BIRDS))},
    **{n: "dead" for n in (*_DEAD, *(f"{d} {b}" for d in _DEAD for b in _BIRDS),
                           *(f"{b} {d}" for d in _DEAD for b in _BIRDS))},
}


def _normalised(name: str) -> str:
    return re.sub(r"[\s_-]+", " ", name).strip().lower()


def our_class(name: str) -> str | None:
    """`chicken` or `dead` where a data set's class name means it, else None (`egg`, `feeder`)."""
    return _OURS.get(_normalised(name))


# Where labelling tools' YOLO exports name their classes: ultralytics and Roboflow a data.yaml,
# Label Studio a classes.txt, CVAT an obj.names (one name a line, by class id).
NAMES_FILES = ("data.yaml", "classes.txt", "obj.names")


def names_file(data_dir: Path) -> Path:
    """The file naming the folder's classes, in it or in its parent: an export keeps one beside
    its train/, valid/ and test/ folders."""
    for folder in (data_dir, data_dir.parent):
        for name in NAMES_FILES:
            if (folder / name).is_file():
                return folder / name
    raise DataSetError(f"{data_dir} has no {', '.join(NAMES_FILES[:-1])} or {NAMES_FILES[-1]} naming its "
                       "classes (nor has its parent)")


def raw_names(data_dir: Path) -> list[str]:
    """The class names as the folder's names file gives them, by class id."""
    path = names_file(data_dir)
    if path.suffix != ".yaml":  # a class id is its line's number: only trailing blank lines go
        return [line.strip() for line in path.read_text().rstrip().splitlines()]
    try:
        doc = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise DataSetError(f"{path} is not YAML: {exc}") from None
    names = doc.get("names") if isinstance(doc, dict) else None
    if isinstance(names, dict):
        try:
            return [str(names[k]) for k in sorted(names, key=int)]
        except (TypeError, ValueError):
            raise DataSetError(f"{path}: `names` must map class ids to names") from None
    if isinstance(names, list):
        return [str(n) for n in names]
    raise DataSetError(f"{path} has no `names` list of its classes")


def data_names(data_dir: Path) -> list[str]:
    """The class names by class id, each read as ours where it means one of them."""
    return [our_class(n) or n for n in raw_names(data_dir)]


def names_for(data_dir: Path, classes: Sequence[str]) -> list[str]:
    """`data_names`, refused where none of them is one of `classes`: such a set would be scored
    (or trained on) as frames without a bird."""
    names = data_names(data_dir)
    if not set(names) & set(classes):
        raise DataSetError(f"{names_file(data_dir)} names {', '.join(raw_names(data_dir))}; "
                           f"none is one of {', '.join(classes)}")
    return names


def read_as(data_dir: Path) -> dict[str, str | None]:
    """Each class name of the folder and what it is read as (None: not one of ours)."""
    return {n: our_class(n) for n in raw_names(data_dir)}


def image_files(data_dir: Path) -> list[Path]:
    """Images under `images/`, or, where there is none (CVAT's export), beside their labels."""
    root = data_dir / "images" if (data_dir / "images").is_dir() else data_dir
    return sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_EXT)


def read_labels(label_file: Path, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """YOLO txt -> (classes, xyxy boxes in pixels); a missing file means no objects."""
    if not label_file.exists():
        return np.zeros(0, np.int64), np.zeros((0, 4), np.float64)
    rows = [(n, r.split()) for n, r in enumerate(label_file.read_text().splitlines(), 1) if r.strip()]
    if not rows:
        return np.zeros(0, np.int64), np.zeros((0, 4), np.float64)
    classes, boxes = [], []
    for n, row in rows:
        try:
            cls, values = int(float(row[0])), [float(v) for v in row[1:]]
        except ValueError:
            raise DataSetError(f"{label_file} line {n}: not numbers") from None
        classes.append(cls)
        boxes.append(_box(values, label_file, n))
    arr = np.array(boxes, np.float64) * [width, height, width, height]
    return np.array(classes, np.int64), arr


FRACTION_SLACK = 0.05  # exporters round a box on the image's edge a little past it


def _box(values: list[float], label_file: Path, line: int) -> list[float]:
    """Normalised xyxy from a YOLO row's numbers: `cx cy w h` (a 5th, a score, ignored), or a
    polygon's `x y` pairs (segmentation and oriented-box exports): the box around it."""
    coords = values[:4] if len(values) in (4, 5) else values
    if coords and not all(-FRACTION_SLACK <= v <= 1 + FRACTION_SLACK for v in coords):
        raise DataSetError(f"{label_file} line {line}: {max(coords, key=abs):g} is not a fraction of the "
                           "image; YOLO labels give positions and sizes as 0-1 of its width and height")
    if len(values) in (4, 5):
        cx, cy, w, h = values[:4]
        return [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]
    if len(values) >= 6 and len(values) % 2 == 0:
        xs, ys = values[0::2], values[1::2]
        return [min(xs), min(ys), max(xs), max(ys)]
    raise DataSetError(f"{label_file} line {line}: {len(values)} numbers after the class; "
                       "expected `cx cy w h` or a polygon's x y pairs")


def labelled_images(data_dir: Path) -> list[Path]:
    """`image_files`, refused where there is none or no image has a label file: a folder of
    another layout would otherwise be scored as frames without a bird."""
    images = image_files(data_dir)
    if not images:
        raise DataSetError(f"no images under {data_dir}/images (nor beside their labels in {data_dir})")
    if not any(label_path(p, data_dir).is_file() for p in images):
        where = f"{data_dir}/labels" if (data_dir / "images").is_dir() else "beside the images"
        raise DataSetError(f"none of the {len(images)} images under {data_dir} has a label file ({where})")
    return images


def label_path(image: Path, data_dir: Path) -> Path:
    """`labels/` mirrors `images/`; without `images/` a label lies beside its image."""
    if not (data_dir / "images").is_dir():
        return image.with_suffix(".txt")
    rel = image.relative_to(data_dir / "images")
    return (data_dir / "labels" / rel).with_suffix(".txt")


def match(
    det: Detections, gt_cls: np.ndarray, gt_boxes: np.ndarray, iou: float = IOU
) -> np.ndarray:
    """True positives: highest score first, each takes the best unclaimed truth of its class."""
    return _greedy_match(det, gt_cls, gt_boxes, iou)[0]


def _greedy_match(
    det: Detections, gt_cls: np.ndarray, gt_boxes: np.ndarray, iou: float
) -> tuple[np.ndarray, np.ndarray]:
    """(true positive per detection, claimed per truth)."""
    tp = np.zeros(len(det), bool)
    claimed = np.zeros(len(gt_cls), bool)
    for i in np.argsort(-det.scores, kind="stable"):
        same = np.flatnonzero((gt_cls == det.classes[i]) & ~claimed)
        j = best_overlap(det.boxes[i], gt_boxes[same], iou)
        if j is not None:
            tp[i] = True
            claimed[same[j]] = True
    return tp, claimed


def average_precision(scores: np.ndarray, tp: np.ndarray, instances: int) -> float:
    if instances == 0:
        return float("nan")
    if scores.size == 0:
        return 0.0
    order = np.argsort(-scores, kind="stable")
    hits = tp[order].astype(np.float64)
    ctp = np.cumsum(hits)
    recall = ctp / instances
    precision = ctp / np.arange(1, hits.size + 1)
    mrec = np.concatenate([[0.0], recall, [1.0]])
    mpre = np.concatenate([[1.0], precision, [0.0]])
    mpre = np.flip(np.maximum.accumulate(np.flip(mpre)))
    x = np.linspace(0, 1, 101)
    return float(np.trapezoid(np.interp(x, mrec, mpre), x))


def conf_for_precision(
    scores: np.ndarray, tp: np.ndarray, instances: int, min_precision: float
) -> tuple[float, float, float] | None:
    """Lowest score threshold whose precision is still >= min_precision: (conf, P, R).

    Lowest threshold means highest recall; for a dead bird, a miss costs more than a look.
    """
    if scores.size == 0 or instances == 0:
        return None
    order = np.argsort(-scores, kind="stable")
    ctp = np.cumsum(tp[order])
    precision = ctp / np.arange(1, order.size + 1)
    ok = np.flatnonzero(precision >= min_precision)
    if ok.size == 0:
        return None
    k = int(ok[-1])
    return float(scores[order][k]), float(precision[k]), float(ctp[k] / instances)


def _threshold(thresholds: dict[str, float], name: str) -> float:
    """A class's default threshold: its own, else the `default` entry, else 0.25."""
    return thresholds.get(name, thresholds.get("default", 0.25))


# Bands of the share of a bird showing (the renderer labels birds from 30 % up).
VISIBILITY_BANDS = (0.3, 0.5, 0.7, 0.9)


def evaluate(
    pairs: Iterable[
        tuple[Detections, np.ndarray, np.ndarray]
        | tuple[Detections, np.ndarray, np.ndarray, np.ndarray | None]
    ],
    data_names_: list[str],
    model_names: list[str],
    thresholds: dict[str, float],
    suggest_precision: float = SUGGEST_PRECISION,
) -> dict[str, object]:
    """Score (detections in model class ids, truth classes in data ids, truth boxes) per image.

    Each class also gets `conf_for_pNN`: the lowest threshold keeping precision >= NN %.
    Where the truth carries visibility (a 4th item: share of each bird showing), the result
    has `recall_by_visibility`: per class and band, recall at the default thresholds.
    Each class's `errors` count its misses and its wrong confident boxes by cause
    (MISS_CAUSES, FALSE_POSITIVE_CAUSES).
    """
    to_model = {i: model_names.index(n) for i, n in enumerate(data_names_) if n in model_names}
    tallies = {n: ClassTally() for n in data_names_ if n in model_names}
    default = np.array([_threshold(thresholds, n) for n in model_names], np.float32)
    by_band: dict[str, np.ndarray] = {}  # class -> (bands, 2): instances, found
    for det, gt_cls_data, gt_boxes, *extra in pairs:
        known = np.array([c in to_model for c in gt_cls_data], bool)
        gt_cls = np.array([to_model[c] for c in gt_cls_data[known]], np.int64)
        tp = match(det, gt_cls, gt_boxes[known])
        sure = det.scores >= default[det.classes]
        confident = det.select(sure)
        confident_tp, found = _greedy_match(confident, gt_cls, gt_boxes[known], IOU)
        unsure = det.select(~sure)
        _diagnose(
            unsure, confident, confident_tp, found, gt_cls, gt_boxes[known], tallies, model_names
        )
        visible = extra[0] if extra else None
        if visible is not None:
            band = np.digitize(visible[known], VISIBILITY_BANDS[1:])
            for name in tallies:
                sel = gt_cls == model_names.index(name)
                counts = by_band.setdefault(name, np.zeros((len(VISIBILITY_BANDS), 2), np.int64))
                np.add.at(counts, (band[sel], 0), 1)
                np.add.at(counts, (band[sel & found], 1), 1)
        for name, t in tallies.items():
            m = model_names.index(name)
            sel = det.classes == m
            t.scores.extend(det.scores[sel].tolist())
            t.tp.extend(tp[sel].tolist())
            t.instances += int((gt_cls == m).sum())
    classes: dict[str, dict[str, Any]] = {}
    for name, t in tallies.items():
        s, tp_arr = np.asarray(t.scores), np.asarray(t.tp, bool)
        at = s >= _threshold(thresholds, name)
        n_pred, n_tp = int(at.sum()), int(tp_arr[at].sum())
        classes[name] = {
            "precision": n_tp / n_pred if n_pred else 0.0,
            "recall": n_tp / t.instances if t.instances else 0.0,
            "map50": average_precision(s, tp_arr, t.instances),
            "instances": t.instances,
            "conf_threshold": _threshold(thresholds, name),
            "errors": {
                "misses": {k: t.misses[k] for k in MISS_CAUSES},
                "false_positives": {k: t.false_positives[k] for k in FALSE_POSITIVE_CAUSES},
            },
        }
        best = conf_for_precision(s, tp_arr, t.instances, suggest_precision)
        if best is not None:
            classes[name][f"conf_for_p{round(100 * suggest_precision)}"] = {
                "conf": round(best[0], 4),
                "precision": best[1],
                "recall": best[2],
            }
    aps = [c["map50"] for c in classes.values() if c["instances"]]
    result: dict[str, object] = {
        "map50": float(np.mean(aps)) if aps else 0.0,
        "iou": IOU,
        "classes": classes,
    }
    if by_band:
        result["recall_by_visibility"] = {name: _bands(c) for name, c in by_band.items()}
    return result


# Why a truth was missed, and why a confident box was wrong, at the default thresholds (the
# taxonomy of Hoiem et al., "Diagnosing error in object detectors", ECCV 2012), checked in order:
# low_score: a box of its class covers it (IoU >= 0.5) but scores under the threshold;
# other_class: a confident box of another class covers it; mislocated: a confident box of its
# class overlaps it (IoU >= 0.1) but not enough; not_found: nothing.
MISS_CAUSES = ("low_score", "other_class", "mislocated", "not_found")
# other_class: it covers a truth of another class; duplicate: a truth of its class already
# claimed by a higher box; mislocated: it overlaps a truth of its class too little; background.
FALSE_POSITIVE_CAUSES = ("other_class", "duplicate", "mislocated", "background")
OVERLAP = 0.1


def _diagnose(
    unsure: Detections,
    confident: Detections,
    confident_tp: np.ndarray,
    found: np.ndarray,
    gt_cls: np.ndarray,
    gt_boxes: np.ndarray,
    tallies: dict[str, ClassTally],
    model_names: list[str],
) -> None:
    """Count each missed truth and each wrong confident box of one image by its cause."""
    unsure_iou = iou_matrix(gt_boxes, unsure.boxes)  # (truths, boxes)
    conf_iou = iou_matrix(gt_boxes, confident.boxes)
    for j in np.flatnonzero(~found):
        c = gt_cls[j]
        mine, others = confident.classes == c, confident.classes != c
        if (unsure_iou[j, unsure.classes == c] >= IOU).any():
            cause = "low_score"
        elif (conf_iou[j, others] >= IOU).any():
            cause = "other_class"
        elif (conf_iou[j, mine] >= OVERLAP).any():
            cause = "mislocated"
        else:
            cause = "not_found"
        tallies[model_names[c]].misses[cause] += 1
    for i in np.flatnonzero(~confident_tp):
        c = confident.classes[i]
        name = model_names[c]
        if name not in tallies:
            continue
        same = gt_cls == c
        if (conf_iou[~same, i] >= IOU).any():
            cause = "other_class"
        elif (conf_iou[same, i] >= IOU).any():
            cause = "duplicate"
        elif (conf_iou[same, i] >= OVERLAP).any():
            cause = "mislocated"
        else:
            cause = "background"
        tallies[name].false_positives[cause] += 1


def _bands(counts: np.ndarray) -> dict[str, dict[str, float]]:
    edges = [*VISIBILITY_BANDS, 1.0]
    return {
        f"{lo:g}-{hi:g}": {"instances": int(n), "recall": round(float(f / n), 4) if n else 0.0}
        for lo, hi, (n, f) in zip(edges[:-1], edges[1:], counts, strict=True)
    }


def read_visibility(image: Path, data_dir: Path, n_labels: int) -> np.ndarray | None:
    """The share showing of each label of `image` (`visibility/`, written by the renderer);
    None where the folder has none or it does not match the labels line for line."""
    if not (data_dir / "visibility").is_dir():
        return None
    rel = image.relative_to(data_dir / "images")
    path = (data_dir / "visibility" / rel).with_suffix(".txt")
    if not path.exists():
        return None
    try:
        values = np.array([float(v) for v in path.read_text().split()], np.float64)
    except ValueError:
        values = np.zeros(0)
    if len(values) != n_labels:
        log.warning("%s: not one share per label line (%d labels); ignored", path, n_labels)
        return None
    return values


def run_dataset(
    data_dir: Path,
    detect: Callable[[list[np.ndarray]], list[Detections]],
    batch: int = 8,
) -> Iterable[tuple[Detections, np.ndarray, np.ndarray, np.ndarray | None]]:
    """Detections, truth and (where known) its visibility for every image of `data_dir`,
    read in batches (BGR)."""
    import cv2

    files = labelled_images(data_dir)
    for k in range(0, len(files), batch):
        chunk = files[k : k + batch]
        imgs = [cv2.imread(str(f), cv2.IMREAD_COLOR) for f in chunk]
        ok = [(f, im) for f, im in zip(chunk, imgs, strict=True) if im is not None]
        dets = detect([im for _, im in ok])
        for (f, im), det in zip(ok, dets, strict=True):
            cls, boxes = read_labels(label_path(f, data_dir), im.shape[1], im.shape[0])
            yield det, cls, boxes, read_visibility(f, data_dir, len(cls))


# Issue 6's accuracy bar on a held-out set: both classes AP50 >= 0.9, and at the model's
# default thresholds `dead` recall >= 0.95 with precision >= 0.9.
TARGET_MAP50 = 0.9
TARGET_DEAD_RECALL = 0.95
TARGET_DEAD_PRECISION = 0.9


def meets_targets(result: dict[str, Any]) -> bool:
    classes = result["classes"]
    if any(name not in classes for name in ("chicken", "dead")):
        return False
    dead = classes["dead"]
    return (
        all(classes[name]["map50"] >= TARGET_MAP50 for name in ("chicken", "dead"))
        and dead["recall"] >= TARGET_DEAD_RECALL
        and dead["precision"] >= TARGET_DEAD_PRECISION
    )
