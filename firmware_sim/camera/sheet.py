"""A contact sheet of rendered frames with their labels drawn, for people to judge realism.

`python -m firmware_sim.camera.sheet docs/contact_sheet.jpg [--seed S] [--style cctv] [--all-boxes]`
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from firmware_sim.camera import STYLES
from firmware_sim.camera.dataset import image_seed
from firmware_sim.camera.scene import random_sample

COLOURS = {0: (40, 220, 40), 1: (230, 30, 30)}  # RGB: chicken green, dead red


def contact_sheet(
    seed: int,
    cols: int = 3,
    rows: int = 4,
    tile: tuple[int, int] = (640, 400),
    boxes: bool = True,
    *,
    style: str = "classic",
    all_boxes: bool = False,
    extra_dead: int = 0,
) -> np.ndarray:
    tiles = []
    for k in range(cols * rows):
        img, labels, _ = random_sample(image_seed(seed, k), extra_dead=extra_dead, style=style)
        img = img.copy()
        if boxes:
            for lab in labels:
                if lab.cls == 1 or all_boxes:  # by default only the dead: birds stay visible
                    cv2.rectangle(
                        img,
                        (int(lab.x0), int(lab.y0)),
                        (int(lab.x1), int(lab.y1)),
                        COLOURS[lab.cls],
                        3 if lab.cls == 1 else 1,
                    )
        tiles.append(cv2.resize(img, tile, interpolation=cv2.INTER_AREA))
    grid = [np.hstack(tiles[r * cols : (r + 1) * cols]) for r in range(rows)]
    return np.vstack(grid)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", type=Path)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--style", choices=STYLES, default="classic")
    parser.add_argument("--all-boxes", action="store_true", help="box live birds too")
    parser.add_argument("--extra-dead", type=int, default=0)
    args = parser.parse_args()
    sheet = contact_sheet(
        args.seed, style=args.style, all_boxes=args.all_boxes, extra_dead=args.extra_dead
    )
    cv2.imwrite(
        str(args.out), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 85]
    )


if __name__ == "__main__":
    main()
