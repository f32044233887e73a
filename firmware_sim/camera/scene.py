"""Flocks in a camera's view: one-off random scenes for datasets, and a house that lives on.

`random_sample` draws a fresh house, flock and light for every training image (domain
randomisation). `HouseScene` keeps one house and one flock over event time: healthy birds
walk and peck, sick birds move little and lie more, dead birds stay exactly where they fell.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from firmware_sim.camera import STYLES
from firmware_sim.camera.bird import Pose
from firmware_sim.camera.cctv import (
    CameraFaults,
    camera_faults,
    camera_frame,
    cctv_sample,
    osd_boxes,
)
from firmware_sim.camera.house import HouseView, make_view
from firmware_sim.camera.overhead import overhead_frame, overhead_sample
from firmware_sim.camera.plumage import BROILER, LOCAL
from firmware_sim.camera.render import BirdState, Conditions, Label, random_conditions, render_frame
from firmware_sim.camera.wallcam import make_wall_view, random_camera

ALIVE_POSES = (Pose.STAND, Pose.WALK, Pose.PECK)
RESOLUTIONS = ((1280, 720), (640, 480))


def _random_bird(
    rng: np.random.Generator,
    view: HouseView,
    plumages: tuple[str, ...],
    maturity: float,
    hotspots: list[tuple[float, float]],
) -> BirdState:
    if hotspots and rng.random() < 0.35:  # birds crowd feeders and drinkers
        hu, hv = hotspots[int(rng.integers(len(hotspots)))]
        u, v = hu + rng.normal(0, 0.35), hv + rng.normal(0, 0.35)
    else:
        u, v = rng.uniform(-0.1, view.floor_w_m + 0.1), rng.uniform(-0.1, view.floor_d_m + 0.1)
    length = (0.11 + 0.31 * maturity) * rng.uniform(0.88, 1.12)
    plumage = "chick" if length < 0.17 and rng.random() < 0.8 else str(rng.choice(plumages))
    return BirdState(
        u=float(u),
        v=float(v),
        heading=float(rng.uniform(-np.pi, np.pi)),
        length_m=float(length),
        plumage=plumage,
        pose=Pose.STAND,
        seed=int(rng.integers(2**31)),
    )


def random_flock(
    rng: np.random.Generator, view: HouseView, extra_dead: int = 0
) -> list[BirdState]:
    """A flock for one image: breed mix, age, crowding, poses and a few dead birds.

    `extra_dead` adds up to that many more dead birds: training sets use it for class
    balance (`dead` is otherwise ~5 % of boxes); test sets keep the natural mix.
    """
    plumages = (
        BROILER
        if rng.random() < 0.4
        else tuple(str(p) for p in rng.choice(LOCAL, size=int(rng.integers(1, 4)), replace=False))
    )
    # From about two weeks old: day-old chicks are a few pixels wide at these views.
    maturity = float(rng.uniform(0.15, 1.0) ** 0.6)
    area = view.floor_w_m * view.floor_d_m
    density = float(rng.uniform(0.8, 9.0))
    n = int(np.clip(area * density, 3, 110))
    hotspots = [(e.u, e.v) for e in view.equipment if e.kind in ("pan_feeder", "bell_drinker")]
    birds = [_random_bird(rng, view, plumages, maturity, hotspots) for _ in range(n)]
    lying_share = float(rng.uniform(0.0, 0.3))
    poses = rng.choice(len(ALIVE_POSES), size=n)
    for b, pk in zip(birds, poses, strict=True):
        b.pose = Pose.LYING if rng.random() < lying_share else ALIVE_POSES[int(pk)]
    n_dead = int(rng.choice([0, 1, 2, 2, 3, 3, 4, 5]))
    if extra_dead:
        n_dead = min(n // 2, n_dead + int(rng.integers(extra_dead + 1)))
    for b in birds[:n_dead]:
        b.pose = Pose.DEAD_SIDE if rng.random() < 0.6 else Pose.DEAD_BACK
        b.activity = 0.0
    return birds


def _check_style(style: str) -> None:
    if style not in STYLES:
        raise ValueError(f"unknown render style {style!r}, expected one of {STYLES}")


def random_sample(
    seed: int, size: tuple[int, int] | None = None, *, extra_dead: int = 0, style: str = "classic"
) -> tuple[np.ndarray, list[Label], Conditions]:
    """One randomised training image with labels, in one of `STYLES`."""
    _check_style(style)
    rng = np.random.default_rng(seed)
    if style == "cctv":
        w, h = size or RESOLUTIONS[int(rng.integers(len(RESOLUTIONS)))]
        return cctv_sample(seed, (w, h), extra_dead=extra_dead)
    w, h = size or RESOLUTIONS[int(rng.integers(len(RESOLUTIONS)))]
    if style == "overhead":
        return overhead_sample(seed, (w, h), extra_dead=extra_dead)
    view = make_view(rng, w, h)
    birds = random_flock(rng, view, extra_dead)
    cond = random_conditions(rng)
    img, labels = render_frame(view, birds, cond)
    return img, labels, cond


@dataclass
class Frame:
    ts_ms: int
    rgb: np.ndarray
    labels: list[Label]
    lights_on: bool
    jpeg_quality: int


class HouseScene:
    """One camera over one house, advanced in event time; deterministic per seed. In the
    `cctv` style it is a wall camera 2–3 m up whose lens, dome, OSD and encoder stay the same
    from frame to frame (`cctv.camera_frame`); in the `overhead` style the classic camera sees
    textured birds, lit from one direction; `angled` is for `classic` and `overhead`."""

    def __init__(
        self,
        seed: int,
        *,
        n_birds: int = 30,
        size: tuple[int, int] = (1280, 720),
        plumages: tuple[str, ...] = BROILER,
        maturity: float = 0.7,
        angled: bool | None = None,
        style: str = "classic",
    ) -> None:
        _check_style(style)
        self.seed = seed
        self.style = style
        self._rng = np.random.default_rng(seed)
        self.camera: CameraFaults | None = None
        if style == "cctv":
            self.view = make_wall_view(self._rng, random_camera(self._rng, size[0], size[1], "commercial"))
            self.camera = camera_faults(self._rng)
        else:
            self.view = make_view(self._rng, size[0], size[1], angled=angled)
        hotspots = [
            (e.u, e.v) for e in self.view.equipment if e.kind in ("pan_feeder", "bell_drinker")
        ]
        self.birds = [
            _random_bird(self._rng, self.view, plumages, maturity, hotspots) for _ in range(n_birds)
        ]
        for b in self.birds:  # keep the flock inside the view for the first frames
            b.u = float(np.clip(b.u, 0.1, self.view.floor_w_m - 0.1))
            b.v = float(np.clip(b.v, 0.1, self.view.floor_d_m - 0.1))
        self._light = random_conditions(self._rng, night=False)
        # From a generator of its own, so that classic scenes stay as they were per seed.
        self._light_from = float(np.random.default_rng([seed, 0x119]).uniform(-np.pi, np.pi))

    def kill(self, index: int) -> None:
        b = self.birds[index]
        b.pose = Pose.DEAD_SIDE if self._rng.random() < 0.6 else Pose.DEAD_BACK
        b.activity = 0.0

    def sicken(self, index: int, activity: float = 0.15) -> None:
        self.birds[index].activity = activity

    def advance(self, dt_s: float) -> None:
        """Move the living birds for `dt_s` seconds of event time."""
        rng = self._rng
        for b in self.birds:
            if b.dead:
                continue
            # Healthy birds rest now and then; sick birds rest most of the time.
            p_lie = min(0.9, (1.0 - b.activity) * 0.8 + 0.05)
            if rng.random() < min(1.0, dt_s / 120.0):
                b.pose = Pose.LYING if rng.random() < p_lie else ALIVE_POSES[int(rng.integers(3))]
            if b.pose is Pose.LYING:
                continue
            speed = 0.05 * b.activity * (2.5 if b.pose is Pose.WALK else 1.0)  # m/s
            b.heading += float(rng.normal(0, 0.6 * min(1.0, dt_s)))
            step = speed * min(dt_s, 30.0)
            b.u = float(np.clip(b.u + step * np.cos(b.heading), 0.05, self.view.floor_w_m - 0.05))
            b.v = float(np.clip(b.v + step * np.sin(b.heading), 0.05, self.view.floor_d_m - 0.05))
            if b.u in (0.05, self.view.floor_w_m - 0.05) or b.v in (
                0.05,
                self.view.floor_d_m - 0.05,
            ):
                b.heading += np.pi

    def osd_boxes(self, ts_ms: int) -> list[tuple[int, int, int, int]]:
        """Where this camera's frame at `ts_ms` shows burned-in text (only `cctv` wall cameras have it)."""
        return osd_boxes(self.view, self.camera, ts_ms) if self.camera is not None else []

    def frame(self, ts_ms: int, *, lights_on: bool = True) -> Frame:
        if self.camera is not None:
            rgb, labels = camera_frame(self.view, self.birds, self.camera, night=not lights_on, ts_ms=ts_ms)
            return Frame(ts_ms, rgb, labels, lights_on, self.camera.jpeg_quality)
        cond = replace(
            self._light,
            night_ir=not lights_on,
            sun_patches=0,
            seed=(self.seed * 1_000_003 + ts_ms) % 2**31,
        )
        if self.style == "overhead":
            rgb, labels = overhead_frame(self.view, self.birds, cond, light=self._light_from)
        else:
            rgb, labels = render_frame(self.view, self.birds, cond)
        return Frame(ts_ms, rgb, labels, lights_on, cond.jpeg_quality)
