"""Rendered carcasses for a farm set that has (almost) none, so that adapting keeps `dead`.

A technician labels the frames a camera sends, and most cameras, most days, show no dead bird.
Fine-tuned on such a set, the detector learns only that `dead` never happens here and stops
calling it: the farm's own model would then miss the very event it is there for. So when the
labelled set holds fewer than REPLAY_BELOW carcasses, carcasses cut from our renders (both
styles, a seed range of their own), each scaled to the size of one of the farm's labelled
birds, are pasted onto a few copies of the farm's own frames (`replay_frames`).
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from firmware_sim.camera import STYLES
from firmware_sim.camera.scene import random_sample
from models.copy_paste import Cutout, Labelled, cutouts, paste
from models.yolo_folder import CLASSES

REPLAY_BELOW = 5  # labelled carcasses under which rendered ones are replayed
REPLAY_COUNT = 40  # rendered carcasses in the pool
# Frames with one rendered carcass each, beside ~130 of the farm's (labelled and copy-paste):
# pasting carcasses into half of the copy-paste draws instead taught the henhouse model to call
# 52 of its 176 real test birds `dead` (docs/results.md, issue 18).
REPLAY_FRAMES = 24
MIN_VISIBLE = 0.9  # only carcasses (nearly) whole in their render: a cutout is its box
RENDER_SIZE = (1280, 720)
SEED_BASE = 7_000_000  # render seeds of their own, apart from the training and test sets'
MAX_RENDERS = 200  # a bound on the search, should a style stop rendering carcasses


def needs_replay(frames: Sequence[Labelled]) -> bool:
    dead = CLASSES.index("dead")
    return sum(int((f.classes == dead).sum()) for f in frames) < REPLAY_BELOW


def rendered_carcasses(frames: Sequence[Labelled], seed: int, count: int = REPLAY_COUNT) -> list[Cutout]:
    """`count` carcass cutouts from renders, alternating the styles, each resized so that its
    area is that of a random labelled bird of `frames` (its own aspect kept); at render size
    when `frames` has no box."""
    dead = CLASSES.index("dead")
    areas = [float((x2 - x1) * (y2 - y1)) for f in frames for x1, y1, x2, y2 in f.boxes.tolist()]
    rng = np.random.default_rng(seed)
    out: list[Cutout] = []
    for i in range(MAX_RENDERS):
        if len(out) >= count:
            break
        rgb, labels, _ = random_sample(SEED_BASE + seed * MAX_RENDERS + i, RENDER_SIZE, extra_dead=6,
                                       style=STYLES[i % len(STYLES)])
        whole = [lab for lab in labels if lab.cls == dead and lab.visible >= MIN_VISIBLE]
        render = Labelled("render", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), np.array([lab.cls for lab in whole]),
                          np.array([[lab.x0, lab.y0, lab.x1, lab.y1] for lab in whole]).reshape(-1, 4))
        for cut in cutouts([render])[:count - len(out)]:
            pixels = cut.pixels
            if areas:
                ch, cw = pixels.shape[:2]
                k = np.sqrt(areas[int(rng.integers(len(areas)))] / (cw * ch))
                size = (max(8, round(cw * k)), max(8, round(ch * k)))
                pixels = cv2.resize(pixels, size, interpolation=cv2.INTER_AREA if k < 1 else cv2.INTER_LINEAR)
            out.append(Cutout(dead, np.ascontiguousarray(pixels), cut.grey))
    return out


def replay_frames(frames: Sequence[Labelled], seed: int) -> list[Labelled]:
    """The REPLAY_FRAMES frames adapting adds, from all of the farm's frames, IR night ones
    included (a day carcass is pasted there in grey): replaying onto lit colour frames only,
    henhouse's model called more grey hens `dead` on its IR frames, 22 boxes against 11
    (docs/results.md, issue 18)."""
    return with_carcasses(frames, seed, count=REPLAY_FRAMES)


def with_carcasses(frames: Sequence[Labelled], seed: int, per_frame: int = 1,
                   count: int | None = None) -> list[Labelled]:
    """`count` frames (default: one per frame of `frames`, cycling through them), each with
    `per_frame` rendered carcasses pasted where no labelled box is. Adapting adds a few such
    frames (`replay_frames`); with another seed and every frame it is a test set for whether a
    camera's model still sees `dead`, from a real set that has none."""
    if not frames:
        return []
    pool = rendered_carcasses(frames, seed, count=max(REPLAY_COUNT, per_frame * 4))
    rng = np.random.default_rng(seed)
    out = []
    for i in range(len(frames) if count is None else count):
        f = frames[i % len(frames)]
        image, classes, boxes = paste(f.image, f.classes, f.boxes, pool, rng, per_frame, max_overlap=0.0)
        out.append(Labelled(f"{f.name}-replay{i:03d}", image, classes, boxes))
    return out
