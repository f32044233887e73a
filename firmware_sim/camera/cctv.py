"""The `cctv` render style: one randomised frame as a real poultry-house camera would see it.

Three kinds of scene: commercial houses (white broilers or brown/white layers, packed so birds
touch and overlap), sparse backyard coops, and close-ups where one bird fills a third of the
frame. A wall camera (`wallcam`) looks down at 20–60°; birds are textured and lit (`feathered`);
then the camera's own faults (`lens`): IR night, glare, smudges, fisheye, noise, OSD, codec.
Texture and colour are randomised hard so shape, not paint, is what a detector learns.
Labels are the visible part of each bird (the classic MIN_VISIBLE rule), taken from an id map
that goes through the same fisheye warp as the picture.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime

import numpy as np

from firmware_sim.camera import lens
from firmware_sim.camera.bird import BirdLook, Pose
from firmware_sim.camera.feathered import Finish, draw_feathered
from firmware_sim.camera.house import HouseView
from firmware_sim.camera.plumage import BROILER, LAYERS, LOCAL, PLUMAGES
from firmware_sim.camera.render import BirdState, Conditions, Label, _labels
from firmware_sim.camera.wallcam import make_wall_view, random_camera, visible_area

MODES = ("commercial", "backyard", "closeup")
MAX_BIRDS = 170  # keeps a frame under ~0.5 s; packed pens get a nearer far wall instead
BARRED = ("speckled", "partridge")


def _in_frame(view: HouseView, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    x, y = view.to_image(u, v)
    return np.asarray((x > -20) & (x < view.width + 20) & (y > -20) & (y < view.height + 20))


def _positions(rng: np.random.Generator, view: HouseView, n: int) -> tuple[np.ndarray, np.ndarray]:
    u = rng.uniform(0, view.floor_w_m, n * 6)
    v = rng.uniform(-0.2, view.floor_d_m, n * 6)
    ok = _in_frame(view, u, v)
    return u[ok][:n], v[ok][:n]


def _visible_area(rng: np.random.Generator, view: HouseView) -> float:
    u = rng.uniform(0, view.floor_w_m, 2000)
    v = rng.uniform(0, view.floor_d_m, 2000)
    return float(_in_frame(view, u, v).mean() * view.floor_w_m * view.floor_d_m)


def random_flock(
    rng: np.random.Generator, view: HouseView, mode: str, density: float, extra_dead: int = 0
) -> list[BirdState]:
    """Birds on the view's floor (metres), `extra_dead` more dead ones at most for training."""
    plumages: tuple[str, ...]
    if mode == "commercial":
        plumages = BROILER if rng.random() < 0.55 else (str(rng.choice(LAYERS)),)
        maturity = float(rng.uniform(0.55, 1.0))
        n = int(min(MAX_BIRDS, density * _visible_area(rng, view)))
    elif mode == "backyard":
        pool = LOCAL + LAYERS + BROILER
        plumages = tuple(
            str(p) for p in rng.choice(pool, size=int(rng.integers(1, 4)), replace=False)
        )
        maturity = float(rng.uniform(0.6, 1.0))
        n = int(rng.integers(1, 14))
    else:
        plumages = (str(rng.choice(LOCAL + LAYERS + BROILER)),)
        maturity = float(rng.uniform(0.8, 1.0))
        n = int(rng.integers(1, 5))
    u, v = _positions(rng, view, n)
    if mode == "closeup":  # one bird in the middle of the frame, close to the lens
        q = np.linalg.inv(view.homography) @ [view.width / 2, view.height * 0.55, 1.0]
        x, y = q[0] / q[2] + rng.normal(0, 0.05), q[1] / q[2] + rng.normal(0, 0.05)
        u, v = np.concatenate([[x], u[: n - 1]]), np.concatenate([[y], v[: n - 1]])
    birds = [
        BirdState(
            u=float(a),
            v=float(b),
            heading=float(rng.uniform(-np.pi, np.pi)),
            length_m=(0.2 + 0.22 * maturity) * float(rng.uniform(0.88, 1.12)),
            plumage=str(rng.choice(plumages)),
            pose=(Pose.STAND, Pose.WALK, Pose.PECK, Pose.LYING)[
                int(rng.choice(4, p=[0.3, 0.25, 0.25, 0.2]))
            ],
            seed=int(rng.integers(2**31)),
        )
        for a, b in zip(u, v, strict=True)
    ]
    n_dead = int(rng.choice([0, 0, 1, 1, 2, 3]))
    if extra_dead:
        n_dead += int(rng.integers(extra_dead + 1))
    n_dead = min(n_dead, max(1, len(birds) // 2)) if birds else 0
    for b in birds[:n_dead]:
        b.pose = Pose.DEAD_BACK if rng.random() < 0.5 else Pose.DEAD_SIDE
        b.activity = 0.0
        if rng.random() < 0.4:  # live birds walk over and stand on the dead one
            for _ in range(int(rng.integers(1, 3))):
                a = rng.uniform(-np.pi, np.pi)
                d = b.length_m * rng.uniform(0.3, 0.7)
                birds.append(
                    BirdState(
                        u=b.u + d * float(np.cos(a)),
                        v=b.v + d * float(np.sin(a)),
                        heading=float(rng.uniform(-np.pi, np.pi)),
                        length_m=b.length_m,
                        plumage=b.plumage,
                        pose=Pose.STAND,
                        seed=int(rng.integers(2**31)),
                    )
                )
    return birds


def _finish(rng: np.random.Generator, b: BirdState, sx: float, squish: float, ir: bool) -> Finish:
    elev_cos = float(np.sqrt(max(0.0, 1.0 - squish**2)))
    jitter = rng.uniform(0.8, 1.1) * rng.uniform(0.96, 1.04, 3)
    return Finish(
        lift_px=0.45 * b.length_m * elev_cos * sx,
        colour=(float(jitter[0]), float(jitter[1]), float(jitter[2])),
        texture=float(
            rng.uniform(0.15, 0.4) * (0.5 if b.plumage in ("white", "layer_white") else 1.0)
        ),
        barred=b.plumage in BARRED or rng.random() < 0.05,
        flat=b.dead and rng.random() < 0.25,
        skin=float(rng.uniform(0.5, 1.0))
        if b.pose is Pose.DEAD_BACK or (b.dead and rng.random() < 0.3)
        else 0.0,
        ir=ir,
    )


def render_cctv(
    view: HouseView,
    birds: list[BirdState],
    rng: np.random.Generator,
    night: bool,
    light: float | None = None,
) -> tuple[np.ndarray, np.ndarray, list[Label]]:
    """Float RGB frame, bird id map (0 = none) and visible-part labels. With `light` (a living
    camera's fixed light direction), each bird's finish comes from its own seed, so a bird,
    and above all a carcass, looks the same in every frame."""
    img = view.background.astype(np.float32)
    ids = np.zeros(img.shape[:2], np.uint16)
    steady = light is not None
    light = float(rng.uniform(-np.pi, np.pi)) if light is None else light
    lxy = (float(np.cos(light)), float(np.sin(light)))
    drawn: dict[int, tuple[int, float]] = {}
    if birds:
        u, v = np.array([b.u for b in birds]), np.array([b.v for b in birds])
        x, y = view.to_image(u, v)
        sx, sy = view.px_per_m(u, v)
        hx, hy = view.to_image(
            u + 0.05 * np.cos([b.heading for b in birds]),
            v + 0.05 * np.sin([b.heading for b in birds]),
        )
        squish = np.clip(sy / np.maximum(sx, 1e-6), 0.25, 1.0)
        # Far to near; a dead bird goes down before the live birds around it stand on it.
        flat = np.array([b.pose.dead or b.pose is Pose.LYING for b in birds])
        order = np.argsort(y - flat * sx * 0.6, kind="stable")
        for i in order:
            b = birds[i]
            if sx[i] * b.length_m < 3 or not (
                -200 < x[i] < view.width + 200 and -200 < y[i] < view.height + 200
            ):
                continue
            look = BirdLook(
                x=float(x[i]),
                y=float(y[i]),
                heading=float(np.arctan2((hy[i] - y[i]) / squish[i], hx[i] - x[i])),
                length_px=float(b.length_m * sx[i]),
                squish=float(squish[i]),
                pose=b.pose,
                plumage=PLUMAGES[b.plumage],
                seed=b.seed,
                light=lxy,
            )
            fin_rng = np.random.default_rng([b.seed, 0xF1]) if steady else rng
            n = draw_feathered(
                img, ids, int(i) + 1, look, _finish(fin_rng, b, float(sx[i]), float(squish[i]), night)
            )
            if n:
                drawn[int(i)] = (n, look.length_px**2 * look.squish * 0.4)
    occ = view.occluder > 0
    if occ.any():
        a = (view.occluder.astype(np.float32) / 255.0)[..., None]
        img = img * (1 - a) + view.occluder_rgb * a
        ids[occ] = 0
    return img, ids, _labels(ids, birds, drawn) if drawn else []


def _rebox(labels: list[Label], ids: np.ndarray) -> list[Label]:
    """Boxes of the same birds after the id map went through the lens warp."""
    ys, xs = np.nonzero(ids)
    vals = ids[ys, xs]
    order = np.argsort(vals, kind="stable")
    vals, ys, xs = vals[order], ys[order], xs[order]
    uniq, starts, counts = np.unique(vals, return_index=True, return_counts=True)
    if len(uniq) == 0:
        return []
    x0, x1 = np.minimum.reduceat(xs, starts), np.maximum.reduceat(xs, starts)
    y0, y1 = np.minimum.reduceat(ys, starts), np.maximum.reduceat(ys, starts)
    where = {int(b): k for k, b in enumerate(uniq)}
    out = []
    for lab in labels:
        k = where.get(lab.bird + 1)
        if k is None or counts[k] < 12:
            continue
        box = (float(x0[k]), float(y0[k]), float(x1[k] + 1), float(y1[k] + 1))
        out.append(Label(lab.cls, *box, bird=lab.bird, visible=lab.visible))
    return out


def cctv_sample(
    seed: int, size: tuple[int, int], *, extra_dead: int = 0
) -> tuple[np.ndarray, list[Label], Conditions]:
    """One cctv-style frame (RGB uint8), its labels, and the light it was taken in."""
    rng = np.random.default_rng([seed, 0xCC7])
    w, h = size
    mode = str(rng.choice(MODES, p=[0.5, 0.35, 0.15]))
    cam = random_camera(rng, w, h, mode)
    density = float(rng.uniform(6, 20))  # birds per m² in a commercial house
    if mode == "commercial" and rng.random() < 0.5:  # a packed pen: bring the far wall in
        while visible_area(cam) * density > MAX_BIRDS and cam.far_m > cam.near_m() + 1.5:
            cam = replace(cam, far_m=cam.far_m * 0.85)
    view = make_wall_view(rng, cam)
    birds = random_flock(rng, view, mode, density, extra_dead)
    night = bool(rng.random() < 0.25)
    f, ids, labels = render_cctv(view, birds, rng, night)
    if night:
        f = lens.night_ir(f, rng)
    else:
        f = f * np.array(rng.uniform(0.92, 1.08, 3), np.float32) * float(rng.uniform(0.55, 1.25))
        if rng.random() < 0.2:
            f = lens.glare(f, rng)
    if rng.random() < 0.3:
        f = lens.smudge(f, rng)
    if rng.random() < 0.35 and labels:
        maps = lens.fisheye_maps(w, h, float(rng.uniform(0.15, 0.45)))
        f = lens.remap(f, maps)
        labels = _rebox(labels, lens.remap(ids, maps, nearest=True))
    img = lens.sensor(f, rng, night)
    if rng.random() < 0.75:
        lens.osd(img, rng)
    quality = int(rng.integers(30, 90))
    if rng.random() < 0.6:
        img = lens.codec(img, int(rng.integers(25, 70)))
    cond = Conditions(night_ir=night, jpeg_quality=quality, seed=seed)
    return img, labels, cond


@dataclass(frozen=True)
class CameraFaults:
    """What stays the same from frame to frame on one living wall camera."""

    seed: int
    light: float  # direction of the light over the floor, radians
    fisheye: float  # lens distortion, 0 for none
    smudged: bool
    osd: bool
    codec_quality: int | None  # the camera's own lossy encode, None for none
    jpeg_quality: int  # what the gateway sends


def camera_faults(rng: np.random.Generator) -> CameraFaults:
    """One camera's lens, dome and encoder, drawn with the odds of `cctv_sample`."""
    return CameraFaults(
        seed=int(rng.integers(2**31)),
        light=float(rng.uniform(-np.pi, np.pi)),
        fisheye=float(rng.uniform(0.15, 0.45)) if rng.random() < 0.35 else 0.0,
        smudged=bool(rng.random() < 0.3),
        osd=bool(rng.random() < 0.75),
        codec_quality=int(rng.integers(25, 70)) if rng.random() < 0.6 else None,
        jpeg_quality=int(rng.integers(30, 90)),
    )


def osd_boxes(view: HouseView, cam: CameraFaults, ts_ms: int) -> list[tuple[int, int, int, int]]:
    """Where `camera_frame` burns in the camera's name and clock at `ts_ms` (none without OSD)."""
    if not cam.osd:
        return []
    blank = np.zeros((view.height, view.width, 3), np.uint8)
    return lens.osd(blank, np.random.default_rng([cam.seed, 2]), datetime.fromtimestamp(ts_ms / 1000, UTC))


def camera_frame(
    view: HouseView, birds: list[BirdState], cam: CameraFaults, *, night: bool, ts_ms: int
) -> tuple[np.ndarray, list[Label]]:
    """A living wall camera's frame at `ts_ms` (RGB uint8) and its labels: the faults stay put,
    the sensor noise and the light level change, the OSD shows the frame's time (UTC)."""
    rng = np.random.default_rng([cam.seed, ts_ms % 2**62])
    f, ids, labels = render_cctv(view, birds, rng, night, light=cam.light)
    f = lens.night_ir(f, rng) if night else f * float(rng.uniform(0.85, 1.15))  # clouds, lamps
    if cam.smudged:
        f = lens.smudge(f, np.random.default_rng([cam.seed, 1]))
    if cam.fisheye:
        maps = lens.fisheye_maps(view.width, view.height, cam.fisheye)
        f = lens.remap(f, maps)
        labels = _rebox(labels, lens.remap(ids, maps, nearest=True)) if labels else []
    img = lens.sensor(f, rng, night)
    if cam.osd:
        lens.osd(img, np.random.default_rng([cam.seed, 2]), datetime.fromtimestamp(ts_ms / 1000, UTC))
    if cam.codec_quality is not None:
        img = lens.codec(img, cam.codec_quality)
    return img, labels
