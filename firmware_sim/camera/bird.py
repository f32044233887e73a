"""Draw one chicken into a frame, seen from above or at an angle.

Shapes are built in the bird's own frame (x forward, y to the bird's right, one unit = body
length), posed, then mapped to the image. The bird is painted in a small patch: shaded by its
distance to the outline (a rounded body), lit from one side, feather noise, antialiased edge.
Its pixels are also written to an id map so labels are the *visible* extent of each bird.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import cv2
import numpy as np

from firmware_sim.camera.plumage import RGB, Plumage


class Pose(StrEnum):
    STAND = "stand"
    WALK = "walk"
    PECK = "peck"
    LYING = "lying"  # resting or sick, alive: class `chicken`
    DEAD_SIDE = "dead_side"
    DEAD_BACK = "dead_back"

    @property
    def dead(self) -> bool:
        return self in (Pose.DEAD_SIDE, Pose.DEAD_BACK)


@dataclass(frozen=True)
class BirdLook:
    """What the camera sees of one bird at one instant (image coordinates)."""

    x: float
    y: float
    heading: float  # radians, image plane
    length_px: float
    squish: float  # vertical foreshortening of the camera view, 0.5–1
    pose: Pose
    plumage: Plumage
    seed: int  # fixes speckles, feather noise, leg angles
    light: tuple[float, float] = (-0.6, -0.8)  # direction light comes from


def _ellipse(
    cx: float, cy: float, ax: float, ay: float, ang: float = 0.0, n: int = 28
) -> np.ndarray:
    t = np.linspace(0.0, 2.0 * np.pi, n, endpoint=False)
    c, s = np.cos(ang), np.sin(ang)
    ex, ey = ax * np.cos(t), ay * np.sin(t)
    return np.stack([cx + ex * c - ey * s, cy + ex * s + ey * c], axis=1)


def _leg(root: tuple[float, float], ang: float, length: float, toe: float) -> list[np.ndarray]:
    """A shank as a line plus three toes fanned at its end."""
    rx, ry = root
    ex, ey = rx + length * np.cos(ang), ry + length * np.sin(ang)
    parts = [np.array([[rx, ry], [ex, ey]])]
    for d in (-0.5, 0.0, 0.5):
        a = ang + d
        parts.append(np.array([[ex, ey], [ex + toe * np.cos(a), ey + toe * np.sin(a)]]))
    return parts


@dataclass
class _Shapes:
    body: list[tuple[np.ndarray, RGB]]  # filled, shaded as volume
    detail: list[tuple[np.ndarray, RGB]]  # filled, drawn flat on top (comb, beak)
    lines: list[tuple[np.ndarray, RGB, float]]  # legs, thickness in body units


def shapes(look: BirdLook, rng: np.random.Generator) -> _Shapes:
    p = look.plumage
    pose = look.pose
    body: list[tuple[np.ndarray, RGB]] = []
    detail: list[tuple[np.ndarray, RGB]] = []
    lines: list[tuple[np.ndarray, RGB, float]] = []
    jit = rng.uniform(-0.04, 0.04, size=8)
    comb = p.comb
    if pose.dead:
        comb = (int(comb[0] * 0.6 + 60), int(comb[1] * 0.6 + 40), int(comb[2] * 0.6 + 70))

    if pose in (Pose.STAND, Pose.WALK, Pose.PECK):
        head_x = {Pose.STAND: 0.56, Pose.WALK: 0.6, Pose.PECK: 0.7}[pose] + jit[0]
        head_y = jit[1] * 2
        body.append((_ellipse(-0.55, 0, 0.2, 0.11 + jit[2]), p.tail))
        body.append((_ellipse(0, 0, 0.5, 0.29 + jit[3]), p.body))
        body.append((_ellipse(-0.05, -0.17, 0.34, 0.12, 0.12), p.wing))
        body.append((_ellipse(-0.05, 0.17, 0.34, 0.12, -0.12), p.wing))
        body.append((_ellipse(0.38, head_y * 0.5, 0.16, 0.13), p.body))  # neck
        body.append((_ellipse(head_x, head_y, 0.12, 0.1), p.body))
        detail.append((_ellipse(head_x + 0.02, head_y, 0.09, 0.035), comb))
        detail.append(
            (
                np.array(
                    [
                        [head_x + 0.1, head_y - 0.04],
                        [head_x + 0.2, head_y],
                        [head_x + 0.1, head_y + 0.04],
                    ]
                ),
                (230, 170, 60),
            )
        )
        if pose is Pose.WALK:  # a foot showing behind the body
            lines += [(seg, p.shank, 0.035) for seg in _leg((-0.3, 0.1), np.pi * 0.9, 0.2, 0.08)]
    elif pose is Pose.LYING:
        body.append((_ellipse(-0.42, 0, 0.16, 0.12), p.tail))
        body.append((_ellipse(0, 0, 0.44, 0.34 + jit[3]), p.body))
        body.append((_ellipse(-0.03, -0.2, 0.3, 0.14, 0.1), p.wing))
        body.append((_ellipse(-0.03, 0.2, 0.3, 0.14, -0.1), p.wing))
        hy = jit[1] * 4
        body.append((_ellipse(0.38, hy, 0.12, 0.1), p.body))
        detail.append((_ellipse(0.4, hy, 0.08, 0.03), comb))
        detail.append(
            (np.array([[0.48, hy - 0.03], [0.56, hy], [0.48, hy + 0.03]]), (230, 170, 60))
        )
    elif pose is Pose.DEAD_SIDE:
        # On its side: flatter and longer, neck stretched along the floor, legs straight out.
        side = 1.0 if rng.random() < 0.5 else -1.0
        neck_bend = rng.uniform(-0.6, 0.6)
        body.append((_ellipse(-0.58, 0, 0.2, 0.13), p.tail))
        body.append((_ellipse(0, 0, 0.52, 0.25), p.body))
        body.append((_ellipse(-0.02, -side * 0.3, 0.42, 0.16, side * 0.25), p.wing))  # splayed
        hx, hy = 0.62 + 0.15 * np.cos(neck_bend), 0.2 * np.sin(neck_bend)
        body.append((_ellipse((0.42 + hx) / 2, hy / 2, 0.2, 0.08, neck_bend * 0.5), p.body))
        body.append((_ellipse(hx, hy, 0.11, 0.09), p.body))
        detail.append((_ellipse(hx, hy + side * 0.06, 0.08, 0.03), comb))
        detail.append(
            (
                np.array([[hx + 0.09, hy - 0.03], [hx + 0.19, hy + 0.01], [hx + 0.09, hy + 0.04]]),
                (220, 160, 60),
            )
        )
        for k, off in enumerate((-0.05, 0.1)):
            ang = side * np.pi / 2 + rng.uniform(-0.5, 0.3) - 0.25 * k * side
            lines += [(seg, p.shank, 0.045) for seg in _leg((off, side * 0.18), ang, 0.38, 0.12)]
    else:  # DEAD_BACK: belly up, wings out both sides, feet in the air
        body.append((_ellipse(-0.55, 0, 0.18, 0.12), p.tail))
        body.append((_ellipse(-0.05, -0.3, 0.36, 0.15, 0.35), p.wing))
        body.append((_ellipse(-0.05, 0.3, 0.36, 0.15, -0.35), p.wing))
        body.append((_ellipse(0, 0, 0.5, 0.3), p.belly))
        ha = rng.uniform(-1.2, 1.2)
        hx, hy = 0.42 + 0.25 * np.cos(ha), 0.25 * np.sin(ha)
        body.append((_ellipse((0.4 + hx) / 2, hy / 2, 0.17, 0.08, ha * 0.5), p.belly))
        body.append((_ellipse(hx, hy, 0.11, 0.09), p.body))
        detail.append((_ellipse(hx, hy, 0.08, 0.03, ha), comb))
        for sgn in (-1.0, 1.0):
            ang = np.pi + sgn * rng.uniform(0.4, 1.1)
            lines += [(seg, p.shank, 0.05) for seg in _leg((-0.15, sgn * 0.1), ang, 0.36, 0.12)]
    return _Shapes(body, detail, lines)


def fixed_point(pts: np.ndarray, off: np.ndarray) -> np.ndarray:
    """Points relative to `off` in OpenCV's fixed point with 2 fractional bits (draw with shift=2)."""
    return np.asarray(np.round((pts - off) * 4), np.int32)


def footprint(polys: Sequence[tuple[np.ndarray, object]], off: np.ndarray, size: tuple[int, int],
              shift: np.ndarray) -> np.ndarray:
    """The polygons moved by `shift` px, filled in a uint8 mask of `size` (h, w): a bird's
    contact shadow before it is blurred."""
    mask = np.zeros(size, np.uint8)
    for pts, _ in polys:
        cv2.fillPoly(mask, [fixed_point(pts + shift, off)], 255, cv2.LINE_AA, shift=2)
    return mask


def to_image(pts: np.ndarray, look: BirdLook) -> np.ndarray:
    c, s = np.cos(look.heading), np.sin(look.heading)
    x = pts[:, 0] * look.length_px
    y = pts[:, 1] * look.length_px
    xi = x * c - y * s
    yi = (x * s + y * c) * look.squish
    return np.stack([look.x + xi, look.y + yi], axis=1)


def draw_bird(img: np.ndarray, ids: np.ndarray, bird_id: int, look: BirdLook) -> int:
    """Paint `look` into `img` (RGB uint8) and its pixels into `ids` (uint16).

    Returns how many pixels the bird covers in the frame before anything hides it.
    """
    rng = np.random.default_rng(look.seed)
    sh = shapes(look, rng)
    body = [(to_image(pts, look), col) for pts, col in sh.body]
    detail = [(to_image(pts, look), col) for pts, col in sh.detail]
    lines = [(to_image(pts, look), col, max(1.0, t * look.length_px)) for pts, col, t in sh.lines]
    allpts = np.concatenate(
        [p for p, _ in body] + [p for p, _ in detail] + [p for p, _, _ in lines]
    )
    h, w = img.shape[:2]
    pad = 4 + int(look.length_px * 0.12)
    x0 = max(int(np.floor(allpts[:, 0].min())) - pad, 0)
    y0 = max(int(np.floor(allpts[:, 1].min())) - pad, 0)
    x1 = min(int(np.ceil(allpts[:, 0].max())) + pad, w)
    y1 = min(int(np.ceil(allpts[:, 1].max())) + pad, h)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return 0
    off = np.array([x0, y0], dtype=np.float64)
    pw, ph = x1 - x0, y1 - y0

    def ipts(p: np.ndarray) -> np.ndarray:
        return fixed_point(p, off)

    # Soft contact shadow, offset away from the light.
    lx, ly = look.light
    shadow = footprint(body, off, (ph, pw), np.array([-lx, -ly]) * look.length_px * 0.08)
    k = max(3, int(look.length_px * 0.12) | 1)
    shadow_f = cv2.GaussianBlur(shadow, (k, k), 0).astype(np.float32) / 255.0
    roi = img[y0:y1, x0:x1].astype(np.float32)
    roi *= (1.0 - 0.38 * shadow_f)[..., None]

    colour = np.zeros((ph, pw, 3), np.float32)
    mask = np.zeros((ph, pw), np.uint8)
    for pts, col in body:
        cv2.fillPoly(colour, [ipts(pts)], col, cv2.LINE_8, shift=2)
        cv2.fillPoly(mask, [ipts(pts)], 255, cv2.LINE_AA, shift=2)
    p = look.plumage
    if p.speckle is not None:
        n = int(p.speckle_density * (pw * ph) / max(look.length_px**2, 1.0))
        xs, ys = rng.uniform(0, pw, n), rng.uniform(0, ph, n)
        r = max(1, int(look.length_px * 0.015))
        for sx, sy in zip(xs, ys, strict=True):
            cv2.circle(colour, (int(sx), int(sy)), r, p.speckle, -1)
    # Volume: brighter toward the middle of the outline and toward the light.
    dist = cv2.distanceTransform((mask > 127).astype(np.uint8), cv2.DIST_L2, 3)
    dmax = float(dist.max()) or 1.0
    shade = 0.62 + 0.38 * np.sqrt(np.clip(dist / dmax, 0, 1))
    gy, gx = np.mgrid[0:ph, 0:pw].astype(np.float32)
    cx, cy = look.x - x0, look.y - y0
    side = ((gx - cx) * lx + (gy - cy) * ly) / max(look.length_px * 0.5, 1.0)
    lit = shade * (1.0 + 0.14 * np.clip(side, -1, 1))
    fs = max(2, int(look.length_px / 6))
    coarse = rng.normal(0, 1, (max(2, ph // fs + 1), max(2, pw // fs + 1))).astype(np.float32)
    feathers = np.asarray(cv2.resize(coarse, (pw, ph), interpolation=cv2.INTER_LINEAR), np.float32)
    roughness = 0.09 if look.pose.dead else 0.05
    colour *= (lit * (1.0 + roughness * feathers))[..., None]

    for pts, col in detail:
        cv2.fillPoly(colour, [ipts(pts)], col, cv2.LINE_8, shift=2)
        cv2.fillPoly(mask, [ipts(pts)], 255, cv2.LINE_AA, shift=2)
    for pts, col, thick in lines:
        a, b = ipts(pts)
        t = int(round(thick))
        cv2.line(colour, tuple(a), tuple(b), col, t, cv2.LINE_8, shift=2)
        cv2.line(mask, tuple(a), tuple(b), 255, t, cv2.LINE_AA, shift=2)

    alpha = (mask.astype(np.float32) / 255.0)[..., None]
    roi = roi * (1.0 - alpha) + np.clip(colour, 0, 255) * alpha
    img[y0:y1, x0:x1] = np.clip(roi, 0, 255).astype(np.uint8)
    body_px = mask > 110
    ids[y0:y1, x0:x1][body_px] = bird_id
    return int(np.count_nonzero(body_px))
