"""The static part of a camera's view: floor, litter, equipment, walls and the lens geometry.

A house view is drawn once (floor texture in floor coordinates, warped by the camera's
homography, walls above the horizon) and reused for every frame of that camera. Floor
coordinates are metres; `ppm` is floor-texture pixels per metre.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

FLOORS = ("shavings", "rice_husk", "straw", "dirt", "slatted", "concrete")
WALLS = ("whitewash", "curtain_blue", "curtain_yellow", "brick", "steel")


@dataclass(frozen=True)
class Equipment:
    kind: str  # pan_feeder, bell_drinker, trough, nipple_line
    u: float  # floor metres
    v: float
    size: float  # radius or length, metres
    angle: float = 0.0


@dataclass
class HouseView:
    width: int
    height: int
    floor_w_m: float
    floor_d_m: float
    ppm: float
    homography: np.ndarray  # floor texture px -> image px
    background: np.ndarray  # RGB uint8, floor + walls + floor equipment
    occluder: np.ndarray  # uint8 alpha of things between camera and birds
    occluder_rgb: np.ndarray
    equipment: list[Equipment] = field(default_factory=list)

    def to_image(self, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        pts = np.stack([u * self.ppm, v * self.ppm, np.ones_like(u)], axis=0)
        q = self.homography @ pts
        return q[0] / q[2], q[1] / q[2]

    def px_per_m(self, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Image pixels per floor metre across (x) and along the depth (y) at (u, v)."""
        x0, y0 = self.to_image(u, v)
        x1, y1 = self.to_image(u + 0.05, v)
        x2, y2 = self.to_image(u, v + 0.05)
        return np.hypot(x1 - x0, y1 - y0) / 0.05, np.hypot(x2 - x0, y2 - y0) / 0.05


def _noise(rng: np.random.Generator, h: int, w: int, octaves: tuple[int, ...]) -> np.ndarray:
    out = np.zeros((h, w), np.float32)
    for i, cell in enumerate(octaves):
        small = rng.normal(0, 1, (max(2, h // cell), max(2, w // cell))).astype(np.float32)
        out += np.asarray(cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC), np.float32) / (
            1.6**i
        )
    return out / max(float(np.abs(out).max()), 1e-6)


def _floor_texture(rng: np.random.Generator, kind: str, h: int, w: int, ppm: float) -> np.ndarray:
    base = {
        "shavings": (196, 168, 120),
        "rice_husk": (170, 128, 70),
        "straw": (200, 176, 110),
        "dirt": (120, 92, 62),
        "slatted": (60, 62, 58),
        "concrete": (150, 146, 138),
    }[kind]
    jitter = rng.uniform(0.85, 1.12, 3)
    col = np.array(base, np.float32) * jitter
    tex = np.ones((h, w, 3), np.float32) * col
    lum = _noise(rng, h, w, (160, 40, 12))
    tex *= (1.0 + 0.18 * lum)[..., None]
    # Damp, caked patches: darker blotches.
    wet = _noise(rng, h, w, (220, 90))
    tex *= (1.0 - 0.35 * np.clip(wet - 0.25, 0, 1))[..., None]
    img = np.clip(tex, 0, 255).astype(np.uint8)
    if kind in ("shavings", "rice_husk", "straw"):
        n = int(h * w / 90)
        xs, ys = rng.uniform(0, w, n), rng.uniform(0, h, n)
        ang = rng.uniform(0, np.pi, n)
        ln = rng.uniform(0.008, 0.03 if kind != "straw" else 0.07, n) * ppm
        shade = rng.uniform(0.7, 1.25, n)
        for x, y, a, length, s in zip(xs, ys, ang, ln, shade, strict=True):
            c = tuple(int(min(255, v * s)) for v in col)
            dx, dy = np.cos(a) * length / 2, np.sin(a) * length / 2
            cv2.line(img, (int(x - dx), int(y - dy)), (int(x + dx), int(y + dy)), c, 1, cv2.LINE_AA)
    if kind == "slatted":  # plastic slats over a dark pit, common in Chinese broiler houses
        pitch = max(3, int(rng.uniform(0.025, 0.05) * ppm))
        slat = (
            tuple(int(v) for v in rng.uniform(150, 230, 3)) if rng.random() < 0.5 else (40, 44, 48)
        )
        for x in range(0, w, pitch):
            cv2.line(img, (x, 0), (x, h), slat, max(1, pitch // 2))
        for y in range(0, h, pitch * 6):
            cv2.line(img, (0, y), (w, y), slat, max(1, pitch // 2))
    # Droppings.
    n = int(h * w / 1500)
    for x, y in zip(rng.uniform(0, w, n), rng.uniform(0, h, n), strict=True):
        r = max(1, int(rng.uniform(0.004, 0.01) * ppm))
        cv2.circle(img, (int(x), int(y)), r, (70, 62, 50), -1, cv2.LINE_AA)
    return img


def _draw_equipment(img: np.ndarray, eq: Equipment, ppm: float, rng: np.random.Generator) -> None:
    cx, cy = int(eq.u * ppm), int(eq.v * ppm)
    r = max(3, int(eq.size * ppm))
    if eq.kind == "pan_feeder":
        rim = [(200, 50, 40), (230, 150, 30), (150, 150, 150), (220, 200, 60)][int(rng.integers(4))]
        cv2.circle(img, (cx + r // 8, cy + r // 8), int(r * 1.05), (60, 50, 40), -1, cv2.LINE_AA)
        cv2.circle(img, (cx, cy), r, rim, -1, cv2.LINE_AA)
        cv2.circle(img, (cx, cy), int(r * 0.8), (190, 160, 100), -1, cv2.LINE_AA)  # feed
        cv2.circle(img, (cx, cy), int(r * 0.3), rim, -1, cv2.LINE_AA)  # centre cone
        for k in range(8):
            a = k * np.pi / 4
            p2 = (int(cx + 0.8 * r * np.cos(a)), int(cy + 0.8 * r * np.sin(a)))
            cv2.line(img, (cx, cy), p2, rim, max(1, r // 12), cv2.LINE_AA)
    elif eq.kind == "bell_drinker":
        cv2.circle(img, (cx + r // 8, cy + r // 8), int(r * 1.05), (60, 50, 40), -1, cv2.LINE_AA)
        cv2.circle(img, (cx, cy), r, (200, 40, 40), -1, cv2.LINE_AA)
        cv2.circle(img, (cx, cy), int(r * 0.82), (120, 140, 150), -1, cv2.LINE_AA)  # water
        cv2.circle(img, (cx, cy), int(r * 0.45), (230, 230, 225), -1, cv2.LINE_AA)
    elif eq.kind == "trough":
        half = eq.size * ppm / 2
        wdt = 0.12 * ppm
        c, s = np.cos(eq.angle), np.sin(eq.angle)
        box = np.array([[-half, -wdt], [half, -wdt], [half, wdt], [-half, wdt]])
        pts = np.stack([cx + box[:, 0] * c - box[:, 1] * s, cy + box[:, 0] * s + box[:, 1] * c], 1)
        cv2.fillPoly(img, [pts.astype(np.int32)], (165, 168, 170), cv2.LINE_AA)
        cv2.fillPoly(
            img,
            [(cx + (pts - [cx, cy]) * [0.96, 0.6]).astype(np.int32)],
            (185, 160, 105),
            cv2.LINE_AA,
        )
    elif eq.kind == "nipple_line":
        half = eq.size * ppm / 2
        c, s = np.cos(eq.angle), np.sin(eq.angle)
        end_a = (int(cx - half * c), int(cy - half * s))
        end_b = (int(cx + half * c), int(cy + half * s))
        cv2.line(img, end_a, end_b, (150, 155, 160), max(2, int(0.03 * ppm)), cv2.LINE_AA)
        step = max(4, int(0.25 * ppm))
        for t in range(0, int(2 * half), step):
            p = (int(end_a[0] + t * c), int(end_a[1] + t * s))
            cv2.circle(img, p, max(2, int(0.025 * ppm)), (210, 40, 40), -1, cv2.LINE_AA)


def _walls(rng: np.random.Generator, img: np.ndarray, horizon: int) -> None:
    if horizon <= 0:
        return
    h, w = img.shape[:2]
    kind = WALLS[int(rng.integers(len(WALLS)))]
    base = {
        "whitewash": (215, 212, 200),
        "curtain_blue": (50, 90, 160),
        "curtain_yellow": (200, 170, 60),
        "brick": (150, 80, 60),
        "steel": (170, 175, 180),
    }[kind]
    grad = np.linspace(0.75, 1.05, horizon, dtype=np.float32)[:, None, None]
    wall = np.ones((horizon, w, 3), np.float32) * np.array(base, np.float32) * grad
    wall *= (1.0 + 0.08 * _noise(rng, horizon, w, (60, 15)))[..., None]
    img[:horizon] = np.clip(wall, 0, 255).astype(np.uint8)
    if kind.startswith("curtain"):
        for y in range(0, horizon, max(4, horizon // 8)):
            cv2.line(img, (0, y), (w, y), tuple(int(v * 0.8) for v in base), 2, cv2.LINE_AA)
    elif kind == "brick":
        bh = max(4, horizon // 14)
        for y in range(0, horizon, bh):
            cv2.line(img, (0, y), (w, y), (190, 180, 170), 1)
            for x in range(int((y // bh) % 2 * bh), w, bh * 3):
                cv2.line(img, (x, y), (x, y + bh), (190, 180, 170), 1)
    # Windows / fans / light openings.
    for _ in range(int(rng.integers(0, 4))):
        ww, wh = int(rng.uniform(0.06, 0.18) * w), int(rng.uniform(0.25, 0.6) * horizon)
        x, y = int(rng.uniform(0, w - ww)), int(rng.uniform(0, max(1, horizon - wh)))
        if rng.random() < 0.6:
            cv2.rectangle(img, (x, y), (x + ww, y + wh), (245, 245, 235), -1)
            cv2.rectangle(img, (x, y), (x + ww, y + wh), (90, 90, 90), 2)
        else:
            r = min(ww, wh) // 2
            cv2.circle(img, (x + r, y + r), r, (50, 52, 55), -1, cv2.LINE_AA)
            for k in range(4):
                a = k * np.pi / 4
                p1 = (int(x + r - r * np.cos(a)), int(y + r - r * np.sin(a)))
                p2 = (int(x + r + r * np.cos(a)), int(y + r + r * np.sin(a)))
                cv2.line(img, p1, p2, (120, 120, 120), 2, cv2.LINE_AA)
    cv2.line(img, (0, horizon - 1), (w, horizon - 1), (70, 65, 60), 3)  # wall foot


def _occluders(
    rng: np.random.Generator, w: int, h: int, horizon: int
) -> tuple[np.ndarray, np.ndarray]:
    alpha = np.zeros((h, w), np.uint8)
    rgb = np.zeros((h, w, 3), np.uint8)
    for _ in range(int(rng.choice([0, 0, 1, 1, 2, 3]))):
        kind = rng.integers(3)
        if kind == 0:  # a pillar or post, close to the camera
            pw = int(rng.uniform(0.02, 0.06) * w)
            x = int(rng.uniform(0, w - pw))
            col = (140, 110, 80) if rng.random() < 0.5 else (180, 180, 178)
            for i in range(pw):  # cylinder shading
                f = 0.6 + 0.4 * np.sin(np.pi * (i + 0.5) / pw)
                cv2.line(rgb, (x + i, 0), (x + i, h), tuple(int(c * f) for c in col), 1)
            alpha[:, x : x + pw] = 255
        elif kind == 1:  # a water pipe / nipple line hung across the view
            y0, y1 = int(rng.uniform(horizon, h)), int(rng.uniform(horizon, h))
            t = max(3, int(rng.uniform(0.006, 0.014) * h))
            cv2.line(rgb, (0, y0), (w, y1), (175, 180, 185), t, cv2.LINE_AA)
            cv2.line(alpha, (0, y0), (w, y1), 255, t, cv2.LINE_AA)
        else:  # a hanging feeder tube with its pan, seen from above
            x, y = int(rng.uniform(0.1, 0.9) * w), int(rng.uniform(max(horizon, 0.2 * h), 0.9 * h))
            r = int(rng.uniform(0.03, 0.07) * w)
            cv2.line(rgb, (x, 0), (x, y), (120, 120, 120), 2, cv2.LINE_AA)
            cv2.line(alpha, (x, 0), (x, y), 255, 2, cv2.LINE_AA)
            cv2.circle(rgb, (x, y), r, (200, 60, 40), -1, cv2.LINE_AA)
            cv2.circle(rgb, (x, y), int(r * 0.5), (230, 110, 60), -1, cv2.LINE_AA)
            cv2.circle(alpha, (x, y), r, 255, -1, cv2.LINE_AA)
    return alpha, rgb


def make_view(
    rng: np.random.Generator,
    width: int,
    height: int,
    *,
    angled: bool | None = None,
    floor: str | None = None,
) -> HouseView:
    """A random camera on a random house floor: the domain randomisation lives here."""
    if angled is None:
        angled = bool(rng.random() < 0.45)
    floor = floor or FLOORS[int(rng.integers(len(FLOORS)))]
    # A camera 2.5–3.5 m up over a small house sees a few metres of floor.
    floor_w = float(rng.uniform(2.0, 4.5) if angled else rng.uniform(2.0, 5.5))
    tex_w = int(min(width, 1280))
    ppm = tex_w / floor_w
    depth = float(rng.uniform(1.1, 1.8)) if angled else height / width
    tex_h = int(tex_w * depth)
    tex = _floor_texture(rng, floor, tex_h, tex_w, ppm)
    equipment: list[Equipment] = []
    n_eq = int(rng.integers(0, 5))
    for _ in range(n_eq):
        kind = str(
            rng.choice(["pan_feeder", "pan_feeder", "bell_drinker", "trough", "nipple_line"])
        )
        size = {"pan_feeder": 0.18, "bell_drinker": 0.2, "trough": 1.5, "nipple_line": 4.0}[kind]
        eq = Equipment(
            kind,
            float(rng.uniform(0, floor_w)),
            float(rng.uniform(0, tex_h / ppm)),
            size * float(rng.uniform(0.8, 1.2)),
            float(rng.uniform(0, np.pi)),
        )
        equipment.append(eq)
        _draw_equipment(tex, eq, ppm, rng)

    if angled:
        horizon = int(rng.uniform(0.08, 0.3) * height)
        inset = rng.uniform(0.1, 0.25) * width
        spread = rng.uniform(0.0, 0.15) * width
        quad = np.array(
            [
                [inset, horizon],
                [width - inset, horizon],
                [width + spread, height],
                [-spread, height],
            ],
            np.float32,
        )
    else:
        horizon = 0
        j = rng.uniform(-0.03, 0.03, (4, 2)) * [width, height]
        quad = (np.array([[0, 0], [width, 0], [width, height], [0, height]]) + j).astype(np.float32)
    src = np.array([[0, 0], [tex_w, 0], [tex_w, tex_h], [0, tex_h]], np.float32)
    hom = cv2.getPerspectiveTransform(src, quad)
    bg = cv2.warpPerspective(
        tex, hom, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
    )
    _walls(rng, bg, horizon)
    occ, occ_rgb = _occluders(rng, width, height, horizon)
    return HouseView(
        width,
        height,
        floor_w,
        tex_h / ppm,
        ppm,
        hom.astype(np.float64),
        bg,
        occ,
        occ_rgb,
        equipment,
    )
