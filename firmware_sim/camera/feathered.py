"""Paint one bird for the `cctv` style: textured plumage, lit volume, body height, shadows.

The outline comes from `bird.shapes` (same poses as the classic style). On top of it: the body
is raised by its height as seen from the camera (a low camera sees flanks, not a flat disc),
feathers are a directional texture, shading follows a dome normal and a light direction, a soft
contact shadow darkens the floor under it. Dead birds get bare pink skin (breast, thighs), legs
up and out, a spread wing, or are flattened into the litter. Pixels go to the id map as in the
classic painter, so labels stay the visible part of each bird.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from firmware_sim.camera.bird import BirdLook, Pose, fixed_point, footprint, shapes, to_image
from firmware_sim.camera.textures import feathers

SKIN = np.array((236, 158, 150), np.float32)
# How high each body part of a standing bird sits, in body heights (bottom, top): tail, body,
# two wings, neck, head (the order of `bird.shapes`). A low camera sees the head held up above
# the back and the tail cocked; a pecking bird's head is down at the floor.
_UPRIGHT = ((0.8, 1.3), (0.6, 1.0), (0.65, 1.05), (0.65, 1.05), (0.9, 1.45), (1.3, 1.75))
_PECKING = ((0.8, 1.3), (0.6, 1.0), (0.65, 1.05), (0.65, 1.05), (0.35, 1.0), (0.35, 0.6))
RAISE = {Pose.STAND: _UPRIGHT, Pose.WALK: _UPRIGHT, Pose.PECK: _PECKING}


@dataclass(frozen=True)
class Finish:
    """Per-bird extras of the cctv style."""

    lift_px: float  # apparent body height in the image (0 = seen straight down)
    colour: tuple[float, float, float] = (1.0, 1.0, 1.0)  # per-bird colour jitter
    texture: float = 0.18  # feather contrast
    barred: bool = False
    flat: bool = False  # trampled dead bird pressed into the litter
    skin: float = 0.0  # share of bare skin showing on a dead bird's breast and thighs
    ir: bool = False  # eyes and white feathers shine under IR


def _hull(pts: np.ndarray, lift: float) -> np.ndarray:
    both = np.concatenate([pts, pts - [0.0, lift]])
    return np.asarray(cv2.convexHull(both.astype(np.float32))[:, 0, :], np.float64)


def draw_feathered(
    img: np.ndarray, ids: np.ndarray, bird_id: int, look: BirdLook, fin: Finish
) -> int:
    """Paint into `img` (float32 RGB) and `ids`; returns the bird's unoccluded pixel count."""
    rng = np.random.default_rng(look.seed)
    sh = shapes(look, rng)
    lift = (
        0.0
        if fin.flat
        else fin.lift_px
        * (0.45 if look.pose in (Pose.LYING, Pose.DEAD_SIDE, Pose.DEAD_BACK) else 1.0)
    )
    fat = np.array([1.0, 1.25])  # fluffier than the classic outline
    base = [(to_image(p * fat, look), np.array(c, np.float32)) for p, c in sh.body]
    raise_ = RAISE.get(look.pose, ((0.0, 1.0),) * len(base))
    head_up = raise_[-1][1]
    detail = [
        (to_image(p, look) - [0.0, lift * head_up], np.array(c, np.float32)) for p, c in sh.detail
    ]
    legs = [(to_image(p, look), np.array(c, np.float32), t) for p, c, t in sh.lines]
    allpts = np.concatenate([p for p, _ in base] + [p for p, _, _ in legs])
    h, w = img.shape[:2]
    pad = 4 + int(look.length_px * 0.15 + lift * max(head_up, 1.0))
    x0 = max(int(allpts[:, 0].min()) - pad, 0)
    y0 = max(int(allpts[:, 1].min()) - pad, 0)
    x1 = min(int(allpts[:, 0].max()) + pad, w)
    y1 = min(int(allpts[:, 1].max()) + pad, h)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return 0
    off = np.array([x0, y0], np.float64)
    pw, ph = x1 - x0, y1 - y0

    def ip(p: np.ndarray) -> np.ndarray:
        return fixed_point(p, off)

    # Contact shadow: the footprint, blurred, a little away from the light.
    lx, ly = look.light
    foot = footprint(base, off, (ph, pw), np.array([-lx, -ly]) * look.length_px * 0.1)
    k = max(3, int(look.length_px * 0.1) | 1)
    shadow = cv2.blur(foot, (k, k)).astype(np.float32) / 255.0
    roi = img[y0:y1, x0:x1]

    colour = np.zeros((ph, pw, 3), np.float32)
    mask = np.zeros((ph, pw), np.uint8)
    if lift >= 3.0 and look.pose in RAISE:  # legs under a standing bird, seen from the side
        shank = np.array(look.plumage.shank, np.float32) * 0.85
        for sgn in (-1.0, 1.0):
            fx = look.x - x0 + sgn * 0.08 * look.length_px * np.sin(look.heading)
            fy = look.y - y0
            thick = max(1, int(0.03 * look.length_px))
            knee = (int(fx), int(fy - 0.7 * lift))
            cv2.line(colour, (int(fx), int(fy)), knee, shank.tolist(), thick)
            cv2.line(mask, (int(fx), int(fy)), knee, 255, thick)
    centre = np.array([look.x, look.y])
    flank = base[min(1, len(base) - 1)][1].tolist()  # sides in the body colour: no seams
    tops = []
    for (p, c), (lo, hi) in zip(base, raise_, strict=True):  # flanks, then the rounded back
        q = centre + (p - centre) * 0.9 - [0.0, lift * hi]
        tops.append((q, c))
        if lift * (hi - lo) >= 1.0:
            hull = ip(_hull(np.concatenate([p - [0.0, lift * lo], q]), 0.0))
            cv2.fillPoly(colour, [hull], flank, cv2.LINE_8, shift=2)
            cv2.fillPoly(mask, [hull], 255, cv2.LINE_AA, shift=2)
    top = np.zeros((ph, pw), np.uint8)
    for q, c in tops:
        cv2.fillPoly(colour, [ip(q)], c.tolist(), cv2.LINE_8, shift=2)
        cv2.fillPoly(top, [ip(q)], 255, cv2.LINE_AA, shift=2)
    mask = np.maximum(mask, top)
    # Flanks and belly fall into shadow smoothly: ambient occlusion from below the back.
    ao_k = max(3, int(lift) | 1)
    ao = cv2.blur(cv2.subtract(mask, top), (ao_k, ao_k)).astype(np.float32) / 255.0
    blend = max(1, int(look.length_px * 0.07))  # feathers blend body, wing and tail colours
    if blend > 1:
        colour = cv2.blur(colour, (blend, blend))
    if fin.skin > 0:  # plucked/pecked or belly-up: bare skin on breast and thighs
        skin = np.zeros((ph, pw), np.float32)
        cx, cy = look.x - x0, look.y - y0 - lift
        r = look.length_px * 0.3
        cv2.ellipse(
            skin,
            (int(cx), int(cy)),
            (int(r * 1.2), int(r * 0.8 * look.squish) + 1),
            np.degrees(look.heading),
            0,
            360,
            1.0,
            -1,
        )
        for sgn in (-1, 1):
            tx = (
                cx
                - 0.2 * look.length_px * np.cos(look.heading)
                - sgn * 0.12 * look.length_px * np.sin(look.heading)
            )
            ty = (
                cy
                + (-0.2 * np.sin(look.heading) + sgn * 0.12 * np.cos(look.heading))
                * look.length_px
                * look.squish
            )
            cv2.circle(skin, (int(tx), int(ty)), max(1, int(r * 0.55)), 1.0, -1)
        skin = cv2.GaussianBlur(skin, (0, 0), max(1.0, r * 0.2)) * fin.skin * (top > 0)
        colour = colour * (1 - skin[..., None]) + SKIN * skin[..., None]

    # Feathers: directional texture, stronger on dark and barred birds, ruffled on dead ones.
    fpx = max(2.0, look.length_px / rng.uniform(8, 14))
    step = max(1.0, fpx / 4)  # draw the texture at ~4 px per feather, then scale it up
    th, tw = max(2, int(ph / step)), max(2, int(pw / step))
    tex = feathers(rng, th, tw, look.heading, fpx / step, fin.barred)
    if (th, tw) != (ph, pw):
        tex = cv2.resize(tex, (pw, ph), interpolation=cv2.INTER_LINEAR)
    amp = fin.texture * (1.6 if look.pose.dead else 1.0)
    # Volume: a dome over the outline, lit from `look.light`, darker flanks and rim.
    # (A twice box-blurred silhouette: smooth, unlike a distance transform's creased roof.)
    dk = max(3, int(look.length_px * 0.18) | 1)
    height = cv2.blur(cv2.blur(mask.astype(np.float32) / 255.0, (dk, dk)), (dk, dk))
    height = np.sqrt(np.clip(height / (float(height.max()) or 1.0), 0.0, 1.0))  # box sums dip < 0
    gx = cv2.Sobel(height, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(height, cv2.CV_32F, 0, 1, ksize=3)
    lam = np.clip(1.0 + 1.5 * (gx * lx + gy * ly) * look.length_px / 40.0, 0.65, 1.25)
    shade = (0.78 + 0.3 * height) * lam * (1.0 - 0.35 * ao)
    gain = (shade * (1.0 + amp * tex)).astype(np.float32)
    colour = cv2.multiply(colour, cv2.merge([gain * np.float32(k) for k in fin.colour]))
    if fin.flat:  # pressed into the litter: the floor shows through, dull and dirty
        colour = cv2.addWeighted(colour, 0.6, roi, 0.4, 0.0)

    for p, c in detail:  # comb and beak, on top of the head
        cv2.fillPoly(colour, [ip(p)], c.tolist(), cv2.LINE_8, shift=2)
        cv2.fillPoly(mask, [ip(p)], 255, cv2.LINE_AA, shift=2)
    up = look.pose is Pose.DEAD_BACK
    for p, c, t in legs:
        q = p.copy()
        if up:  # legs stick up towards the camera: their tips rise in the image
            q[1:, 1] -= fin.lift_px * 1.2 + look.length_px * 0.1
        elif lift >= 1.0 and not look.pose.dead:
            q[:, 1] += lift * 0.1
        a, b = ip(q)
        thick = max(1, int(round(0.6 * t * look.length_px)))
        cv2.line(colour, tuple(a), tuple(b), (c * 0.9).tolist(), thick, cv2.LINE_8, shift=2)
        cv2.line(mask, tuple(a), tuple(b), 255, thick, cv2.LINE_AA, shift=2)
    if not look.pose.dead and look.length_px > 14 and detail:
        head = detail[0][0].mean(axis=0) - off
        eye = (0, 0, 0) if not fin.ir else (255, 255, 255)
        cv2.circle(
            colour, (int(head[0]), int(head[1])), max(1, int(look.length_px * 0.015)), eye, -1
        )

    # Fluffy edge: feathers soften the outline by a pixel or two. Floor: shadowed, then covered.
    soft = max(3, int(look.length_px * 0.03) | 1)
    alpha = cv2.blur(mask, (soft, soft)).astype(np.float32) / 255.0
    keep = (1.0 - alpha) * (1.0 - 0.45 * shadow)
    img[y0:y1, x0:x1] = cv2.multiply(roi, cv2.merge([keep] * 3)) + cv2.multiply(
        colour, cv2.merge([alpha] * 3)
    )
    px = mask > 110
    ids[y0:y1, x0:x1][px] = bird_id
    return int(np.count_nonzero(px))
