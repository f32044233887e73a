"""Writing a YOLO folder in our layout: `images/`, `labels/` (one `class cx cy w h` line per box,
normalised) and `data.yaml` naming the classes (the renderer's writer: one layout everywhere).
`models.evaluate` reads it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import cv2
import numpy as np

from firmware_sim.camera.dataset import write_data_yaml as _write_data_yaml
from firmware_sim.camera.render import CLASSES as CLASSES


def write_data_yaml(out: Path, names: Sequence[str] = CLASSES) -> None:
    out.mkdir(parents=True, exist_ok=True)
    _write_data_yaml(out, names)


def class_counts(classes: Iterable[np.ndarray]) -> dict[str, int]:
    """Boxes per class name, every class named (0 where none), from each frame's class ids."""
    counts = Counter(CLASSES[c] for frame in classes for c in frame.tolist())
    return {name: counts[name] for name in CLASSES}


def label_lines(classes: np.ndarray, boxes: np.ndarray, width: int, height: int) -> list[str]:
    """xyxy pixel boxes -> YOLO lines, clipped to the image; empty boxes are left out."""
    out = []
    for c, (x1, y1, x2, y2) in zip(classes.tolist(), boxes.tolist(), strict=True):
        x1, x2 = max(0.0, min(x1, width)), max(0.0, min(x2, width))
        y1, y2 = max(0.0, min(y1, height)), max(0.0, min(y2, height))
        if x2 - x1 < 1 or y2 - y1 < 1:
            continue
        out.append(f"{int(c)} {(x1 + x2) / 2 / width:.6f} {(y1 + y2) / 2 / height:.6f} "
                   f"{(x2 - x1) / width:.6f} {(y2 - y1) / height:.6f}")
    return out


def write_example(out: Path, stem: str, image: np.ndarray, classes: np.ndarray,
                  boxes: np.ndarray, ext: str = ".png") -> Path:
    """One image and its label file; returns the image path."""
    (out / "images").mkdir(parents=True, exist_ok=True)
    (out / "labels").mkdir(parents=True, exist_ok=True)
    path = out / "images" / f"{stem}{ext}"
    if not cv2.imwrite(str(path), image):
        raise OSError(f"cannot write {path}")
    lines = label_lines(classes, boxes, image.shape[1], image.shape[0])
    (out / "labels" / f"{stem}.txt").write_text("".join(line + "\n" for line in lines))
    return path
