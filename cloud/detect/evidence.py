"""Evidence a farmer can judge on a basic phone: the bird, boxed, with some context around it."""

from __future__ import annotations

import cv2
import numpy as np

CROP_SIDE = 320


def annotated_crop(image: np.ndarray, box: tuple[float, float, float, float], score: float) -> bytes:
    """A JPEG of the box with a margin of one box size on each side, scaled to CROP_SIDE."""
    height, width = image.shape[:2]
    x0, y0, x1, y1 = box
    margin_x, margin_y = (x1 - x0), (y1 - y0)
    left, top = int(max(0, x0 - margin_x)), int(max(0, y0 - margin_y))
    right, bottom = int(min(width, x1 + margin_x)), int(min(height, y1 + margin_y))
    crop = image[top:bottom, left:right].copy()
    if crop.size == 0:
        crop = image.copy()
        left = top = 0
    cv2.rectangle(crop, (int(x0) - left, int(y0) - top), (int(x1) - left, int(y1) - top), (0, 0, 255), 2)
    scale = CROP_SIDE / max(crop.shape[:2])
    crop = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    cv2.putText(crop, f"dead {score:.2f}", (6, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 255), 2)
    ok, buffer = cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, 85])
    if not ok:
        raise ValueError("could not encode the evidence crop")
    return buffer.tobytes()
