"""A wall-mounted CCTV camera over a litter floor, for the `cctv` style.

A pinhole camera 2–3 m up, tilted 20–60° down, looks along the house: near birds are large,
far birds tiny. The floor is litter sampled per image pixel through the inverse homography (so
it stays sharp near the camera and fine far away); above the far wall's foot is the wall, with
nest boxes sometimes; perches, cage wire, aviary tiers and posts stand between camera and birds.
The result is a `HouseView`, so birds are placed and sized exactly as in the classic style.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from firmware_sim.camera.house import Equipment, HouseView, _draw_equipment, _walls
from firmware_sim.camera.textures import litter, smooth_noise

TILE = 512  # litter tile, px
TILE_PPM = 320.0  # tile px per floor metre


@dataclass(frozen=True)
class WallCamera:
    height_m: float
    tilt: float  # radians below horizontal
    hfov: float  # radians
    far_m: float  # distance to the far wall along the floor
    width: int
    height: int

    @property
    def focal(self) -> float:
        return self.width / 2 / float(np.tan(self.hfov / 2))

    def floor_to_image(self) -> np.ndarray:
        """Homography from floor metres (x right, y away from the wall under the camera)."""
        f, cx, cy, hm = self.focal, self.width / 2, self.height / 2, self.height_m
        c, s = np.cos(self.tilt), np.sin(self.tilt)
        return np.array(
            [
                [f, cx * c, cx * hm * s],
                [0.0, -f * s + cy * c, f * hm * c + cy * hm * s],
                [0.0, c, hm * s],
            ]
        )

    def wall_row(self) -> int:
        q = self.floor_to_image() @ np.array([0.0, self.far_m, 1.0])
        return int(np.clip(q[1] / q[2], 0, self.height))

    def wall_top_row(self, wall_h: float) -> int:
        """Image row of the top of the far wall (`wall_h` metres high): the ceiling is above."""
        c, s = np.cos(self.tilt), np.sin(self.tilt)
        dz = wall_h - self.height_m
        depth = self.far_m * c - dz * s
        if depth <= 0:
            return 0
        row = self.height / 2 + self.focal * (-self.far_m * s - dz * c) / depth
        return int(np.clip(row, 0, self.height))

    def near_m(self) -> float:
        """Floor distance seen at the bottom edge of the frame."""
        vfov = 2 * np.arctan(np.tan(self.hfov / 2) * self.height / self.width)
        low = self.tilt + vfov / 2
        return float(self.height_m / np.tan(low)) if low < np.pi / 2 else 0.0


def visible_area(cam: WallCamera, samples: int = 4000) -> float:
    """Floor area (m²) between the bottom of the frame and the far wall that the camera sees."""
    near = cam.near_m()
    span = 2.2 * cam.far_m * float(np.tan(cam.hfov / 2)) + 1.0
    grid = np.random.default_rng(0).random((2, samples))
    x, y = (grid[0] - 0.5) * span, near + grid[1] * (cam.far_m - near)
    q = cam.floor_to_image() @ np.stack([x, y, np.ones_like(x)])
    px, py = q[0] / q[2], q[1] / q[2]
    inside = (px >= 0) & (px < cam.width) & (py >= 0) & (py < cam.height)
    return float(inside.mean() * span * (cam.far_m - near))


def random_camera(rng: np.random.Generator, w: int, h: int, mode: str) -> WallCamera:
    if mode == "closeup":
        return WallCamera(
            float(rng.uniform(0.8, 1.6)),
            float(np.radians(rng.uniform(35, 70))),
            float(np.radians(rng.uniform(35, 55))),
            float(rng.uniform(3, 6)),
            w,
            h,
        )
    return WallCamera(
        float(rng.uniform(2.0, 3.0)),
        float(np.radians(rng.uniform(20, 60))),
        float(np.radians(rng.uniform(70, 110))),
        float(rng.uniform(5, 11) if mode == "commercial" else rng.uniform(3, 7)),
        w,
        h,
    )


def _floor(rng: np.random.Generator, cam: WallCamera) -> np.ndarray:
    """Litter under the camera, drawn at half resolution (later blur and codec hide it)."""
    w, h = cam.width // 2, cam.height // 2
    inv = np.linalg.inv(cam.floor_to_image()).astype(np.float32)
    gy = np.arange(h, dtype=np.float32)[:, None] * 2 + 0.5
    gx = np.arange(w, dtype=np.float32)[None, :] * 2 + 0.5
    den = inv[2, 0] * gx + inv[2, 1] * gy + inv[2, 2]
    den = np.where(np.abs(den) < 1e-6, np.float32(1e-6), den)
    fx = (inv[0, 0] * gx + inv[0, 1] * gy + inv[0, 2]) / den
    fy = (inv[1, 0] * gx + inv[1, 1] * gy + inv[1, 2]) / den
    tile = litter(rng, TILE, TILE, TILE_PPM)
    mx = np.mod(fx * TILE_PPM, TILE).astype(np.float32)
    my = np.mod(fy * TILE_PPM, TILE).astype(np.float32)
    fine = cv2.remap(tile, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP)
    soft = cv2.remap(
        cv2.GaussianBlur(tile, (0, 0), 4), mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP
    )
    # Far away one pixel covers many litter particles: fade to the blurred tile there.
    depth = np.abs(fy * np.cos(cam.tilt) + cam.height_m * np.sin(cam.tilt))
    ppm_img = cam.focal / np.maximum(depth, 0.1)
    sharp = np.clip(ppm_img / TILE_PPM, 0, 1)[..., None]
    floor = fine * sharp + soft * (1 - sharp)
    # Large-scale light and damp patches across the house, in floor coordinates.
    big = np.stack([smooth_noise(rng, 64, 64, 6), smooth_noise(rng, 64, 64, 10)], axis=2)
    lmx = np.mod(fx * 4, 64).astype(np.float32)
    lmy = np.mod(fy * 4, 64).astype(np.float32)
    patch = cv2.remap(big, lmx, lmy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP)
    damp = np.clip(patch[..., 1] - 0.7, 0, 1)  # caked, wet litter
    floor = floor * (1.0 + 0.1 * patch[..., 0] - 0.25 * damp)[..., None]
    return np.asarray(cv2.resize(floor, (cam.width, cam.height), interpolation=cv2.INTER_LINEAR))


def _ceiling(rng: np.random.Generator, img: np.ndarray, top: int) -> None:
    """Roof above the far wall: dark trusses and a row or two of lamps."""
    w = img.shape[1]
    shade = rng.uniform(40, 120)
    grad = np.linspace(0.6, 1.0, top, dtype=np.float32)[:, None, None]
    img[:top] = np.clip(shade * grad * rng.uniform(0.9, 1.1, 3), 0, 255).astype(np.uint8)
    for x in range(int(rng.integers(w // 8)), w, max(8, w // int(rng.integers(4, 10)))):
        cv2.line(img, (x, 0), (x + int(rng.uniform(-0.1, 0.1) * w), top), (30, 30, 30), 2)
    for k in range(int(rng.integers(0, 3))):
        y = int(top * (0.5 + 0.2 * k))
        for x in range(int(rng.integers(w // 6)), w, max(20, w // int(rng.integers(3, 7)))):
            cv2.ellipse(
                img, (x, y), (max(3, w // 60), max(2, w // 160)), 0, 0, 360, (255, 250, 230), -1
            )


def _nest_boxes(rng: np.random.Generator, img: np.ndarray, foot: int) -> None:
    w = img.shape[1]
    bh = int(foot * rng.uniform(0.3, 0.6))
    bw = int(bh * rng.uniform(0.9, 1.4))
    wood = np.array(rng.uniform(110, 190, 3) * [1.0, 0.8, 0.6], np.float32)
    x = int(rng.uniform(0, 0.5) * w)
    for _ in range(int(rng.integers(2, 7))):
        y = foot - bh
        cv2.rectangle(img, (x, y), (x + bw, foot), wood.tolist(), -1)
        cv2.rectangle(img, (x, y), (x + bw, foot), (wood * 0.6).tolist(), max(1, bw // 30))
        cv2.ellipse(
            img, (x + bw // 2, y + bh // 2), (bw // 4, bh // 4), 0, 0, 360, (35, 28, 20), -1
        )
        x += bw + 2
        if x > w:
            break


def _occluders(rng: np.random.Generator, w: int, h: int) -> tuple[np.ndarray, np.ndarray]:
    """Perches, cage wire, aviary tiers and posts between the camera and the birds."""
    alpha = np.zeros((h, w), np.uint8)
    rgb = np.zeros((h, w, 3), np.uint8)
    if rng.random() < 0.3:  # perches: round wooden bars, often slanted
        for _ in range(int(rng.integers(1, 4))):
            t = max(3, int(rng.uniform(0.008, 0.025) * w))
            y0, y1 = int(rng.uniform(0.2, 1.0) * h), int(rng.uniform(0.2, 1.0) * h)
            col = tuple(int(v) for v in rng.uniform(120, 210) * np.array([1.0, 0.85, 0.65]))
            cv2.line(rgb, (0, y0), (w, y1), col, t, cv2.LINE_AA)
            cv2.line(
                rgb,
                (0, y0 - t // 4),
                (w, y1 - t // 4),
                tuple(min(255, int(c * 1.2)) for c in col),
                max(1, t // 4),
            )
            cv2.line(alpha, (0, y0), (w, y1), 255, t, cv2.LINE_AA)
    if rng.random() < 0.2:  # aviary tier: a slatted platform edge across the frame
        y = int(rng.uniform(0.15, 0.6) * h)
        th = int(rng.uniform(0.04, 0.1) * h)
        cv2.rectangle(rgb, (0, y), (w, y + th), (60, 62, 64), -1)
        for x in range(0, w, max(4, th // 2)):
            cv2.line(rgb, (x, y), (x, y + th), (95, 98, 100), 1)
        cv2.line(rgb, (0, y), (w, y), (190, 190, 195), max(2, th // 6))
        alpha[y : y + th] = 255
        for x in np.linspace(0, w, int(rng.integers(2, 5)) + 2)[1:-1]:
            pw = max(3, w // 120)
            cv2.rectangle(rgb, (int(x), 0), (int(x) + pw, h), (170, 172, 175), -1)
            alpha[:, int(x) : int(x) + pw] = 255
    if rng.random() < 0.1:  # cage front: galvanised wire mesh
        step = int(rng.uniform(0.03, 0.07) * w)
        grey = int(rng.uniform(120, 200))
        for x in range(int(rng.integers(step)), w, step):
            cv2.line(rgb, (x, 0), (x, h), (grey,) * 3, 2)
            cv2.line(alpha, (x, 0), (x, h), 255, 2)
        for y in range(int(rng.integers(step)), h, step * 2):
            cv2.line(rgb, (0, y), (w, y), (grey,) * 3, 2)
            cv2.line(alpha, (0, y), (w, y), 255, 2)
    if rng.random() < 0.25:  # a wall panel or post right in front of the lens, at one side
        pw = int(rng.uniform(0.05, 0.2) * w)
        x = 0 if rng.random() < 0.5 else w - pw
        wood = np.array((150, 120, 85), np.float32) * rng.uniform(0.6, 1.3)
        panel = wood * (1.0 + 0.15 * smooth_noise(rng, h, pw, 12))[..., None]
        rgb[:, x : x + pw] = np.clip(panel, 0, 255).astype(np.uint8)
        alpha[:, x : x + pw] = 255
    return alpha, rgb


def make_wall_view(rng: np.random.Generator, cam: WallCamera) -> HouseView:
    """The static view of one wall camera. Floor coordinates: u across, v away from the camera."""
    w, h = cam.width, cam.height
    near, far = cam.near_m(), cam.far_m
    span = 2.2 * far * float(np.tan(cam.hfov / 2)) + 1.0
    ppm = 100.0  # equipment canvas px per metre
    # Floor (u, v) metres, u across from the left edge, v from the near edge -> image.
    hom_m = cam.floor_to_image() @ np.array([[1.0, 0, -span / 2], [0, 1.0, near], [0, 0, 1]])
    hom = hom_m @ np.diag([1 / ppm, 1 / ppm, 1.0])
    img = _floor(rng, cam)
    equipment = []
    for _ in range(int(rng.integers(0, 4))):
        kind = str(rng.choice(["pan_feeder", "bell_drinker", "nipple_line"]))
        size = {"pan_feeder": 0.18, "bell_drinker": 0.2, "nipple_line": 6.0}[kind]
        u, v = float(rng.uniform(0.3, 0.7) * span), float(rng.uniform(0.2, max(0.3, far - near)))
        equipment.append(Equipment(kind, u, v, size, float(rng.uniform(0, np.pi))))
    if equipment:  # draw equipment on a floor-sized canvas, then warp it over the litter
        canvas = np.zeros((int((far - near) * ppm) + 1, int(span * ppm) + 1, 3), np.uint8)
        for eq in equipment:
            _draw_equipment(canvas, eq, ppm, rng)
        warped = cv2.warpPerspective(canvas, hom, (w, h), flags=cv2.INTER_LINEAR)
        hit = warped.max(axis=2, keepdims=True) > 0
        img = np.where(hit, warped.astype(np.float32), img)
    bg = np.clip(img, 0, 255).astype(np.uint8)
    foot = cam.wall_row()
    _walls(rng, bg, foot)
    top = cam.wall_top_row(float(rng.uniform(2.4, 3.5)))
    if top > 2:
        _ceiling(rng, bg, top)
    if foot > 20 and rng.random() < 0.4:
        _nest_boxes(rng, bg, foot)
    occ, occ_rgb = _occluders(rng, w, h)
    return HouseView(w, h, span, far - near, 1.0, hom_m, bg, occ, occ_rgb, equipment)
