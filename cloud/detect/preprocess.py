"""Letterbox frames into the model's square input, the way ultralytics does.

Matching its rounding exactly (scale, `round(d ± 0.1)` borders, grey 114 padding) is what
lets our boxes agree with ultralytics' own to within a pixel.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

PAD_VALUE = 114


@dataclass(frozen=True)
class Letterbox:
    """How a frame was placed in the input: scale, then offset (left, top)."""

    gain: float
    pad_x: float
    pad_y: float
    width: int  # original frame
    height: int


def letterbox(
    img: np.ndarray, size: int, stride: int | None = None
) -> tuple[np.ndarray, Letterbox]:
    """`img` HxWx3 uint8 -> at most size x size x 3 uint8, same channel order.

    With `stride` (a model with dynamic input), pad only up to the next multiple of the
    stride (1280x720 -> 320x192 at size 320), as ultralytics does for such models:
    less padding, less compute, same boxes.
    """
    h, w = img.shape[:2]
    r = min(size / h, size / w)
    new_w, new_h = max(int(round(w * r)), 1), max(int(round(h * r)), 1)
    dw, dh = float(size - new_w), float(size - new_h)
    if stride:
        dw, dh = float(np.mod(dw, stride)), float(np.mod(dh, stride))
    dw, dh = dw / 2, dh / 2
    if (w, h) != (new_w, new_h):
        img = cv2.resize(img, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    top, bottom = int(round(dh - 0.1)), int(round(dh + 0.1))
    left, right = int(round(dw - 0.1)), int(round(dw + 0.1))
    out = cv2.copyMakeBorder(
        img, top, bottom, left, right, cv2.BORDER_CONSTANT, value=(PAD_VALUE, PAD_VALUE, PAD_VALUE)
    )
    return out, Letterbox(r, float(left), float(top), w, h)


def to_tensor(images: list[np.ndarray], bgr: bool = True) -> np.ndarray:
    """Stack letterboxed images into an NCHW float32 RGB batch in [0, 1]."""
    batch = np.stack(images)
    if bgr:
        batch = batch[..., ::-1]
    return np.ascontiguousarray(batch.transpose(0, 3, 1, 2), dtype=np.float32) / np.float32(255.0)
