"""Procedural textures for the `cctv` style: feathers, litter and dirt.

All are cheap, vectorised float32 fields drawn from the generator passed in. Feathers are
*directional* (streaks along the bird's body plus scalloped rows of feather tips), not white
noise: that is what plumage looks like from a few metres, and it varies hard from image to image
so a detector learns the shape of a bird, not one paint job.
"""

from __future__ import annotations

import cv2
import numpy as np


def smooth_noise(rng: np.random.Generator, h: int, w: int, cell: float) -> np.ndarray:
    """Band-limited noise, roughly unit variance, features about `cell` pixels wide."""
    gh, gw = max(2, int(h / cell) + 2), max(2, int(w / cell) + 2)
    small = rng.normal(0, 1, (gh, gw)).astype(np.float32)
    return np.asarray(cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC), np.float32)


def streaks(rng: np.random.Generator, h: int, w: int, angle: float, length: int) -> np.ndarray:
    """Noise smeared along `angle` (radians): fibres, feather vanes, straw."""
    base = rng.normal(0, 1, (h, w)).astype(np.float32)
    n = max(3, length | 1)
    k = np.zeros((n, n), np.float32)
    c = n // 2
    dx, dy = c * np.cos(angle), c * np.sin(angle)
    cv2.line(k, (round(c - dx), round(c - dy)), (round(c + dx), round(c + dy)), 1.0, 1)
    out = cv2.filter2D(base, -1, k / max(float(k.sum()), 1.0))
    return np.asarray(out / (float(out.std()) + 1e-6), np.float32)


def feathers(
    rng: np.random.Generator, h: int, w: int, heading: float, feather_px: float, barred: bool
) -> np.ndarray:
    """A plumage field in about [-1, 1] for a patch whose bird faces `heading`.

    Rows of feather tips run across the body (scallops), vanes run along it; `barred` adds the
    hard dark/light bands of barred and laced breeds.
    """
    gy = np.arange(h, dtype=np.float32)[:, None]
    gx = np.arange(w, dtype=np.float32)[None, :]
    along = gx * np.cos(heading) + gy * np.sin(heading)
    across = -gx * np.sin(heading) + gy * np.cos(heading)
    p = max(feather_px, 2.0)
    wobble = smooth_noise(rng, h, w, p * 1.5)
    # Scallops: feather tips overlap like roof tiles; rows bend with the wobble and the curve
    # of the body (across), so they never line up into stripes.
    size = float(max(w, h))
    bend = ((across + w / 2 * np.sin(heading) - h / 2 * np.cos(heading)) / size) ** 2
    phase = (along / p + 1.5 * bend * size / p + 1.2 * wobble) % 1.0
    tips = (phase**3) * 2.0 - 1.0  # dark where the next feather overlaps, bright at the tip
    vanes = streaks(rng, h, w, heading, int(p))
    field = 0.2 * tips + 0.5 * vanes + 0.4 * wobble
    if barred:
        field += 0.9 * np.sign(np.sin(2 * np.pi * along / (p * 0.8) + wobble))
    return np.asarray(np.clip(field, -1.6, 1.6) / 1.6, np.float32)


def litter(rng: np.random.Generator, h: int, w: int, ppm: float) -> np.ndarray:
    """An RGB float litter floor (shavings, straw, husk, dirt, concrete), `ppm` px per metre."""
    base = (
        np.array(
            [
                (196, 168, 120),
                (170, 128, 70),
                (200, 176, 110),
                (118, 92, 64),
                (150, 146, 138),
                (95, 82, 70),
            ][int(rng.integers(6))],
            np.float32,
        )
        * np.float32(rng.uniform(0.7, 1.2))
        * rng.uniform(0.93, 1.07, 3).astype(np.float32)
    )
    lum = (
        0.4 * smooth_noise(rng, h, w, 0.12 * ppm)
        + 0.4 * smooth_noise(rng, h, w, 0.04 * ppm)
        + 0.25 * streaks(rng, h, w, float(rng.uniform(0, np.pi)), max(3, int(0.03 * ppm)))
        + 0.25 * streaks(rng, h, w, float(rng.uniform(0, np.pi)), max(3, int(0.02 * ppm)))
    )
    tex = base * (1.0 + 0.16 * lum)[..., None]
    droppings = rng.random((h, w)) < 0.0015
    tex[droppings] = (70, 64, 52)
    return np.asarray(tex, np.float32)
