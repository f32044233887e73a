"""Copy-paste augmentation from a farm's own labelled frames (no torch: CI tests it).

With a handful of labelled frames the detector sees each bird a few times; pasting the farm's
own birds and carcasses onto its own frames at new places and scales multiplies the examples
while keeping the camera's background, light and lens. A box has no outline, so each crop is
blended with a feathered ellipse: the bird's middle is pasted whole and the corners of the box
(mostly floor) fade into the new background.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from cloud.detect import iou_one_to_many
from models.evaluate import DataSetError, image_files, label_path, names_for, read_labels
from models.yolo_folder import CLASSES


@dataclass
class Labelled:
    name: str
    image: np.ndarray
    classes: np.ndarray  # indices into CLASSES
    boxes: np.ndarray  # xyxy pixels


@dataclass(frozen=True)
class Cutout:
    cls: int
    pixels: np.ndarray  # the box's pixels
    grey: bool = False  # cut from an IR night frame: it has no colour to paste onto a day frame


GREY_SPREAD = 1.5  # mean |channel - channel mean| under which a frame is IR night (grey):
# an IR camera sends grey (0 on the henhouse night frames, 3-10 on its dull day frames)


def is_grey(image: np.ndarray) -> bool:
    """An IR night frame: its three channels are (nearly) the same."""
    pixels = image[::4, ::4].astype(np.float32)
    return float(np.abs(pixels - pixels.mean(axis=2, keepdims=True)).mean()) < GREY_SPREAD


def load_farm(data_dir: Path, classes: Sequence[str] = CLASSES) -> tuple[list[Labelled], dict[str, int]]:
    """A YOLO folder's frames with their boxes mapped onto `classes` by name; also how many
    boxes of other classes were left out, by name."""
    names = names_for(data_dir, classes)
    mapping = {i: classes.index(n) for i, n in enumerate(names) if n in classes}
    frames, left_out = [], dict[str, int]()
    for path in image_files(data_dir):
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise DataSetError(f"cannot read image {path}")
        h, w = image.shape[:2]
        cls, boxes = read_labels(label_path(path, data_dir), w, h)
        keep = np.array([int(c) in mapping for c in cls], bool)
        for c in cls[~keep]:
            name = names[int(c)] if 0 <= int(c) < len(names) else str(int(c))
            left_out[name] = left_out.get(name, 0) + 1
        ours = np.array([mapping[int(c)] for c in cls[keep]], np.int64)
        frames.append(Labelled(path.stem, image, ours, boxes[keep]))
    return frames, left_out


# A phone's 12-MP photo held through copy-paste is ~36 MB a frame (GBs for a training set);
# no input size `models adapt` takes is larger, so a 1080p camera's size loses nothing.
MAX_SIDE = 1920


def at_most(frame: Labelled, side: int = MAX_SIDE) -> Labelled:
    """The frame shrunk (boxes with it) so its long side is at most `side`."""
    h, w = frame.image.shape[:2]
    k = side / max(h, w)
    if k >= 1:
        return frame
    image = cv2.resize(frame.image, (round(w * k), round(h * k)), interpolation=cv2.INTER_AREA)
    return Labelled(frame.name, image, frame.classes, frame.boxes * k)


def cutouts(frames: Sequence[Labelled], min_side: int = 8) -> list[Cutout]:
    out = []
    for f in frames:
        h, w = f.image.shape[:2]
        grey = is_grey(f.image)
        for c, (x1, y1, x2, y2) in zip(f.classes.tolist(), f.boxes.tolist(), strict=True):
            a, b = int(max(0, x1)), int(max(0, y1))
            e, d = int(min(w, x2)), int(min(h, y2))
            if e - a >= min_side and d - b >= min_side:
                out.append(Cutout(int(c), f.image[b:d, a:e].copy(), grey))
    return out


def feathered_ellipse(h: int, w: int) -> np.ndarray:
    """Alpha 1 inside an ellipse filling 90 % of the box, fading to 0 at its edge."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r = np.sqrt(((xx + 0.5 - w / 2) / (w / 2)) ** 2 + ((yy + 0.5 - h / 2) / (h / 2)) ** 2)
    return np.asarray(np.clip((1.0 - r) / 0.15 + 0.35, 0.0, 1.0), np.float32)


def paste(image: np.ndarray, classes: np.ndarray, boxes: np.ndarray, pool: Sequence[Cutout],
          rng: np.random.Generator, count: int, scale: tuple[float, float] = (0.6, 1.4),
          max_overlap: float = 0.15, tries: int = 20) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`image` with up to `count` cutouts pasted where they cover no labelled box by more than
    `max_overlap` IoU, each flipped at random, rescaled and shaded a little; their boxes added.
    Each paste draws its class first, all classes alike, then a cutout of it: a farm's few
    carcasses are what the model most needs to see again, and they are rare among its boxes.
    On an IR night frame a day bird is pasted in grey, as the IR camera would see it; a grey
    night bird is never pasted onto a day frame."""
    out = image.copy()
    h, w = out.shape[:2]
    night = is_grey(image)
    if not night:
        pool = [c for c in pool if not c.grey]
    by_class: dict[int, list[Cutout]] = {}
    for c in pool:
        by_class.setdefault(c.cls, []).append(c)
    kinds = sorted(by_class)
    boxes = boxes.reshape(-1, 4).astype(np.float64)
    classes = classes.astype(np.int64)
    for _ in range(count):
        if not kinds:
            break
        same = by_class[kinds[int(rng.integers(len(kinds)))]]
        cut = same[int(rng.integers(len(same)))]
        s = float(rng.uniform(*scale))
        ch, cw = cut.pixels.shape[:2]
        nh, nw = max(4, int(round(ch * s))), max(4, int(round(cw * s)))
        if nh >= h or nw >= w:
            continue
        for _ in range(tries):
            x, y = int(rng.integers(0, w - nw + 1)), int(rng.integers(0, h - nh + 1))
            box = np.array([x, y, x + nw, y + nh], np.float64)
            if len(boxes) == 0 or iou_one_to_many(box, boxes).max() <= max_overlap:
                break
        else:
            continue
        pixels = cv2.resize(cut.pixels, (nw, nh), interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
        if rng.random() < 0.5:
            pixels = pixels[:, ::-1]
        if night and not cut.grey:
            pixels = cv2.cvtColor(cv2.cvtColor(np.ascontiguousarray(pixels), cv2.COLOR_BGR2GRAY),
                                  cv2.COLOR_GRAY2BGR)
        gain = float(rng.uniform(0.8, 1.2))
        alpha = feathered_ellipse(nh, nw)[..., None]
        region = out[y:y + nh, x:x + nw].astype(np.float32)
        blended = alpha * np.clip(pixels.astype(np.float32) * gain, 0, 255) + (1 - alpha) * region
        out[y:y + nh, x:x + nw] = blended.astype(np.uint8)
        boxes = np.vstack([boxes, box])
        classes = np.append(classes, cut.cls)
    return out, classes, boxes


def synthesise(frames: Sequence[Labelled], count: int, seed: int,
               per_image: tuple[int, int] = (1, 4)) -> list[Labelled]:
    """`count` new frames: each one of the farm's frames with its own labels plus pasted birds."""
    if not frames:
        return []
    pool = cutouts(frames)
    rng = np.random.default_rng(seed)
    out = []
    for i in range(count):
        base = frames[i % len(frames)]
        n = int(rng.integers(per_image[0], per_image[1] + 1))
        image, cls, boxes = paste(base.image, base.classes, base.boxes, pool, rng, n)
        out.append(Labelled(f"{base.name}-cp{i:04d}", image, cls, boxes))
    return out


MIN_KEPT = 0.5  # a box cut by a crop's edge stays labelled while this share of it is inside


def native_crops(frames: Sequence[Labelled], imgsz: int, side: int, seed: int,
                 per_frame: int = 2) -> list[Labelled]:
    """Each frame scaled as the served model sees it (long side `imgsz`), cut into `per_frame`
    crops of `side` x `side`: training at `side` then costs a quarter of training at 1280 while
    the birds keep the pixels they have when served. The first crop of a frame is centred near
    one of its carcasses when it has any (the rare class gets the compute), the others near a
    random box."""
    dead = CLASSES.index("dead")
    rng = np.random.default_rng(seed)
    out = []
    for f in frames:
        h, w = f.image.shape[:2]
        k = imgsz / max(h, w)
        image = cv2.resize(f.image, (round(w * k), round(h * k)),
                           interpolation=cv2.INTER_AREA if k < 1 else cv2.INTER_LINEAR)
        boxes = f.boxes.reshape(-1, 4) * k
        height, width = image.shape[:2]
        carcasses = np.flatnonzero(f.classes == dead)
        for j in range(per_frame):
            pick = carcasses if j == 0 and len(carcasses) else np.arange(len(boxes))
            if len(pick):
                x1, y1, x2, y2 = boxes[int(rng.choice(pick))]
                cx, cy = (x1 + x2) / 2 + rng.uniform(-side / 4, side / 4), (y1 + y2) / 2 + rng.uniform(-side / 4, side / 4)
            else:
                cx, cy = rng.uniform(0, width), rng.uniform(0, height)
            x0 = int(np.clip(cx - side / 2, 0, max(0, width - side)))
            y0 = int(np.clip(cy - side / 2, 0, max(0, height - side)))
            crop = image[y0:y0 + side, x0:x0 + side]
            moved = boxes - [x0, y0, x0, y0]
            inside = np.clip(moved, 0, [crop.shape[1], crop.shape[0]] * 2)
            area = (moved[:, 2] - moved[:, 0]) * (moved[:, 3] - moved[:, 1])
            kept = (inside[:, 2] - inside[:, 0]) * (inside[:, 3] - inside[:, 1]) >= MIN_KEPT * area
            out.append(Labelled(f"{f.name}-c{j}", np.ascontiguousarray(crop), f.classes[kept], inside[kept]))
    return out
