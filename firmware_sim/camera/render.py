"""Compose one camera frame: birds on the house view, light, night IR, lens and sensor faults.

Pure: everything random comes from the generator passed in, so the same seed draws the same
frame. Labels are YOLO boxes of what is *visible* of each bird (occluded parts excluded).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from firmware_sim.camera.bird import BirdLook, Pose, draw_bird
from firmware_sim.camera.house import HouseView
from firmware_sim.camera.plumage import PLUMAGES

CLASSES = ("chicken", "dead")
CLASS_ID = {name: i for i, name in enumerate(CLASSES)}
MIN_VISIBLE = 0.3  # share of a bird that must show for it to be labelled


@dataclass
class BirdState:
    """One bird on the floor of one camera's view (floor metres)."""

    u: float
    v: float
    heading: float
    length_m: float
    plumage: str
    pose: Pose
    seed: int
    activity: float = 1.0  # 1 healthy, ~0.2 sick, 0 dead

    @property
    def dead(self) -> bool:
        return self.pose.dead


@dataclass(frozen=True)
class Conditions:
    """Light and image quality of one frame."""

    brightness: float = 1.0
    tint: tuple[float, float, float] = (1.0, 1.0, 1.0)
    night_ir: bool = False
    gradient: tuple[float, float] = (0.0, 0.0)  # brightness slope across x and y
    sun_patches: int = 0
    blur_sigma: float = 0.0
    motion_blur: int = 0  # kernel length in px, 0 = none
    noise_sigma: float = 2.0
    vignette: float = 0.0
    jpeg_quality: int = 85
    seed: int = 0


@dataclass(frozen=True)
class Label:
    cls: int
    x0: float
    y0: float
    x1: float
    y1: float
    bird: int  # index into the bird list, for tracking tests
    visible: float = 1.0  # share of the bird showing (MIN_VISIBLE..1): occlusion, for evaluation

    def yolo(self, width: int, height: int) -> str:
        cx, cy = (self.x0 + self.x1) / 2 / width, (self.y0 + self.y1) / 2 / height
        w, h = (self.x1 - self.x0) / width, (self.y1 - self.y0) / height
        return f"{self.cls} {cx:.6f} {cy:.6f} {w:.6f} {h:.6f}"


def random_conditions(rng: np.random.Generator, *, night: bool | None = None) -> Conditions:
    if night is None:
        night = bool(rng.random() < 0.18)
    warm = rng.random() < 0.5
    base = (1.08, 1.0, 0.82) if warm else (0.96, 1.0, 1.06)
    tint = [float(t * rng.uniform(0.95, 1.05)) for t in base]
    return Conditions(
        brightness=float(
            rng.uniform(0.9, 1.3)
            if night
            else rng.choice([rng.uniform(0.35, 0.6), rng.uniform(0.6, 1.3)], p=[0.2, 0.8])
        ),
        tint=(tint[0], tint[1], tint[2]),
        night_ir=night,
        gradient=(float(rng.uniform(-0.3, 0.3)), float(rng.uniform(-0.3, 0.3))),
        sun_patches=int(rng.choice([0, 0, 0, 1, 2])) if not night else 0,
        blur_sigma=float(rng.choice([0.0, 0.0, rng.uniform(0.5, 1.8)])),
        motion_blur=int(rng.choice([0] * 6 + [3, 5, 7])),
        noise_sigma=float(rng.uniform(4, 14) if night else rng.uniform(0.5, 7)),
        vignette=float(rng.uniform(0.0, 0.45)),
        jpeg_quality=int(rng.integers(35, 96)),
        seed=int(rng.integers(2**31)),
    )


def _looks(view: HouseView, birds: list[BirdState]) -> list[tuple[int, BirdLook]]:
    if not birds:
        return []
    u = np.array([b.u for b in birds])
    v = np.array([b.v for b in birds])
    x, y = view.to_image(u, v)
    sx, sy = view.px_per_m(u, v)
    hx, hy = view.to_image(
        u + 0.05 * np.cos([b.heading for b in birds]), v + 0.05 * np.sin([b.heading for b in birds])
    )
    looks = []
    for i, b in enumerate(birds):
        heading = float(np.arctan2((hy[i] - y[i]) / max(sy[i] / sx[i], 1e-3), hx[i] - x[i]))
        looks.append(
            (
                i,
                BirdLook(
                    x=float(x[i]),
                    y=float(y[i]),
                    heading=heading,
                    length_px=float(b.length_m * sx[i]),
                    squish=float(np.clip(sy[i] / sx[i], 0.55, 1.0)),
                    pose=b.pose,
                    plumage=PLUMAGES[b.plumage],
                    seed=b.seed,
                ),
            )
        )
    looks.sort(key=lambda il: (il[1].pose.dead is False and il[1].pose is not Pose.LYING, il[1].y))
    return looks


def _light(img: np.ndarray, cond: Conditions, rng: np.random.Generator) -> np.ndarray:
    h, w = img.shape[:2]
    f = img.astype(np.float32)
    gy, gx = np.mgrid[0:h, 0:w].astype(np.float32)
    field = cond.brightness * (
        1.0 + cond.gradient[0] * (gx / w - 0.5) + cond.gradient[1] * (gy / h - 0.5)
    )
    if cond.sun_patches:
        patch = np.zeros((h, w), np.float32)
        for _ in range(cond.sun_patches):
            cx, cy = rng.uniform(0, w), rng.uniform(0.2 * h, h)
            pw, ph = rng.uniform(0.05, 0.2) * w, rng.uniform(0.1, 0.3) * h
            sk = rng.uniform(-0.4, 0.4) * pw
            quad = np.array([[cx, cy], [cx + pw, cy], [cx + pw + sk, cy + ph], [cx + sk, cy + ph]])
            cv2.fillPoly(patch, [quad.astype(np.int32)], 1.0)
        k = int(0.02 * w) | 1
        field = field * (1.0 + 0.5 * cv2.GaussianBlur(patch, (k, k), 0))
    if cond.vignette:
        r2 = ((gx - w / 2) / (w / 2)) ** 2 + ((gy - h / 2) / (h / 2)) ** 2
        field = field * (1.0 - cond.vignette * np.clip(r2 / 2, 0, 1))
    if cond.night_ir:
        # IR illuminator: greyscale, hot centre, feathers reflect strongly.
        grey = f @ np.array([0.35, 0.5, 0.15], np.float32)
        grey = 255.0 * (grey / 255.0) ** 0.8
        r2 = ((gx - w / 2) / (w / 2)) ** 2 + ((gy - h / 2) / (h / 2)) ** 2
        hot = 1.15 - 0.55 * np.clip(r2 / 1.6, 0, 1)
        out = (grey * field * hot)[..., None].repeat(3, axis=2)
    else:
        out = f * field[..., None] * np.array(cond.tint, np.float32)
    return np.asarray(out)


def _degrade(f: np.ndarray, cond: Conditions, rng: np.random.Generator) -> np.ndarray:
    if cond.blur_sigma > 0:
        f = cv2.GaussianBlur(f, (0, 0), cond.blur_sigma)
    if cond.motion_blur:
        k = np.zeros((cond.motion_blur, cond.motion_blur), np.float32)
        a = rng.uniform(0, np.pi)
        c = cond.motion_blur // 2
        cv2.line(
            k,
            (int(c - c * np.cos(a)), int(c - c * np.sin(a))),
            (int(c + c * np.cos(a)), int(c + c * np.sin(a))),
            1.0,
            1,
        )
        f = cv2.filter2D(f, -1, k / max(float(k.sum()), 1.0))
    if cond.noise_sigma > 0:
        noise = rng.normal(0, cond.noise_sigma, f.shape[:2]).astype(np.float32)
        f = f + (noise[..., None] if cond.night_ir else noise[..., None] * rng.uniform(0.8, 1.2, 3))
    return np.asarray(np.clip(f, 0, 255).astype(np.uint8))


def as_taken(img: np.ndarray, cond: Conditions, rng: np.random.Generator) -> np.ndarray:
    """A drawn frame as the classic camera takes it: `cond`'s light, then blur and noise (uint8)."""
    return _degrade(_light(img, cond, rng), cond, rng)


def render_frame(
    view: HouseView, birds: list[BirdState], cond: Conditions
) -> tuple[np.ndarray, list[Label]]:
    """An RGB frame and the visible box of every bird in it."""
    rng = np.random.default_rng(cond.seed)
    img = view.background.copy()
    ids = np.zeros(img.shape[:2], np.uint16)
    drawn: dict[int, tuple[int, float]] = {}
    for i, look in _looks(view, birds):
        n = draw_bird(img, ids, i + 1, look)
        if n:
            drawn[i] = (n, look.length_px**2 * look.squish * 0.4)
    occ = view.occluder > 0
    if occ.any():
        a = (view.occluder.astype(np.float32) / 255.0)[..., None]
        img = (img * (1 - a) + view.occluder_rgb * a).astype(np.uint8)
        ids[occ] = 0
    labels = _labels(ids, birds, drawn)
    return as_taken(img, cond, rng), labels


def _labels(
    ids: np.ndarray, birds: list[BirdState], drawn: dict[int, tuple[int, float]]
) -> list[Label]:
    ys, xs = np.nonzero(ids)
    if len(ys) == 0:
        return []
    vals = ids[ys, xs].astype(np.int64)
    order = np.argsort(vals, kind="stable")
    vals, ys, xs = vals[order], ys[order], xs[order]
    uniq, starts, counts = np.unique(vals, return_index=True, return_counts=True)
    x0 = np.minimum.reduceat(xs, starts)
    x1 = np.maximum.reduceat(xs, starts)
    y0 = np.minimum.reduceat(ys, starts)
    y1 = np.maximum.reduceat(ys, starts)
    labels = []
    for k, bid in enumerate(uniq):
        i = int(bid) - 1
        full, expected = drawn.get(i, (0, 0.0))
        if counts[k] < MIN_VISIBLE * max(full, expected) or counts[k] < 12:
            continue
        cls = CLASS_ID["dead"] if birds[i].dead else CLASS_ID["chicken"]
        box = (float(x0[k]), float(y0[k]), float(x1[k] + 1), float(y1[k] + 1))
        visible = min(1.0, float(counts[k]) / max(full, expected, 1.0))
        labels.append(Label(cls, *box, bird=i, visible=round(visible, 3)))
    return labels


def encode_jpeg(rgb: np.ndarray, quality: int) -> bytes:
    ok, buf = cv2.imencode(
        ".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, int(quality)]
    )
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return buf.tobytes()


def as_stored(rgb: np.ndarray, quality: int, flag: int = cv2.IMREAD_COLOR) -> np.ndarray:
    """A rendered frame as the cloud reads it back: through the gateway's JPEG, then decoded
    (BGR, or grey with cv2.IMREAD_GRAYSCALE)."""
    image = cv2.imdecode(np.frombuffer(encode_jpeg(rgb, quality), np.uint8), flag)
    assert image is not None  # our own encoder's JPEG
    return image
