"""How a frame looks, as a short vector: distances between two mean "looks different".

The detection worker keeps it for every frame it judges (`detection_frames.signature`), so
that choosing which of a camera's frames to label (`cloud.labels.suggest`) reads no frame
from the store: on S3 that was one GET per candidate, 240 a page view.
"""

from __future__ import annotations

import cv2
import numpy as np

THUMB = (32, 18)  # width, height: enough for where birds are, blind to feathers and noise
LIGHT_WEIGHT = 4.0  # a change of light counts as much as a few birds moved
SIZE = THUMB[0] * THUMB[1] + 2


def signature(image: np.ndarray) -> np.ndarray:
    """A frame (BGR or grey, any size): its layout, a grey thumbnail with the frame's own
    brightness and contrast taken out (day and dusk frames of one scene stay close, where the
    birds are is what differs); and its light, mean brightness and colour against grey (IR
    night frames, day frames and lamps apart are far from one another)."""
    colour = image.ndim == 3 and image.shape[2] >= 3
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if colour else image.reshape(image.shape[:2])
    thumb = cv2.resize(grey, THUMB, interpolation=cv2.INTER_AREA).astype(np.float32).ravel()
    brightness = float(thumb.mean())
    layout = (thumb - brightness) / (float(thumb.std()) + 8.0)
    chroma = 0.0
    if colour:
        small = cv2.resize(image[:, :, :3], THUMB, interpolation=cv2.INTER_AREA).astype(np.float32)
        chroma = float(np.abs(small - small.mean(axis=2, keepdims=True)).mean())
    light = np.array([brightness / 32.0, chroma / 4.0], dtype=np.float32) * LIGHT_WEIGHT
    return np.concatenate([layout / np.sqrt(layout.size), light]).astype(np.float32)


def to_stored(sig: np.ndarray) -> bytes:
    """Half precision: 1,156 bytes a frame, far finer than the distances it is used for."""
    return sig.astype("<f2").tobytes()


def from_stored(data: bytes | None) -> np.ndarray | None:
    """A kept signature, or None where none was kept (frames judged before it was) or its size is wrong."""
    if data is None or len(data) != 2 * SIZE:
        return None
    return np.frombuffer(data, "<f2").astype(np.float32)
