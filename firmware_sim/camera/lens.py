"""What a cheap CCTV camera does to a frame: fisheye, IR night, glare, smudges, OSD, codec.

Each function takes float32 RGB (0–255) or uint8 where stated and draws only from the generator
passed in. `fisheye_maps` gives remap tables so the label id map is warped by the very same
mapping as the picture (boxes stay right under distortion).
"""

from __future__ import annotations

from datetime import datetime

import cv2
import numpy as np

CAMERA_NAMES = ("CAM01", "CAM 02", "Camera 3", "IPC", "House 2 West", "Coop", "CH04", "Layer A-3")


def fisheye_maps(w: int, h: int, k: float) -> tuple[np.ndarray, np.ndarray]:
    """Barrel distortion (k > 0): each output pixel samples the pinhole image further out."""
    gy, gx = np.mgrid[0:h, 0:w].astype(np.float32)
    cx, cy, r0 = w / 2, h / 2, float(np.hypot(w / 2, h / 2))
    nx, ny = (gx - cx) / r0, (gy - cy) / r0
    zoom = 1.0 / (1.0 + k * 0.55)  # keep the frame mostly filled
    scale = (1.0 + k * (nx * nx + ny * ny)) * zoom
    return cx + nx * scale * r0, cy + ny * scale * r0


def remap(
    img: np.ndarray, maps: tuple[np.ndarray, np.ndarray], nearest: bool = False
) -> np.ndarray:
    interp = cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR
    return np.asarray(cv2.remap(img, maps[0], maps[1], interp, borderMode=cv2.BORDER_CONSTANT))


def night_ir(f: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Grey IR picture lit by the camera's own LED ring: hot centre, dark corners."""
    h, w = f.shape[:2]
    grey = f @ np.array([0.3, 0.45, 0.25], np.float32)
    grey = 255.0 * (np.clip(grey, 0, 255) / 255.0) ** float(rng.uniform(0.6, 0.9))  # feathers glow
    gy, gx = np.ogrid[0:h, 0:w]
    cx, cy = w * rng.uniform(0.4, 0.6), h * rng.uniform(0.45, 0.75)
    r2 = ((gx - cx) / (0.6 * w)) ** 2 + ((gy - cy) / (0.6 * w)) ** 2
    spot = 0.25 + 1.05 * np.exp(-r2 * rng.uniform(1.0, 2.5))
    out = grey * spot.astype(np.float32) * rng.uniform(0.8, 1.15)
    return np.repeat(out[..., None], 3, axis=2)


def glare(f: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A light or window flaring into the lens: bright bloom and a few streaks."""
    h, w = f.shape[:2]
    layer = np.zeros((h, w), np.float32)
    x, y = int(rng.uniform(0, w)), int(rng.uniform(0, 0.5 * h))
    cv2.circle(layer, (x, y), int(rng.uniform(0.02, 0.08) * w), 1.0, -1)
    for _ in range(int(rng.integers(2, 6))):
        a = rng.uniform(0, np.pi)
        length = rng.uniform(0.1, 0.4) * w
        dx, dy = int(np.cos(a) * length), int(np.sin(a) * length)
        cv2.line(layer, (x - dx, y - dy), (x + dx, y + dy), 0.5, max(1, w // 400))
    bloom = np.asarray(cv2.GaussianBlur(layer, (0, 0), w * 0.02), np.float32)
    return np.asarray(f + 255.0 * float(rng.uniform(0.5, 1.4)) * bloom[..., None], np.float32)


def smudge(f: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Dust, cobweb and grease on the dome: hazy, blurred, slightly brighter blotches."""
    h, w = f.shape[:2]
    small = rng.random((6, 10)).astype(np.float32)
    mask = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    mask = np.clip((mask - rng.uniform(0.45, 0.7)) * 3.0, 0, 1)[..., None]
    blurred = cv2.GaussianBlur(f, (0, 0), max(2.0, w / 250))
    haze = blurred * 0.8 + 255.0 * 0.2
    return np.asarray(f * (1 - mask) + haze * mask, np.float32)


def sensor(f: np.ndarray, rng: np.random.Generator, grey: bool) -> np.ndarray:
    """Vignette, soft focus, shot noise with coloured chroma, clipped to uint8."""
    h, w = f.shape[:2]
    gy, gx = np.ogrid[0:h, 0:w]
    r2 = ((gx - w / 2) / (w / 2)) ** 2 + ((gy - h / 2) / (h / 2)) ** 2
    f = f * (1.0 - rng.uniform(0.0, 0.35) * np.clip(r2 / 2, 0, 1)).astype(np.float32)[..., None]
    if rng.random() < 0.6:
        f = cv2.GaussianBlur(f, (0, 0), float(rng.uniform(0.6, 1.6)))
    sigma = float(rng.uniform(3, 12) if grey else rng.uniform(1, 7))
    noise = rng.normal(0, sigma, (h, w)).astype(np.float32)
    f = f + noise[..., None]
    return np.asarray(np.clip(f, 0, 255).astype(np.uint8))


def osd(img: np.ndarray, rng: np.random.Generator, when: datetime | None = None) -> list[tuple[int, int, int, int]]:
    """Burn in a timestamp (`when`, else a random one) and a camera name, white with a black
    outline, in corners; returns the box (x0, y0, x1, y1) of each text drawn."""
    h, w = img.shape[:2]
    scale = w / 1280 * float(rng.uniform(0.7, 1.1))
    if when is None:
        day = int(rng.integers(1, 29))
        stamp = (
            f"2026-{int(rng.integers(1, 13)):02d}-{day:02d} "
            f"{int(rng.integers(24)):02d}:{int(rng.integers(60)):02d}:{int(rng.integers(60)):02d}"
        )
        if rng.random() < 0.5:
            stamp += " " + ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")[day % 7]
    else:
        stamp = when.strftime("%Y-%m-%d %H:%M:%S")
    name = CAMERA_NAMES[int(rng.integers(len(CAMERA_NAMES)))]
    corners = rng.permutation(4)[:2]
    drawn = []
    for text, corner in ((stamp, corners[0]), (name, corners[1])):
        thick = max(1, int(2 * scale))
        (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
        m = int(16 * scale) + 4
        x = m if corner in (0, 2) else w - tw - m
        y = m + th if corner in (0, 1) else h - m
        ink = np.zeros((h, w), np.uint8)
        cv2.putText(ink, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, scale, 255, thick, cv2.LINE_AA)
        # The outline is the text grown, not a thicker stroke: OpenCV 5 spaces thicker strokes
        # wider, which drew the outline as a second, shifted copy of the text.
        r = max(1, round(1.5 * scale))
        halo = cv2.dilate(ink, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)))
        ys, xs = np.nonzero(halo)
        if not len(ys):  # the text fell outside a frame too small for it
            continue
        near = np.s_[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]  # blend there, not frame-wide
        a_halo = halo[near][..., None].astype(np.float32) / 255
        a_ink = ink[near][..., None].astype(np.float32) / 255
        img[near] = np.clip(img[near] * (1 - a_halo) * (1 - a_ink) + 255 * a_ink, 0, 255).astype(np.uint8)
        drawn.append((int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1))
    return drawn


def codec(img: np.ndarray, quality: int) -> np.ndarray:
    """The camera's own lossy encode (before ours) of an RGB frame: blocks and mosquito noise."""
    bgr = cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
    ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    decoded = cv2.imdecode(buf, cv2.IMREAD_COLOR) if ok else None
    if decoded is None:
        raise RuntimeError("JPEG round trip failed")
    return np.asarray(cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB))
