"""The `overhead` render style: the `classic` camera over a house floor (straight down or
angled, with its feeders, drinkers, light and blur) and the `cctv` style's textured birds and
carcasses (on the back with legs up, bare pink skin, trampled, half under live birds).

It exists so that a base model can learn realistic carcasses while `cctv` keeps what makes a
new camera new (a wall mount at 20-60°, fisheye, dome smudges, burned-in text, the encoder):
training on `classic` and `overhead` leaves `cctv` a style training never saw.
"""

from __future__ import annotations

import numpy as np

from firmware_sim.camera.cctv import random_flock, render_cctv
from firmware_sim.camera.house import HouseView, make_view
from firmware_sim.camera.render import BirdState, Conditions, Label, as_taken, random_conditions

MODES = ("commercial", "backyard")  # an overhead camera is too far up for `cctv`'s close-ups


def overhead_frame(
    view: HouseView, birds: list[BirdState], cond: Conditions, light: float | None = None
) -> tuple[np.ndarray, list[Label]]:
    """An RGB uint8 frame of textured birds on the view's floor, in the classic light and
    degradation of `cond`, and its labels. `light`: a living camera's fixed light direction."""
    rng = np.random.default_rng([cond.seed, 0x0E4])
    f, _, labels = render_cctv(view, birds, rng, cond.night_ir, light=light)
    return as_taken(f, cond, rng), labels


def overhead_sample(
    seed: int, size: tuple[int, int], *, extra_dead: int = 0
) -> tuple[np.ndarray, list[Label], Conditions]:
    """One overhead-style frame (RGB uint8), its labels, and the light it was taken in."""
    rng = np.random.default_rng([seed, 0x0E4])
    view = make_view(rng, size[0], size[1])
    mode = str(rng.choice(MODES, p=[0.6, 0.4]))
    birds = random_flock(rng, view, mode, float(rng.uniform(6, 20)), extra_dead)
    cond = random_conditions(rng)
    img, labels = overhead_frame(view, birds, cond)
    return img, labels, cond
